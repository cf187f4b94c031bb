"""``MockServer``: real HTTP on loopback, credentials every vendor accepts, control calls and their errors."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from buildmock.testing.config import ConfigError, MockConfig
from buildmock.testing.server import ControlError, MockServer
from tests.cases import CASES, VendorCase

TOKEN = "pinned-token"


@pytest.fixture(scope="module")
def server() -> Iterator[MockServer]:
    """Every vendor, a pinned token, no fixtures."""
    with MockServer(MockConfig(token=TOKEN, fixtures=None)) as running:
        yield running


def test_headers_are_credentials_each_vendor_accepts(server: MockServer, case: VendorCase) -> None:
    url = server.base_url + case.unknown_path
    assert httpx.get(url, headers=server.headers(case.name)).status_code == 404  # past auth
    assert httpx.get(url, headers=case.anonymous).status_code in (401, 403)
    sent = server.headers(case.name)
    if any(TOKEN in value for value in sent.values()):  # Cocktail's gateway headers carry no token
        wrong = {k: v.replace(TOKEN, "other") for k, v in sent.items()}
        assert httpx.get(url, headers=wrong).status_code in (401, 403)


def test_control_calls_and_their_errors(server: MockServer) -> None:
    assert sorted(server.apis) == sorted(CASES)
    assert server.advance(10) == server.state()["clock"]["now"]
    with pytest.raises(ControlError, match=r"POST /__buildmock/clock/advance: 400 "):
        server.control("POST", "clock/advance", json={"seconds": -1})
    with pytest.raises(ConfigError, match="'nope' is not served here"):
        server.url("nope")
    assert server.reset()["clock"]["now"] == 1735689600.0


def test_close_stops_the_server() -> None:
    server = MockServer(MockConfig(apis=("stainless",), fixtures=None))
    assert httpx.get(server.base_url + "/__buildmock/health").status_code == 200
    server.close()
    with pytest.raises(httpx.ConnectError):
        httpx.get(server.base_url + "/__buildmock/health")
