"""Cocktail Cloud: lifecycle, cancel/delete rules, logs, fixtures and completion callbacks."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import datetime
from typing import Any

import httpx
import pytest
from starlette.testclient import TestClient

from buildmock import callbacks
from buildmock.settings import FIXTURES_DIR
from tests.callback_sink import Sink
from tests.cases.cocktail import GATEWAY
from tests.conftest import CONTROL, advance, make_app

H = GATEWAY
BASE = "/cocktail/v1/build/run"
DIGEST = re.compile(r"^sha256:[0-9a-f]{64}$")


@pytest.fixture
def client() -> Iterator[TestClient]:
    with TestClient(make_app("cocktail")) as c:
        yield c


def run(
    client: TestClient, build_seq: int = 1, prefer: str | None = None, **params: str
) -> dict[str, Any]:
    headers = {**H, "Prefer": f"outcome={prefer}"} if prefer else H
    response = client.post(f"{BASE}/{build_seq}", params=params, headers=headers)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["status"] == "ok"
    return body["result"]  # type: ignore[no-any-return]


def get(client: TestClient, seq: int) -> dict[str, Any]:
    response = client.get(f"{BASE}/{seq}", headers=H)
    assert response.status_code == 200, response.text
    return response.json()["result"]  # type: ignore[no-any-return]


def log_of(client: TestClient, seq: int) -> dict[str, Any]:
    response = client.get(f"{BASE}/log/{seq}", headers=H)
    assert response.status_code == 200, response.text
    return response.json()["result"]  # type: ignore[no-any-return]


def _ts(value: str) -> float:
    return datetime.fromisoformat(value).timestamp()


def check_consistent(r: dict[str, Any]) -> None:
    """Everything that must hold of a run whatever its state."""
    state = r["runState"]
    init = [s for s in r["buildStepRuns"] if s["stepType"] == "INIT"]
    assert len(init) == 1 and init[0]["stepOrder"] == 0 and init[0]["buildStepSeq"] == 0
    assert r["buildStepRuns"][0] is init[0]
    expected = {
        "CREATED": ["VIEW", "BUILD", "REMOVE"],
        "RUNNING": ["VIEW", "LOG", "CANCEL"],
        "DONE": ["VIEW", "BUILD", "LOG", "REMOVE"],
        "ERROR": ["VIEW", "BUILD", "LOG", "REMOVE"],
    }[state]
    if state == "RUNNING" and r["runType"] == "BUILD" and init[0]["stepState"] != "DONE":
        expected = ["VIEW", "LOG"]  # the server hides CANCEL until the INIT step is DONE
    assert r["possibleActions"] == expected
    assert (r["beginTime"] is None) == (state == "CREATED")
    assert (r["endTime"] is None) == (state in ("CREATED", "RUNNING"))
    if r["endTime"] is not None:
        assert abs(_ts(r["endTime"]) - _ts(r["beginTime"]) - r["runTimeBySec"]) <= 0.5
    else:
        assert r["runTimeBySec"] is None
    done = state == "DONE" and r["runType"] == "BUILD"
    # The image URL is fixed when the run is created; size and digest only once a BUILD run is DONE.
    assert r["imageUrl"].endswith(f":{r['tagName']}")
    assert (r["imageSize"] > 0) == done and (r["imageDigest"] is not None) == done
    if done:
        assert DIGEST.match(r["imageDigest"]) and r["imageSize"] > 0
    for step in r["buildStepRuns"]:
        assert step["logId"].endswith(
            f".{r['buildRunSeq']}.{step['buildStepRunSeq']}-{step['stepType'].lower()}"
        )
        if r["runType"] == "CANCEL" and step["stepType"] == "INIT":
            assert step["stepState"] == "WAIT"  # added by the server on first read; nothing runs it
            continue
        assert step["stepState"] in ("WAIT", "RUNNING", "ERROR", "DONE")
        if state == "CREATED":
            assert step["stepState"] == "WAIT"
        if state in ("DONE", "ERROR"):
            assert step["stepState"] != "RUNNING"
        if state == "DONE":
            assert step["stepState"] == "DONE"
        if step["endTime"] is not None:
            assert abs(_ts(step["endTime"]) - _ts(step["beginTime"]) - step["runTimeBySec"]) <= 0.5


# -- lifecycle -----------------------------------------------------------------------------------


def test_run_goes_created_running_done_with_steps_following(client: TestClient) -> None:
    r = run(client, prefer="DONE", tagName="v1", description="first")
    assert (r["runType"], r["runState"], r["tagName"], r["runDesc"]) == (
        "BUILD",
        "CREATED",
        "v1",
        "first",
    )
    check_consistent(r)
    seen = {r["runState"]}
    step_states: set[str] = set()
    for _ in range(200):
        advance(client, 1)
        now = get(client, r["buildRunSeq"])
        check_consistent(now)
        seen.add(now["runState"])
        step_states.update(s["stepState"] for s in now["buildStepRuns"])
        if now["runState"] == "DONE":
            break
    assert seen == {"CREATED", "RUNNING", "DONE"}
    assert step_states == {"WAIT", "RUNNING", "DONE"}
    assert now["imageUrl"].endswith(f"/{now['registryName']}/{now['imageName']}:{now['tagName']}")
    # finished runs no longer change
    advance(client, 1000)
    assert get(client, r["buildRunSeq"]) == now


def test_build_no_counts_runs_of_one_build_and_run_seqs_increase(client: TestClient) -> None:
    runs = [run(client, b) for b in (5, 5, 9, 5, 9)]
    assert [r["buildRunSeq"] for r in runs] == [1, 2, 3, 4, 5]
    assert [r["buildNo"] for r in runs] == [1, 2, 1, 3, 2]
    listed = client.get(BASE, params={"buildSeq": 5}, headers=H).json()["result"]
    assert [r["buildRunSeq"] for r in listed] == [4, 2, 1]
    assert {r["buildName"] for r in runs if r["buildSeq"] == 5} == {runs[0]["buildName"]}


def test_build_definitions_are_implied_by_number(client: TestClient) -> None:
    first = run(client, 42)
    with TestClient(make_app("cocktail")) as other:
        run(other, 7)
        again = run(other, 42)
    for key in ("buildName", "imageName", "registryName", "buildServerHost", "accountSeq"):
        assert first[key] == again[key]


def test_forced_error_fails_a_step_and_leaves_later_steps_waiting(client: TestClient) -> None:
    for prefer in ("ERROR", "error"):
        r = run(client, prefer=prefer)
        advance(client, 600)
        final = get(client, r["buildRunSeq"])
        check_consistent(final)
        assert final["runState"] == "ERROR"
        states = [s["stepState"] for s in final["buildStepRuns"]]
        failed = states.index("ERROR")
        assert set(states[:failed]) <= {"DONE"} and set(states[failed + 1 :]) <= {"WAIT"}
        assert final["endTime"] == final["buildStepRuns"][failed]["endTime"]
        assert "ERROR" in log_of(client, r["buildRunSeq"])["buildRunLogs"][failed]["log"]


def test_unknown_outcome_is_400(client: TestClient) -> None:
    response = client.post(f"{BASE}/1", headers={**H, "Prefer": "outcome=maybe"})
    assert response.status_code == 400
    assert response.json()["status"] == "error"


def test_log_grows_as_the_run_progresses(client: TestClient) -> None:
    r = run(client, prefer="DONE")
    sizes = []
    for _ in range(120):
        body = log_of(client, r["buildRunSeq"])
        sizes.append(sum(len(s["log"]) for s in body["buildRunLogs"]))
        if body["runState"] == "DONE":
            break
        advance(client, 1)
    assert sizes[0] == 0
    assert sizes == sorted(sizes) and sizes[-1] > sizes[0]
    assert len(set(sizes)) > 3
    assert body["dbLog"] is True
    assert get(client, r["buildRunSeq"])["buildStepRuns"][0]["log"] is None


# -- cancel and delete ---------------------------------------------------------------------------


def _until(client: TestClient, seq: int, state: str) -> dict[str, Any]:
    for _ in range(600):
        now = get(client, seq)
        if now["runState"] == state:
            return now
        advance(client, 0.5)
    raise AssertionError(f"run {seq} never reached {state}")


def test_cancel_only_while_running_creates_a_cancel_run(client: TestClient) -> None:
    r = run(client, prefer="DONE")
    refused = client.put(f"{BASE}/cancel/{r['buildRunSeq']}", headers=H)
    assert refused.status_code == 409 and refused.json()["code"] == "CCCM1007000"
    _until(client, r["buildRunSeq"], "RUNNING")
    advance(client, 3)
    response = client.put(f"{BASE}/cancel/{r['buildRunSeq']}", headers=H)
    assert response.status_code == 200, response.text
    cancel = response.json()["result"]
    assert cancel["runType"] == "CANCEL" and cancel["buildRunSeq"] == r["buildRunSeq"] + 1
    assert (cancel["buildSeq"], cancel["buildNo"]) == (r["buildSeq"], r["buildNo"])
    original = get(client, r["buildRunSeq"])
    check_consistent(original)
    assert original["runState"] == "ERROR"
    assert "ERROR" in [s["stepState"] for s in original["buildStepRuns"]]
    assert "RUNNING" not in [s["stepState"] for s in original["buildStepRuns"]]
    assert "cancelled" in "".join(
        s["log"] for s in log_of(client, r["buildRunSeq"])["buildRunLogs"]
    )
    advance(client, 600)
    assert get(client, r["buildRunSeq"]) == original
    done = get(client, cancel["buildRunSeq"])
    check_consistent(done)
    assert done["runState"] == "DONE"
    again = client.put(f"{BASE}/cancel/{r['buildRunSeq']}", headers=H)
    assert again.status_code == 409 and again.json()["code"] == "CCCM1007000"


def test_delete_refused_while_running_then_removes(client: TestClient) -> None:
    r = run(client, prefer="DONE")
    running = _until(client, r["buildRunSeq"], "RUNNING")
    refused = client.delete(f"{BASE}/{r['buildRunSeq']}", headers=H)
    assert refused.status_code == 409 and refused.json()["code"] == "CCBD1014000"
    assert get(client, r["buildRunSeq"])["runState"] == running["runState"]
    advance(client, 600)
    removed = client.delete(f"{BASE}/{r['buildRunSeq']}", headers=H)
    assert removed.status_code == 200 and removed.json()["result"]["runState"] == "DONE"
    assert client.get(f"{BASE}/{r['buildRunSeq']}", headers=H).status_code == 404
    assert client.delete(f"{BASE}/{r['buildRunSeq']}", headers=H).status_code == 404
    created = run(client)
    assert client.delete(f"{BASE}/{created['buildRunSeq']}", headers=H).status_code == 200


def test_unknown_run_is_404_everywhere(client: TestClient) -> None:
    for method, path in (("GET", f"{BASE}/77"), ("GET", f"{BASE}/log/77"),
                         ("PUT", f"{BASE}/cancel/77"), ("DELETE", f"{BASE}/77")):  # fmt: skip
        response = client.request(method, path, headers=H)
        assert response.status_code == 404, (method, path)
        assert response.json()["code"] == "CCCM1013000"


@pytest.mark.parametrize("drop", ["user-id", "user-role", "user-workspace"])
def test_every_gateway_header_is_required(client: TestClient, drop: str) -> None:
    headers = {k: v for k, v in H.items() if k != drop}
    response = client.post(f"{BASE}/1", headers=headers)
    assert response.status_code == 401
    assert response.json()["code"] == "CCCM1009000"


def test_fixtures_load_and_declare_builds() -> None:
    with TestClient(make_app("cocktail", fixtures=FIXTURES_DIR)) as c:
        first, second = get(c, 1), get(c, 2)
        assert (first["runState"], second["runState"]) == ("DONE", "ERROR")
        assert first["buildName"] == "build-test" and first["imageName"] == "build-api-test-gradle"
        assert first["tagName"] == "8u292-rmsoft" and DIGEST.match(first["imageDigest"])
        assert run(c, 1)["buildNo"] == 4


# -- callbacks: delivered in memory (tests/callback_sink.py), the worker drained, never slept on ---


@pytest.fixture
def sink(request: pytest.FixtureRequest) -> Sink:
    """Where the mock's callbacks go: ``Sink(**param)`` when a test parametrizes it."""
    return Sink(**getattr(request, "param", {}))


