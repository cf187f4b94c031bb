"""Every fault kind against every vendor, through a real ``buildmock serve`` process and sockets.

Run with the fast path on and off: the client must see the same thing either way.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.cases import CASES, VendorCase
from tests.cases.base import TOKEN
from tests.process import serving
from tests.test_vendor_contract_shared import _body as body_of

STATUS_FAULTS = ("500", "502", "503", "429")


@pytest.fixture(scope="module")
def base() -> Iterator[str]:
    """One server process, every vendor, the test token."""
    with serving("--clock", "manual", "--token", TOKEN, "--no-fixtures") as (url, _):
        yield url


def build_path(base: str, case: VendorCase) -> str:
    """The path of a build created for the test (its answer has a body to break)."""
    with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {TOKEN}"}) as client:
        client.post("/__buildmock/reset")
        created = case.create(client, case.headers, None)
    assert created.status_code in (200, 201), created.text
    return case.get_path(created.json())


def raw(
    base: str, case: VendorCase, prefer: str, path: str | None = None
) -> tuple[bytes, BaseException | None]:
    """GET ``path`` (the vendor's unknown-build path) over a bare socket: every byte until EOF
    or error."""
    host, port = base.removeprefix("http://").split(":")
    headers = {**case.headers, "Prefer": prefer, "Host": host, "Connection": "close"}
    head = f"GET {path or case.unknown_path} HTTP/1.1\r\n" + "".join(
        f"{k}: {v}\r\n" for k, v in headers.items()
    )
    received = b""
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        sock.sendall(head.encode() + b"\r\n")
        try:
            while chunk := sock.recv(65536):
                received += chunk
        except OSError as exc:
            return received, exc
    return received, None


@pytest.mark.parametrize("name", sorted(CASES))
@pytest.mark.parametrize("fault", STATUS_FAULTS)
def test_status_faults_in_the_vendor_shape(base: str, name: str, fault: str) -> None:
    case = CASES[name]
    prefer = f"fault={fault}; retry-after=30" if fault == "429" else f"fault={fault}"
    response = httpx.get(base + case.unknown_path, headers={**case.headers, "Prefer": prefer})
    assert response.status_code == int(fault)
    assert case.is_error(body_of(response)), response.text
    if fault == "429":
        assert response.headers["retry-after"] == "30"


@pytest.mark.parametrize("name", sorted(CASES))
def test_connection_reset(base: str, name: str) -> None:
    received, error = raw(base, CASES[name], "fault=reset")
    assert received == b""
    assert isinstance(error, ConnectionResetError)
    with pytest.raises(httpx.TransportError):
        httpx.get(
            base + CASES[name].unknown_path,
            headers={**CASES[name].headers, "Prefer": "fault=reset"},
        )


@pytest.mark.parametrize("name", sorted(CASES))
def test_empty_response(base: str, name: str) -> None:
    received, error = raw(base, CASES[name], "fault=empty")
    assert (received, error) == (b"", None)
    with pytest.raises(httpx.RemoteProtocolError, match="without sending"):
        httpx.get(
            base + CASES[name].unknown_path,
            headers={**CASES[name].headers, "Prefer": "fault=empty"},
        )


@pytest.mark.parametrize("name", sorted(CASES))
def test_malformed_chunk(base: str, name: str) -> None:
    path = build_path(base, CASES[name])
    received, error = raw(base, CASES[name], "fault=malformed-chunk", path)
    head, _, body = received.partition(b"\r\n\r\n")
    assert error is None
    assert head.startswith(b"HTTP/1.1 200")
    assert b"transfer-encoding: chunked" in head.lower()
    assert body.startswith(b"zz\r\n")
    with pytest.raises(httpx.RemoteProtocolError):
        httpx.get(base + path, headers={**CASES[name].headers, "Prefer": "fault=malformed-chunk"})


@pytest.mark.parametrize("name", sorted(CASES))
def test_body_stops_half_way(base: str, name: str) -> None:
    path = build_path(base, CASES[name])
    received, error = raw(base, CASES[name], "fault=truncated", path)
    head, _, body = received.partition(b"\r\n\r\n")
    length = next(
        int(line.split(b":", 1)[1])
        for line in head.split(b"\r\n")
        if line.lower().startswith(b"content-length:")
    )
    assert error is None
    assert 0 < len(body) < length
    with pytest.raises(httpx.RemoteProtocolError, match="complete message body"):
        httpx.get(base + path, headers={**CASES[name].headers, "Prefer": "fault=truncated"})


def test_faults_are_journaled(base: str) -> None:
    case = CASES["stainless"]
    with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {TOKEN}"}) as client:
        client.delete("/__buildmock/requests")
        raw(base, case, "fault=reset")
        client.get(case.unknown_path, headers={**case.headers, "Prefer": "fault=503"})
        found = client.get("/__buildmock/requests", params={"vendor": "stainless"}).json()
        broken = client.get("/__buildmock/requests/count", params={"status": 0}).json()
        verdict = client.post("/__buildmock/requests/verify", json={"status": 0, "count": 1})
    assert broken == {"count": 1}
    assert verdict.json()["matched"] is True, verdict.text
    reset, unavailable = found["requests"]
    assert (reset["status"], reset["applied"]) == (0, ["fault=reset"])
    assert (unavailable["status"], unavailable["applied"]) == (503, ["fault=503"])
    assert unavailable["headers"]["authorization"] == "Bearer [REDACTED]"


def test_scenario_file_rate_limit_over_http(tmp_path: Path) -> None:
    rules = tmp_path / "rules.yaml"
    rules.write_text(
        "rules:\n"
        "  - vendor: stainless\n"
        "    method: GET\n"
        "    rate_limit: {requests: 2, window: 60s}\n"
    )
    case = CASES["stainless"]
    args = ("--clock", "manual", "--token", TOKEN, "--scenarios", str(rules))
    with serving(*args) as (url, _), httpx.Client(base_url=url, headers=case.headers) as client:
        statuses = [client.get(case.unknown_path).status_code for _ in range(3)]
        limited = client.get(case.unknown_path)
        client.post("/__buildmock/clock/advance", json={"seconds": 60})
        again = client.get(case.unknown_path)
    assert statuses == [404, 404, 429]
    assert limited.status_code == 429 and limited.headers["retry-after"] == "60"
    assert case.is_error(body_of(limited))
    assert again.status_code == 404
