"""The credentials ``buildmock contract --mock`` sends are ones each mock accepts.

Otherwise a self-test would exercise little beyond the 401 path and still report "conforms".
"""

from __future__ import annotations

import pytest
from starlette.testclient import TestClient

from buildmock.contract.auth import MOCK_TOKEN, mock_headers
from buildmock.server.specfile import load_spec
from buildmock.settings import SPECS_DIR
from tests.cases import CASES
from tests.conftest import make_app


@pytest.mark.parametrize("name", sorted(CASES))
def test_contract_credentials_pass_the_mocks_auth(name: str) -> None:
    case = CASES[name]
    spec = load_spec(SPECS_DIR / f"{name}.yaml")
    headers = mock_headers(name, spec, MOCK_TOKEN)
    with TestClient(make_app(name, token=MOCK_TOKEN)) as client:
        created = case.create(client, headers, None)
        assert created.status_code == case.create_status, created.text
        listed = client.get(case.list_path(created.json()), headers=headers)
        assert listed.status_code == 200, listed.text