@pytest.fixture
def called(sink: Sink) -> Iterator[TestClient]:
    """A Cocktail mock whose callbacks go to ``sink`` (the address checks still run)."""
    with TestClient(make_app("cocktail", callback_transport=sink.transport)) as c:
        yield c


def _dispatcher(c: TestClient) -> callbacks.CallbackDispatcher:
    return c.app.mock.runtimes["cocktail"].services["callbacks"]  # type: ignore[attr-defined,no-any-return]


def _drained(c: TestClient) -> dict[str, Any]:
    """The callbacks' state once every queued delivery is done."""
    assert _dispatcher(c).drain()
    return c.get("/__buildmock/state", headers=CONTROL).json()["services"]["cocktail"]["callbacks"]  # type: ignore[no-any-return]


def test_one_callback_per_finished_run_under_manual_clock(called: TestClient, sink: Sink) -> None:
    a = run(called, prefer="DONE", callbackUrl=sink.url("/a"))
    b = run(called, 2, prefer="ERROR", callbackUrl=sink.url("/b"))
    run(called, 3)  # no callbackUrl: nothing to call
    advance(called, 1)
    assert _drained(called)["pending"] == 2
    assert sink.got() == []  # not finished yet
    advance(called, 600)
    advance(called, 600)  # past the end twice: still once
    state = _drained(called)
    got = dict(sink.got())
    assert len(sink.got()) == 2 and set(got) == {"/a", "/b"}
    assert got["/a"] == get(called, a["buildRunSeq"]) and got["/a"]["runState"] == "DONE"
    assert got["/b"] == get(called, b["buildRunSeq"]) and got["/b"]["runState"] == "ERROR"
    assert state["delivered"] == 2 and state["pending"] == 0
    assert {(d.url.host, d.host) for d in sink.deliveries} == {("127.0.0.1", "127.0.0.1:9911")}


