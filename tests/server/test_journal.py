"""The request journal through the control API: list, count, verify, unmatched, clear."""

from __future__ import annotations

import weakref
from typing import Any

import pytest
from starlette.testclient import TestClient

from buildmock.server.journal import BATCH, REDACTED, STATUS, MemoryJournal, redact
from buildmock.vendors import load
from tests.cases import CASES, VendorCase
from tests.conftest import CONTROL_TOKEN, make_app

STAINLESS = CASES["stainless"]
BODY = {"project": "acme-api", "revision": "main"}


@pytest.fixture
def client() -> Any:
    with TestClient(make_app(), headers=CONTROL_TOKEN) as c:
        yield c


def journal(client: TestClient, **params: Any) -> dict[str, Any]:
    response = client.get("/__buildmock/requests", params=params)
    assert response.status_code == 200, response.text
    return dict(response.json())


def test_every_vendor_request_is_recorded_with_credentials_redacted(
    client: TestClient, case: VendorCase
) -> None:
    case.create(client, case.headers, None)
    found = journal(client, vendor=case.name)["requests"]
    assert found and all(r["vendor"] == case.name for r in found)
    first = found[0]
    assert first["operation"] and first["status"] in (200, 201)
    credentials = {header.lower() for header in load(case.name).credential_headers}
    for name, value in case.headers.items():
        shown = first["headers"][name.lower()]
        assert shown == redact(name, value, credentials)
    assert "test-token" not in str(found)


def test_each_vendors_credential_headers_are_masked(client: TestClient, case: VendorCase) -> None:
    declared = load(case.name).credential_headers
    assert declared, "every vendor names where its credential goes"
    marked = {header: f"Basic secret-{n}-of-{case.name}" for n, header in enumerate(declared)}
    client.get(f"/{case.name}/nowhere", headers={**case.headers, **marked})
    (shown,) = journal(client, vendor=case.name)["requests"]
    for header in declared:
        assert shown["headers"][header.lower()] in ("Basic [REDACTED]", REDACTED)
    assert "secret-" not in str(shown)


def test_a_declared_credential_header_is_masked_whatever_its_name() -> None:
    assert redact("X-Signature", "abc") == "abc", "nothing in the name says secret"
    assert redact("X-Signature", "abc", {"x-signature"}) == REDACTED
    assert redact("Proxy-Authorization", "Basic abc") == f"Basic {REDACTED}", "HTTP's own, always"


def test_filters_count_and_clear(client: TestClient) -> None:
    h = STAINLESS.headers
    client.post("/stainless/v0/builds", json=BODY, headers=h)
    client.get("/stainless/v0/builds/bui_nope", headers=h)
    client.get("/stainless/v0/builds", params={"project": "acme-api"}, headers=h)
    client.get("/__buildmock/state")  # the control API is not journaled
    assert journal(client)["total"] == 3
    assert journal(client, method="GET")["total"] == 2
    assert journal(client, status=404)["requests"][0]["path"] == "/stainless/v0/builds/bui_nope"
    assert journal(client, path="/stainless/v0/builds/*")["total"] == 1
    assert journal(client, limit=1)["requests"][0]["query"] == {"project": "acme-api"}
    first_id = journal(client)["requests"][0]["id"]
    assert journal(client, after=first_id)["total"] == 2
    assert journal(client, since="2100-01-01T00:00:00Z")["total"] == 0
    assert client.get("/__buildmock/requests/count", params={"method": "POST"}).json() == {
        "count": 1
    }
    assert client.delete("/__buildmock/requests").json() == {"cleared": 3}
    assert journal(client)["total"] == 0


def test_verify_matched_and_closest_mismatches(client: TestClient) -> None:
    client.post("/stainless/v0/builds", json=BODY, headers=STAINLESS.headers)
    client.get("/stainless/v0/builds/bui_nope", headers=STAINLESS.headers)
    verify = "/__buildmock/requests/verify"
    ok = client.post(
        verify, json={"method": "POST", "path": "/stainless/v0/builds", "body": BODY, "count": 1}
    ).json()
    assert ok == {"matched": True, "count": 1, "expected": 1}
    wrong = client.post(
        verify, json={"method": "POST", "path": "/stainless/v0/builds", "body": {"revision": "dev"}}
    ).json()
    assert wrong["matched"] is False and wrong["count"] == 0
    closest = wrong["closest"][0]
    assert closest["request"]["method"] == "POST"
    assert closest["differences"] == ["body does not contain the expected fields"]


def test_unmatched_lists_routes_the_spec_lacks(client: TestClient) -> None:
    client.get("/stainless/v0/nothing-here", headers=STAINLESS.headers)
    client.delete("/stainless/v0/builds", headers=STAINLESS.headers)
    client.get("/stainless/v0/builds/bui_nope", headers=STAINLESS.headers)
    found = client.get("/__buildmock/requests/unmatched").json()
    assert [(r["method"], r["status"]) for r in found["requests"]] == [
        ("GET", 404),
        ("DELETE", 405),
    ]
    assert all(r["operation"] is None for r in found["requests"])


