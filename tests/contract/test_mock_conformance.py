"""Schemathesis, in-process, every check and phase, against each vendor's mock: it must find nothing."""

from __future__ import annotations

import os

import pytest

from buildmock.contract.engine import ALL_PHASES, execute, load_asgi, make_config, spec_profile
from buildmock.server.specfile import load_spec
from buildmock.settings import SPECS_DIR
from tests.cases import CASES, VendorCase
from tests.conftest import make_app

#: Bounded so the suite stays fast; CI's self-test step runs more.
MAX_EXAMPLES = int(os.environ.get("BUILDMOCK_TEST_EXAMPLES", "25"))


@pytest.mark.parametrize("name", sorted(CASES))
def test_schemathesis_finds_nothing(name: str) -> None:
    case: VendorCase = CASES[name]
    # A real clock sped up, so the stateful phase sees builds move through their lifecycle.
    app = make_app(name, clock="real", speed=60.0)
    spec = load_spec(SPECS_DIR / f"{name}.yaml")
    config = make_config(
        phases=ALL_PHASES,
        max_examples=MAX_EXAMPLES,
        seed=1234,
        headers=case.contract_headers,
        extra=spec_profile(spec),
    )
    result = execute(load_asgi(app, name, config))
    report = "\n".join(
        f"{f.operation} [{f.check}] {f.title}: {f.message}\n  {f.reproduce}\n  -> {f.status} {f.response[:300]}"
        for f in result.findings
    )
    assert not result.errors, result.errors
    assert not result.findings, report
    assert result.scenarios > 0