def test_a_name_is_delivered_to_the_address_it_was_checked_at(
    called: TestClient, sink: Sink
) -> None:
    run(called, prefer="DONE", callbackUrl="http://localhost:9911/hook")
    advance(called, 600)
    assert _drained(called)["delivered"] == 1
    (delivery,) = sink.deliveries
    assert delivery.url.host in ("127.0.0.1", "::1"), "the connection goes to the resolved address"
    assert (delivery.host, delivery.sni) == ("localhost:9911", "localhost"), "the name is kept"


def test_cancel_calls_back_the_cancelled_run_and_the_cancel_run(
    called: TestClient, sink: Sink
) -> None:
    r = run(called, prefer="DONE", callbackUrl=sink.url("/build"))
    _until(called, r["buildRunSeq"], "RUNNING")
    cancelled = called.put(f"{BASE}/cancel/{r['buildRunSeq']}", params={"callbackUrl": sink.url("/cancel")},
                           headers=H).json()["result"]  # fmt: skip
    _drained(called)
    assert [(p, b["runState"]) for p, b in sink.got()] == [("/build", "ERROR")]
    advance(called, 600)
    advance(called, 600)
    _drained(called)
    got = [(p, b["buildRunSeq"], b["runState"]) for p, b in sink.got()]
    assert got == [
        ("/build", r["buildRunSeq"], "ERROR"),
        ("/cancel", cancelled["buildRunSeq"], "DONE"),
    ]
    # The server appends the caller's gateway headers to every callback URL (user-workspace carries the user id).
    assert [d.query for d in sink.deliveries] == ["user-id=1&user-role=ADMIN&user-workspace=1"] * 2
    assert (
        cancelled["callbackUrl"]
        == sink.url("/cancel") + "?user-id=1&user-role=ADMIN&user-workspace=1"
    )