def test_the_ring_is_bounded_and_can_be_off() -> None:
    with TestClient(make_app("stainless", journal=3), headers=CONTROL_TOKEN) as client:
        for n in range(5):
            client.get(f"/stainless/v0/builds/bui_{n}", headers=STAINLESS.headers)
        kept = [r["path"][-1] for r in journal(client)["requests"]]
        assert kept == ["2", "3", "4"]
    with TestClient(make_app("stainless", journal=0), headers=CONTROL_TOKEN) as client:
        assert client.get("/__buildmock/requests").status_code == 409
        assert (
            client.get("/stainless/v0/builds/bui_x", headers=STAINLESS.headers).status_code == 404
        )


def test_long_bodies_are_cut() -> None:
    with TestClient(make_app("stainless"), headers=CONTROL_TOKEN) as client:
        client.post(
            "/stainless/v0/builds",
            content=b'{"project": "' + b"x" * 20000 + b'"}',
            headers={**STAINLESS.headers, "Content-Type": "application/json"},
        )
        recorded = journal(client)["requests"][0]
        assert recorded["body_truncated"] is True and len(recorded["body"]) == 8192


@pytest.mark.parametrize("chunked", [False, True])
def test_a_body_is_journaled_as_sent(chunked: bool) -> None:
    parts = [b'{"project": "acme", ', b'"revision": "main"}']
    with TestClient(make_app("stainless"), headers=CONTROL_TOKEN) as client:
        client.post(
            "/stainless/v0/builds",
            content=iter(parts) if chunked else b"".join(parts),
            headers={**STAINLESS.headers, "Content-Type": "application/json"},
        )
        recorded = journal(client)["requests"][0]
    assert recorded["body"] == {"project": "acme", "revision": "main"}  # JSON is shown parsed
    assert recorded["body_truncated"] is False


def test_spec_documents_and_swagger_ui_are_not_journaled(client: TestClient) -> None:
    for path in ("/stainless/openapi.json", "/stainless/openapi.yaml", "/stainless/ui/"):
        assert client.get(path).status_code == 200, path
    client.get("/stainless/ui", follow_redirects=False)
    assert journal(client)["total"] == 0
    assert client.get("/__buildmock/requests/unmatched").json()["requests"] == []
    client.get("/stainless/v0/uix", headers=STAINLESS.headers)  # a vendor path is, even near one
    assert journal(client)["total"] == 1


def _scope(path: str, headers: list[tuple[bytes, bytes]] | None = None) -> dict[str, Any]:
    return {"method": "GET", "path": path, "query_string": b"a=1",
            "headers": headers if headers is not None else [(b"host", b"x")]}  # fmt: skip


def _answer(ring: MemoryJournal, path: str, status: int = 200) -> None:
    row = ring.record(_scope(path), "stainless", 1.0)
    row[STATUS] = status
    ring.finish(row)


@pytest.mark.parametrize("size", [1, 3, BATCH - 1, BATCH, BATCH + 1, 5 * BATCH + 7])
@pytest.mark.parametrize("requests", [0, 1, BATCH - 1, BATCH, 3 * BATCH + 5, 12 * BATCH])
def test_memory_journal_keeps_the_last_size_requests_in_order(size: int, requests: int) -> None:
    ring = MemoryJournal(size)
    for n in range(requests):
        _answer(ring, f"/stainless/{n}", 200 + n % 7)
    kept = list(ring.entries())
    first = max(0, requests - size)
    assert [entry.seq for entry in kept] == list(range(first + 1, requests + 1))
    assert [entry.path for entry in kept] == [f"/stainless/{n}" for n in range(first, requests)]
    assert [entry.status for entry in kept] == [200 + n % 7 for n in range(first, requests)]
    assert all(entry.headers == [(b"host", b"x")] and entry.query == b"a=1" for entry in kept)
    assert ring.clear() == len(kept)
    assert list(ring.entries()) == []
    _answer(ring, "/stainless/after")
    assert [entry.seq for entry in ring.entries()] == [requests + 1]  # ids keep growing


def test_memory_journal_lists_a_request_being_served_through_many_batches() -> None:
    ring = MemoryJournal(1000)
    slow = ring.record(_scope("/stainless/slow"), "stainless", 1.0)
    for n in range(3 * BATCH):
        _answer(ring, f"/stainless/{n}")
    (listed,) = [entry for entry in ring.entries() if entry.path == "/stainless/slow"]
    assert (listed.seq, listed.status) == (1, 0)
    slow[STATUS] = 201
    ring.finish(slow)
    for n in range(BATCH):
        _answer(ring, f"/stainless/more{n}")
    kept = list(ring.entries())
    assert (kept[0].path, kept[0].status) == ("/stainless/slow", 201)
    assert [entry.seq for entry in kept] == list(range(1, 4 * BATCH + 2))


def test_memory_journal_keeps_no_server_object_past_a_batch() -> None:
    class Headers(list[tuple[bytes, bytes]]):
        """A server's own header list (weakly referencable, not a plain list)."""

    ring = MemoryJournal(100)
    held = Headers([(b"host", b"x"), (b"authorization", b"Bearer s3cret")])
    watch = weakref.ref(held)
    row = ring.record(_scope("/stainless/watched", held), "stainless", 1.0)
    ring.finish(row)
    del held, row
    assert watch() is not None  # still an object while it is recent
    for n in range(BATCH):
        _answer(ring, f"/stainless/{n}")
    assert watch() is None
    (kept,) = [entry for entry in ring.entries() if entry.path == "/stainless/watched"]
    assert kept.headers == [(b"host", b"x"), (b"authorization", b"Bearer s3cret")]
