"""State export/import, --state at start, and setting the clock to an absolute time."""

from __future__ import annotations

import json
from pathlib import Path

import orjson
from starlette.testclient import TestClient

from tests.cases import CASES, VendorCase
from tests.conftest import CONTROL_TOKEN, advance, make_app


def test_export_then_import_loses_nothing(case: VendorCase, tmp_path: Path) -> None:
    with TestClient(make_app(case.name), headers=CONTROL_TOKEN) as first:
        created = case.create(first, case.headers, "failure")
        path = case.get_path(created.json())
        advance(first, 7)
        read = first.get(path, headers=case.headers).content
        first.post("/__buildmock/scenarios", json={"vendor": case.name, "fault": "503", "times": 2})
        document = first.get("/__buildmock/snapshot").json()
        first.delete("/__buildmock/scenarios")
        following = case.create(first, case.headers, None).content
        # The Escape helper names builds per client: carry its count over, as a user would.
        names_used = getattr(first, "_escape_builds", 0) - 1
    (tmp_path / "state.json").write_bytes(orjson.dumps(document))
    with TestClient(make_app(case.name), headers=CONTROL_TOKEN) as second:
        assert second.put("/__buildmock/snapshot", json=document).status_code == 200
        rules = second.get("/__buildmock/scenarios").json()["rules"]
        assert [(r["rule"]["fault"], r["remaining"]) for r in rules] == [("503", 2)]
        second.delete("/__buildmock/scenarios")
        assert second.get(path, headers=case.headers).content == read
        second._escape_builds = names_used  # type: ignore[attr-defined]
        assert case.create(second, case.headers, None).content == following
    with TestClient(
        make_app(case.name, state=tmp_path / "state.json"), headers=CONTROL_TOKEN
    ) as third:
        assert third.get(path, headers=case.headers).status_code == 503
        third.delete("/__buildmock/scenarios")
        assert third.get(path, headers=case.headers).content == read
        third.post("/__buildmock/reset")
        assert len(third.get("/__buildmock/scenarios").json()["rules"]) == 1


def test_a_bad_document_is_refused_and_changes_nothing() -> None:
    with TestClient(make_app("stainless"), headers=CONTROL_TOKEN) as client:
        before = client.get("/__buildmock/snapshot").json()
        for bad in (
            {"version": 2, "clock": {"now": 0}, "vendors": {}},
            {"version": 1, "clock": {"now": 0}, "vendors": {"jenkins": {"store": {}}}},
            {
                "version": 1,
                "clock": {"now": 0},
                "vendors": {"stainless": {"store": {"records": {"build": [[1]]}}}},
            },
            {"version": 1, "clock": {"now": 0}, "vendors": {}, "scenarios": [{"fault": "nope"}]},
        ):
            response = client.put("/__buildmock/snapshot", json=bad)
            assert response.status_code == 400, response.text
        assert client.get("/__buildmock/snapshot").json() == before


def test_a_hand_edited_build_of_the_wrong_type_is_refused_not_served() -> None:
    """Stainless's builds are held compactly: a value of the wrong type is refused on load (it
    was taken, then every read of the build answered 500)."""
    stainless = CASES["stainless"]
    with TestClient(make_app("stainless"), headers=CONTROL_TOKEN) as client:
        stainless.create(client, stainless.headers, None)
        before = client.get("/__buildmock/snapshot").json()
        edited = orjson.loads(orjson.dumps(before))
        (_, _, build), *_ = edited["vendors"]["stainless"]["store"]["records"]["build"]
        build["created_at"] = "yesterday"
        response = client.put("/__buildmock/snapshot", json=edited)
        assert response.status_code == 400 and "created_at" in response.json()["error"]
        assert client.get("/__buildmock/snapshot").json() == before
        listed = client.get("/stainless/v0/builds?project=acme-api", headers=stainless.headers)
        assert listed.status_code == 200, listed.text


def test_a_number_no_store_can_write_is_refused_before_anything_changes() -> None:
    """An integer beyond 64 bits (JSON allows it) would make a store's export, or the Redis
    store's load half way through, fail: refused at once."""
    vela = CASES["vela"]
    with TestClient(make_app("vela"), headers=CONTROL_TOKEN) as client:
        vela.create(client, vela.headers, None)
        before = client.get("/__buildmock/snapshot").json()
        edited = orjson.loads(orjson.dumps(before))
        records = edited["vendors"]["vela"]["store"]["records"]
        kind = next(kind for kind, rows in records.items() if rows)
        records[kind][0][2]["extra"] = 2**70
        body = json.dumps(edited).encode()  # orjson would write the big integer as it parses
        response = client.put(
            "/__buildmock/snapshot", content=body, headers={"Content-Type": "application/json"}
        )
        assert response.status_code == 400, response.text
        assert "64-bit" in response.json()["error"]
        assert client.get("/__buildmock/snapshot").json() == before


def test_clock_set_to_an_absolute_time() -> None:
    with TestClient(make_app("stainless"), headers=CONTROL_TOKEN) as client:
        moved = client.put("/__buildmock/clock", json={"now": "2025-03-01T12:00:00Z"})
        assert moved.json()["iso"] == "2025-03-01T12:00:00.000Z"
        assert client.put("/__buildmock/clock", json={"now": 1735689600}).status_code == 400
        assert client.put("/__buildmock/clock", json={"now": "March"}).status_code == 400