def test_deleted_before_finishing_gets_no_callback(called: TestClient, sink: Sink) -> None:
    r = run(called, callbackUrl=sink.url())
    assert called.delete(f"{BASE}/{r['buildRunSeq']}", headers=H).status_code == 200
    advance(called, 600)
    assert _drained(called)["pending"] == 0
    assert sink.got() == []


def test_callbacks_fire_on_their_own_under_the_real_clock(sink: Sink) -> None:
    app = make_app("cocktail", clock="real", speed=100.0, callback_transport=sink.transport)
    with TestClient(app) as c:
        r = run(c, prefer="DONE", callbackUrl=sink.url())
        got = sink.wait_for(1)  # the timer thread, not a clock move: real time has to pass
        state = _drained(c)
        assert len(got) == 1 and got[0][1]["buildRunSeq"] == r["buildRunSeq"]
        assert got[0][1]["runState"] == "DONE"
        assert (state["delivered"], state["pending"], len(sink.got())) == (1, 0, 1)


@pytest.mark.parametrize("url", ["http://example.invalid/cb", "http://10.0.0.1:8080/cb", "http://dashboard:3000/callback",
                                 "ftp://127.0.0.1/cb", "not a url", "http://127.0.0.1.example.invalid/",
                                 "http://127.0.0.1:8080/__buildmock/reset"])  # fmt: skip
def test_host_not_allowed_gets_nothing_and_is_recorded(
    called: TestClient, sink: Sink, url: str
) -> None:
    r = run(called, prefer="DONE", callbackUrl=url)
    advance(called, 600)
    state = _drained(called)
    assert sink.got() == [], "no request may be attempted to a host that is not allowed"
    assert state["refused"] == 1 and state["delivered"] == 0
    entry = state["recent"][-1]
    assert (
        entry["outcome"] == "refused"
        and entry["key"] == str(r["buildRunSeq"])
        and entry["attempts"] == 0
    )


def test_callback_allow_widens_the_list() -> None:
    assert callbacks.refusal("http://10.1.2.3/cb") is not None
    assert callbacks.refusal("http://10.1.2.3/cb", ("10.0.0.0/8",)) is None
    assert callbacks.refusal("http://hooks.internal:9000/x", ("HOOKS.internal",)) is None
    assert callbacks.refusal("http://[::1]:8000/x") is None
    assert callbacks.refusal("http://127.3.4.5/x") is None
    assert callbacks.refusal("http://localhost/x") is None
    with TestClient(make_app("cocktail", callback_allow=("example.invalid",))) as c:
        assert "example.invalid" in _drained(c)["allow"]


@pytest.mark.parametrize(
    ("sink", "outcome", "tries"),
    [({"statuses": [503]}, "failed", 2), ({"statuses": [503, 204]}, "delivered", 2),
     ({"statuses": [404]}, "failed", 1), ({"raises": True}, "failed", 2)],
    ids=["5xx-twice", "5xx-then-ok", "4xx-not-retried", "connection-refused"],
    indirect=["sink"],
)  # fmt: skip
def test_a_failed_callback_is_tried_at_most_twice_and_recorded(
    called: TestClient, sink: Sink, outcome: str, tries: int
) -> None:
    run(called, prefer="DONE", callbackUrl=sink.url())
    advance(called, 600)
    state = _drained(called)
    assert state[outcome] == 1 and state["recent"][-1]["attempts"] == tries
    assert len(sink.got()) == tries
    advance(called, 600)
    assert len(sink.got()) == tries and _drained(called)[outcome] == 1, "never tried again"


def test_reset_replaces_the_dispatcher(called: TestClient, sink: Sink) -> None:
    run(called, callbackUrl=sink.url())
    old = _dispatcher(called)
    called.post("/__buildmock/reset", headers=CONTROL)
    assert _dispatcher(called) is not old
    advance(called, 600)
    assert _drained(called)["pending"] == 0
    assert old.tick() == 0
    assert sink.got() == []


# -- the rest of the build-run controller --------------------------------------------------------


def _ok(response: Any) -> Any:
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["status"] == "ok", body
    return body["result"]


def test_run_list_is_newest_first_and_bounded(client: TestClient) -> None:
    from buildmock.domain.cocktail import LIST_LIMIT

    seqs = [run(client, 3)["buildRunSeq"] for _ in range(LIST_LIMIT + 5)]
    listed = _ok(client.get(BASE, params={"buildSeq": 3}, headers=H))
    assert [r["buildRunSeq"] for r in listed] == seqs[::-1][:LIST_LIMIT]
    assert _ok(client.get(BASE, params={"buildSeq": 4}, headers=H)) == []


def test_latest_lists_done_build_runs_of_an_account(client: TestClient) -> None:
    first, failed, other = (
        run(client, 1, prefer="DONE"),
        run(client, 1, prefer="ERROR"),
        run(client, 2),
    )
    assert (
        _ok(client.get(f"{BASE}/latest", params={"accountSeq": first["accountSeq"]}, headers=H))
        == []
    )
    advance(client, 600)
    latest = _ok(
        client.get(f"{BASE}/latest", params={"accountSeq": first["accountSeq"]}, headers=H)
    )
    assert [r["buildRunSeq"] for r in latest] == [first["buildRunSeq"]]
    assert failed["buildRunSeq"] not in [r["buildRunSeq"] for r in latest]
    more = [run(client, 1, prefer="DONE")["buildRunSeq"] for _ in range(6)]
    advance(client, 600)
    five = _ok(client.get(f"{BASE}/latest", params={"accountSeq": first["accountSeq"]}, headers=H))
    assert [r["buildRunSeq"] for r in five] == more[::-1][:5]  # the server's default limitCount
    two = _ok(client.get(f"{BASE}/latest", params={"serviceSeq": 1, "limitCount": 2}, headers=H))
    assert len(two) == 2
    assert _ok(client.get(f"{BASE}/latest", headers=H)) is None
    assert other["accountSeq"] != first["accountSeq"] or other["buildSeq"] != first["buildSeq"]
    assert client.get(f"{BASE}/latest", params={"limitCount": 1001}, headers=H).status_code == 400


def test_search_finds_the_run_of_an_image(client: TestClient) -> None:
    r = run(client, 1, tagName="v7")
    assert r["imageUrl"].endswith(f"/{r['registryName']}/{r['imageName']}:v7")
    found = _ok(client.get(f"{BASE}/search", params={"imageUrl": r["imageUrl"]}, headers=H))
    assert found["buildRunSeq"] == r["buildRunSeq"]
    other_build = {"imageUrl": r["imageUrl"], "buildSeq": 2}
    assert _ok(client.get(f"{BASE}/search", params=other_build, headers=H)) is None
    assert _ok(client.get(f"{BASE}/search", params={"imageUrl": "nope"}, headers=H)) is None
    assert client.get(f"{BASE}/search", headers=H).status_code == 400


def test_step_log_is_the_run_with_one_step(client: TestClient) -> None:
    r = run(client, prefer="DONE")
    advance(client, 600)
    whole = log_of(client, r["buildRunSeq"])
    for step in whole["buildRunLogs"]:
        one = _ok(client.get(f"{BASE}/log/step/{step['buildStepRunSeq']}", headers=H))
        assert one["buildRunLogs"] == [step] and one["buildRunSeq"] == r["buildRunSeq"]
        assert "buildStepRuns" not in one
    store = client.app.mock.runtimes["cocktail"].store  # type: ignore[attr-defined]
    evicted = whole["buildRunLogs"][-1]["buildStepRunSeq"]
    store.delete("step", str(evicted))  # as the step index's cap would evict it
    assert (
        _ok(client.get(f"{BASE}/log/step/{evicted}", headers=H))["buildRunSeq"] == r["buildRunSeq"]
    )
    missing = client.get(f"{BASE}/log/step/9999", headers=H)
    assert missing.status_code == 404 and missing.json()["code"] == "CCCM1013000"


def test_rerun_from_history_repeats_its_steps(client: TestClient) -> None:
    history = run(client, 1, prefer="DONE", tagName="v1")
    again = _ok(
        client.post(f"{BASE}/1/{history['buildRunSeq']}", json={"tagName": "v2"}, headers=H)
    )
    assert (again["buildSeq"], again["buildNo"], again["tagName"]) == (
        1,
        history["buildNo"] + 1,
        "v2",
    )
    assert [s["buildStepSeq"] for s in again["buildStepRuns"]] == [
        s["buildStepSeq"] for s in history["buildStepRuns"]
    ]
    assert (
        again["buildStepRuns"][0]["buildStepRunSeq"]
        > history["buildStepRuns"][-1]["buildStepRunSeq"]
    )
    query_wins = client.post(
        f"{BASE}/1/{history['buildRunSeq']}", params={"tagName": "v3"}, json={}, headers=H
    )
    assert _ok(query_wins)["tagName"] == "v3"
    for path in (f"{BASE}/2/{history['buildRunSeq']}", f"{BASE}/1/999"):
        assert client.post(path, json={}, headers=H).status_code == 404
    assert (
        client.post(f"{BASE}/1/{history['buildRunSeq']}", headers=H).status_code == 400
    )  # body required


def test_cancel_run_has_an_init_and_a_cancel_step_and_outlives_the_delete(
    client: TestClient,
) -> None:
    r = run(client, prefer="DONE")
    _until(client, r["buildRunSeq"], "RUNNING")
    cancel = _ok(client.put(f"{BASE}/cancel/{r['buildRunSeq']}", headers=H))
    assert [s["stepType"] for s in cancel["buildStepRuns"]] == ["INIT", "CANCEL"]
    assert cancel["buildStepRuns"][1]["buildStepSeq"] is None
    assert cancel["buildStepRuns"][1]["buildStepConfig"]["refBuildRunSeq"] == r["buildRunSeq"]
    assert _ok(client.get(f"{BASE}/{r['buildRunSeq']}/otherremoveruns", headers=H)) == []
    advance(client, 600)
    assert (
        _ok(client.delete(f"{BASE}/{r['buildRunSeq']}", headers=H))["buildRunSeq"]
        == r["buildRunSeq"]
    )
    assert client.get(f"{BASE}/{r['buildRunSeq']}", headers=H).status_code == 404
    assert get(client, cancel["buildRunSeq"])["runState"] == "DONE"
    assert client.get(f"{BASE}/{r['buildRunSeq']}/otherremoveruns", headers=H).status_code == 404


def test_runs_with_the_same_pushed_image_are_removed_together(client: TestClient) -> None:
    from buildmock.vendors.cocktail import KIND

    a, b, c = (run(client, 1, prefer="DONE") for _ in range(3))
    store = client.app.mock.runtimes["cocktail"].store  # type: ignore[attr-defined]
    twin = {**store.get(KIND, str(b["buildRunSeq"]))}
    twin["imageDigest"] = store.get(KIND, str(a["buildRunSeq"]))["imageDigest"]
    store.replace(KIND, str(b["buildRunSeq"]), twin)  # b pushed the very image a pushed
    assert (
        _ok(client.get(f"{BASE}/{a['buildRunSeq']}/otherremoveruns", headers=H)) == []
    )  # not pushed yet
    advance(client, 600)
    others = _ok(client.get(f"{BASE}/{a['buildRunSeq']}/otherremoveruns", headers=H))
    assert [o["buildRunSeq"] for o in others] == [b["buildRunSeq"]]
    _ok(client.delete(f"{BASE}/{a['buildRunSeq']}", headers=H))
    left = [r["buildRunSeq"] for r in _ok(client.get(BASE, params={"buildSeq": 1}, headers=H))]
    assert left == [c["buildRunSeq"]]


def test_image_tag_delete_removes_every_run_of_the_image(client: TestClient) -> None:
    a, b, keep = (
        run(client, 1, tagName="t1"),
        run(client, 1, tagName="t1"),
        run(client, 1, tagName="t2"),
    )
    _until(client, b["buildRunSeq"], "RUNNING")  # a RUNNING run of the image refuses the delete
    refused = client.delete(f"{BASE}/1/tag", params={"buildRunSeqs": [a["buildRunSeq"]]}, headers=H)
    assert refused.status_code == 409 and refused.json()["code"] == "CCBD1014000"
    advance(client, 600)
    params = {"buildRunSeqs": [a["buildRunSeq"], 999]}
    assert (
        _ok(client.delete(f"{BASE}/1/tag", params=params, headers=H)) == 2
    )  # a and b share the image
    assert [r["buildRunSeq"] for r in _ok(client.get(BASE, params={"buildSeq": 1}, headers=H))] == [
        keep["buildRunSeq"]
    ]
    assert client.delete(f"{BASE}/1/tag", headers=H).status_code == 400


# -- error modes ---------------------------------------------------------------------------------

#: One request per kind of failure: (method, path, kwargs, HTTP status by default, vendor code).
FAILURES = [
    ("GET", f"{BASE}/log/77", {}, 404, "CCCM1013000"),
    ("GET", f"{BASE}/log/step/77", {}, 404, "CCCM1013000"),
    ("PUT", f"{BASE}/cancel/77", {}, 404, "CCCM1013000"),
    ("DELETE", f"{BASE}/77", {}, 404, "CCCM1013000"),
    ("GET", f"{BASE}/77/otherremoveruns", {}, 404, "CCCM1013000"),
    ("POST", f"{BASE}/1/77", {"json": {}}, 404, "CCCM1013000"),
    ("GET", BASE, {}, 400, "CKSY1400000"),
    ("GET", f"{BASE}/abc", {}, 404, "CKSY1404000"),
    ("GET", "/cocktail/v1/build/nothing/here", {}, 404, "CKSY1404000"),
    ("POST", f"{BASE}/0", {}, 400, "CKSY1400000"),
    ("GET", f"{BASE}/latest", {"params": {"limitCount": 0}}, 400, "CKSY1400000"),
    ("PATCH", f"{BASE}/1", {}, 405, "CKSY1405000"),
    ("GET", f"{BASE}/1", {"headers": {}}, 401, "CCCM1009000"),
]


@pytest.mark.parametrize("mode", ["http", "vendor"])
@pytest.mark.parametrize(("method", "path", "kwargs", "status", "code"), FAILURES)
def test_errors_in_either_mode(
    mode: str, method: str, path: str, kwargs: dict[str, Any], status: int, code: str | None
) -> None:
    kwargs = {"headers": H, **kwargs}
    with TestClient(make_app("cocktail", options={"cocktail_errors": mode})) as c:
        response = c.request(method, path, **kwargs)
    body = response.json()
    assert response.status_code == (200 if mode == "vendor" else status)
    assert body["status"] == "error" and body["httpStatusCode"] == status
    if code is not None:
        assert body["code"] == code
    if status == 405:
        assert response.headers["allow"] == "POST, GET, DELETE"


@pytest.mark.parametrize(
    ("path", "allow"),
    [("/cancel/1", "PUT"), ("/1/tag", "DELETE"), ("/1/otherremoveruns", "GET"), ("/1/2", "POST")],
)
def test_allow_names_the_methods_of_the_most_concrete_path(
    client: TestClient, path: str, allow: str
) -> None:
    # ``/cancel/1`` also fits ``/{buildSeq}/{buildRunSeq}``; OpenAPI ranks the concrete segment first.
    response = client.patch(BASE + path, headers=H)
    assert response.status_code == 405 and response.headers["allow"] == allow


def test_vendor_mode_answers_an_unknown_run_with_null_and_keeps_state() -> None:
    with TestClient(make_app("cocktail", options={"cocktail_errors": "vendor"})) as c:
        assert _ok(c.get(f"{BASE}/77", headers=H)) is None
        r = run(c, prefer="DONE")
        _until(c, r["buildRunSeq"], "RUNNING")
        refused = c.delete(f"{BASE}/{r['buildRunSeq']}", headers=H)
        assert refused.status_code == 200 and refused.json()["code"] == "CCBD1014000"
        assert get(c, r["buildRunSeq"])["runState"] == "RUNNING"  # a refusal changes nothing


def test_vendor_mode_conforms_to_the_spec_under_schemathesis() -> None:
    import yaml

    from buildmock.contract.engine import ALL_PHASES, execute, load_asgi, make_config, spec_profile
    from buildmock.settings import SPECS_DIR

    app = make_app("cocktail", clock="real", speed=60.0, options={"cocktail_errors": "vendor"})
    spec = yaml.safe_load((SPECS_DIR / "cocktail.yaml").read_text())
    config = make_config(
        phases=ALL_PHASES, max_examples=10, seed=4321, headers=H, extra=spec_profile(spec, 200)
    )
    result = execute(load_asgi(app, "cocktail", config))
    assert not result.errors, result.errors
    assert not result.findings, [f"{f.operation} [{f.check}] {f.title}" for f in result.findings]
    assert result.scenarios > 0


# -- the setting, end to end -------------------------------------------------------------------


def test_env_variable_selects_vendor_errors() -> None:
    from tests.process import serving

    env = {"BUILDMOCK_COCKTAIL_ERRORS": "vendor"}
    with serving("--api", "cocktail", "--no-fixtures", env=env) as (base, _):
        refused = httpx.get(f"{base}{BASE}/77")
    assert refused.status_code == 200 and refused.json()["code"] == "CCCM1009000"


def test_cocktail_errors_setting_is_validated() -> None:
    from buildmock.server.app import create_app
    from buildmock.settings import Settings
    from buildmock.vendors import options
    from buildmock.vendors.cocktail import ERRORS

    assert ERRORS.of(Settings()) == "http"
    chosen = Settings.from_env({"BUILDMOCK_COCKTAIL_ERRORS": "vendor"}, options())
    assert ERRORS.of(chosen) == "vendor"
    assert chosen.to_env()["BUILDMOCK_COCKTAIL_ERRORS"] == "vendor"  # what a worker process reads
    with pytest.raises(
        ValueError, match="BUILDMOCK_COCKTAIL_ERRORS='maybe' \\(--cocktail-errors\\)"
    ):
        Settings.from_env({"BUILDMOCK_COCKTAIL_ERRORS": "maybe"}, options())
    with pytest.raises(ValueError, match="--cocktail-errors must be one of http, vendor"):
        create_app(Settings(apis=("cocktail",), options={"cocktail_errors": "maybe"}))
