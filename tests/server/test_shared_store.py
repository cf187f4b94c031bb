"""Several processes over one Redis: one consistent, deterministic mock (real servers, real Redis)."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis
from openapi_schema_validator import OAS30Validator
from starlette.testclient import TestClient

from buildmock.server.app import load_control
from buildmock.server.journal import BODY, STATUS, Entry, RedisJournal
from buildmock.store.bridge import bridged
from buildmock.store.redis import FORMAT, Connection
from tests.callback_sink import Sink
from tests.cases import CASES
from tests.cases.base import TOKEN
from tests.cases.escape import BASE as ESCAPE_BUILDS
from tests.conftest import CONTROL, advance, make_app
from tests.process import free_port, serving
from tests.receiver import Receiver
from tests.redis_server import redis_server


@pytest.fixture(scope="module")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A redis-server of this module's own."""
    with redis_server(Path(tmp_path_factory.mktemp("redis"))) as url:
        yield url


def _fresh_connections(base: str) -> httpx.Client:
    """A client opening a new connection for every request (none kept alive), so any worker may
    answer each one; one client, so its TLS context is built once, not per request."""
    return httpx.Client(base_url=base, limits=httpx.Limits(max_keepalive_connections=0))


def _journey(base: str) -> list[bytes]:
    """Creates, reads and lists on every vendor, each request on a new connection (so any worker
    may answer it), with the clock moved half way; returns every response body."""
    bodies: list[bytes] = []
    with _fresh_connections(base) as client:

        def call(method: str, path: str, **kwargs: object) -> httpx.Response:
            response = client.request(method, path, **kwargs)  # type: ignore[arg-type]
            bodies.append(response.content)
            return response

        made = []
        for case in CASES.values():
            created = case.create(client, case.headers, None)
            assert created.status_code == case.create_status, created.text
            bodies.append(created.content)
            made.append((case, created.json()))
        for seconds in (0, 15, 600):
            moved = call("POST", "/__buildmock/clock/advance", json={"seconds": seconds},
                         headers=CONTROL)  # fmt: skip
            assert moved.status_code == 200, moved.text
            for case, created in made:
                call("GET", case.get_path(created), headers=case.headers)
                call("GET", case.list_path(created), headers=case.headers)
    return bodies


def test_two_workers_answer_byte_for_byte_as_one(redis_url: str) -> None:
    args = ("--store", redis_url, "--clock", "manual", "--seed", "11", "--token", TOKEN)
    with serving(*args) as (one, _):
        assert httpx.post(f"{one}/__buildmock/reset", headers=CONTROL).status_code == 200
        alone = _journey(one)
    with serving(*args, "--workers", "2") as (two, _):
        assert httpx.post(f"{two}/__buildmock/reset", headers=CONTROL).status_code == 200
        shared = _journey(two)
        assert httpx.post(f"{two}/__buildmock/reset", headers=CONTROL).status_code == 200
        again = _journey(two)
    for index, (mine, theirs) in enumerate(zip(shared, alone, strict=True)):
        assert mine == theirs, f"response {index} differs:\n{mine[:3000]!r}\n{theirs[:3000]!r}"
    assert again == alone, "a reset starts every sequence over, in every worker"


def test_create_then_read_never_misses_across_workers(redis_url: str) -> None:
    stainless = CASES["stainless"]
    with serving("--store", redis_url, "--workers", "2", "--token", TOKEN) as (base, _):
        ids = []
        with _fresh_connections(base) as client:  # the read is on another connection than the write
            for _ in range(40):
                created = stainless.create(client, stainless.headers, None).json()
                read = client.get(stainless.get_path(created), headers=stainless.headers)
                assert read.status_code == 200, read.text
                ids.append(created["id"])
    assert len(set(ids)) == len(ids)


def _health_schema(status: str) -> dict[str, Any]:
    """The control spec's schema of a health answer with this status code."""
    operation = load_control()["paths"]["/health"]["get"]
    schema: dict[str, Any] = operation["responses"][status]["content"]["application/json"]["schema"]
    return schema


def test_every_key_written_is_under_the_held_forms_version(redis_url: str) -> None:
    """A Redis an older or newer buildmock wrote is never read as this one's (store.redis.FORMAT)."""
    with (
        serving("--store", redis_url, "--token", TOKEN) as (base, _),
        httpx.Client(base_url=base) as client,
    ):
        assert client.post("/__buildmock/reset", headers=CONTROL).status_code == 200
        for case in CASES.values():
            made = case.create(client, case.headers, None)
            assert made.status_code == case.create_status, made.text
        assert client.post("/__buildmock/clock/advance", json={"seconds": 60},
                           headers=CONTROL).status_code == 200  # fmt: skip
    keys = redis.Redis.from_url(redis_url).keys("*")
    assert keys and all(key.startswith(f"buildmock:f{FORMAT}:".encode()) for key in keys), keys


def test_losing_redis_is_a_503_in_the_vendors_shape_and_recovers(tmp_path: Path) -> None:
    port = free_port()
    stainless = CASES["stainless"]
    with redis_server(tmp_path, port) as url, serving("--store", url, "--token", TOKEN) as served:
        base = served[0]
        with httpx.Client(base_url=base) as client:
            created = stainless.create(client, stainless.headers, None).json()
            up = client.get("/__buildmock/health")
        assert (up.status_code, up.json()["status"]) == (200, "ok"), up.text
        subprocess.run(["redis-cli", "-p", str(port), "shutdown", "nosave"], check=False)
        with httpx.Client(base_url=base) as client:
            down = client.get(stainless.get_path(created), headers=stainless.headers)
            sick = client.get("/__buildmock/health")
        assert down.status_code == 503, "Redis is gone: a vendor answer, not a crash"
        assert stainless.is_error(down.json()), down.text
        # Health says so in its own shape (what a readiness probe or a dashboard reads).
        assert sick.status_code == 503, sick.text
        report = sick.json()
        OAS30Validator(_health_schema("503")).validate(report)
        assert report["status"] == "unavailable" and "ConnectionError" in report["error"]
        assert report["apis"] == up.json()["apis"]
        with redis_server(tmp_path, port), httpx.Client(base_url=base) as client:
            assert client.get("/__buildmock/health").status_code == 200
            # an empty Redis came back: the mock sets itself up again and serves
            back = stainless.create(client, stainless.headers, None)
            assert back.status_code == stainless.create_status, back.text
            read = client.get(stainless.get_path(back.json()), headers=stainless.headers)
            assert read.status_code == 200


def test_workers_without_a_shared_store_are_refused_in_one_line() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "buildmock", "serve", "--workers", "2", "--port", str(free_port())],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "--store redis://" in lines[0], done.stderr


# -- Cocktail completion callbacks, shared ------------------------------------------------------

COCKTAIL = CASES["cocktail"]


def _run(client: httpx.Client | TestClient, url: str) -> dict[str, object]:
    """A DONE Cocktail run through ``client`` that calls ``url`` back when it ends."""
    created = client.post("/cocktail/v1/build/run/1", params={"callbackUrl": url},
                          headers={**COCKTAIL.headers, "Prefer": "outcome=DONE"})  # fmt: skip
    assert created.status_code == 200, created.text
    return created.json()["result"]  # type: ignore[no-any-return]


@pytest.fixture
def pair(redis_url: str) -> Iterator[tuple[TestClient, TestClient, Sink, Sink]]:
    """Two mocks over one Redis, as two processes would be (each its own dispatcher delivering
    into its own in-memory sink), reset through the first."""
    sinks = Sink(), Sink()
    apps = [
        make_app("cocktail", store=redis_url, callback_transport=sink.transport) for sink in sinks
    ]
    with TestClient(apps[0]) as one, TestClient(apps[1]) as two:
        assert one.post("/__buildmock/reset", headers=CONTROL).status_code == 200
        yield one, two, *sinks


def _drained(client: TestClient) -> dict[str, Any]:
    """This mock's callback state once its deliveries are done."""
    assert client.app.mock.runtimes["cocktail"].services["callbacks"].drain()  # type: ignore[attr-defined]
    state = client.get("/__buildmock/state", headers=CONTROL).json()
    return state["services"]["cocktail"]["callbacks"]  # type: ignore[no-any-return]


def test_a_callback_is_delivered_once_by_the_process_that_moves_the_clock(
    pair: tuple[TestClient, TestClient, Sink, Sink],
) -> None:
    one, two, sink_one, sink_two = pair
    mine = _run(one, Sink.url("/one"))
    theirs = _run(two, Sink.url("/two"))
    advance(two, 1)
    assert _drained(one)["pending"] == _drained(two)["pending"] == 2
    assert sink_one.got() == sink_two.got() == [], "not finished yet"
    advance(two, 600)  # through the process that did not create the first run
    advance(one, 600)  # past the end again, through the other: still once each
    states = [_drained(one), _drained(two)]
    got = dict(sink_two.got())
    assert sink_one.got() == [] and len(sink_two.got()) == 2 and set(got) == {"/one", "/two"}
    for path, run in (("/one", mine), ("/two", theirs)):
        read = one.get(f"/cocktail/v1/build/run/{run['buildRunSeq']}", headers=COCKTAIL.headers)
        assert got[path] == read.json()["result"] and got[path]["runState"] == "DONE"
    assert [s["pending"] for s in states] == [0, 0]
    assert [s["delivered"] for s in states] == [0, 2], (
        "the process that moved the clock delivered both"
    )


def test_every_worker_ticks_the_real_clock_and_one_delivers(redis_url: str) -> None:
    """Worker processes of one server: only a real receiver socket can hear them."""
    receiver = Receiver()
    args = ("--store", redis_url, "--clock", "real", "--speed", "100", "--workers", "2")
    with (
        serving(*args, "--api", "cocktail", "--token", TOKEN) as (base, _),
        httpx.Client(base_url=base) as client,
    ):
        assert client.post("/__buildmock/reset", headers=CONTROL).status_code == 200
        runs = {_run(client, receiver.url(f"/{n}"))["buildRunSeq"] for n in range(4)}
        got = receiver.wait_for(4)
        time.sleep(1.2)  # two more ticks of every worker: nothing is delivered twice
        assert sorted(path for path, _ in receiver.got()) == ["/0", "/1", "/2", "/3"]
        assert {body["buildRunSeq"] for _, body in got} == runs
    receiver.close()


# -- the request journal, shared ----------------------------------------------------------------


def _requests(base: str, **params: object) -> dict[str, object]:
    listed = httpx.get(f"{base}/__buildmock/requests", params=params, headers=CONTROL)
    assert listed.status_code == 200, listed.text
    return listed.json()  # type: ignore[no-any-return]


@pytest.fixture
def processes(redis_url: str) -> Iterator[tuple[str, str]]:
    """Two ``serve`` processes (not workers: each request picks which one answers) on one Redis,
    reset through the first."""
    args = ("--store", redis_url, "--clock", "manual", "--api", "cocktail", "--token", TOKEN)
    with serving(*args) as (one, _), serving(*args) as (two, _):
        assert httpx.post(f"{one}/__buildmock/reset", headers=CONTROL).status_code == 200
        yield one, two


def test_every_process_sees_every_processs_requests(processes: tuple[str, str]) -> None:
    one, two = processes
    assert _requests(one)["total"] == 0, "a reset empties the shared journal"
    with httpx.Client(base_url=one) as client:
        made = _run(client, "http://127.0.0.1:9/unused")
    path = f"/cocktail/v1/build/run/{made['buildRunSeq']}"
    assert httpx.get(f"{two}{path}", headers=COCKTAIL.headers).status_code == 200
    assert httpx.get(f"{one}/cocktail/v1/nowhere", headers=COCKTAIL.headers).status_code == 404
    seen = [_requests(base) for base in (one, two)]
    assert seen[0] == seen[1]
    requests = seen[0]["requests"]
    assert [(r["method"], r["path"], r["status"]) for r in requests] == [  # type: ignore[attr-defined]
        ("POST", "/cocktail/v1/build/run/1", 200),
        ("GET", path, 200),
        ("GET", "/cocktail/v1/nowhere", 404),
    ]
    ids = [r["id"] for r in requests]  # type: ignore[attr-defined]
    assert ids == sorted(ids) and len(set(ids)) == 3
    assert requests[0]["headers"]["user-id"] == "1"  # type: ignore[index]
    assert _requests(two, method="GET", after=ids[0])["total"] == 2
    count = httpx.get(f"{two}/__buildmock/requests/count", params={"method": "POST"},
                      headers=CONTROL).json()  # fmt: skip
    assert count == {"count": 1}
    verified = httpx.post(f"{one}/__buildmock/requests/verify", headers=CONTROL,
                          json={"method": "GET", "path": path, "count": 1}).json()  # fmt: skip
    assert verified == {"matched": True, "count": 1, "expected": 1}
    unmatched = httpx.get(f"{two}/__buildmock/requests/unmatched", headers=CONTROL).json()
    assert [r["path"] for r in unmatched["requests"]] == ["/cocktail/v1/nowhere"]
    cleared = httpx.delete(f"{two}/__buildmock/requests", headers=CONTROL).json()
    assert cleared == {"cleared": 3}
    assert _requests(one)["total"] == 0
    httpx.get(f"{one}{path}", headers=COCKTAIL.headers)
    again = _requests(two)["requests"]
    assert [r["id"] for r in again] == [ids[-1] + 1], "ids keep growing across a clear"  # type: ignore[attr-defined]


def test_the_shared_journal_is_a_bounded_ring(redis_url: str) -> None:
    journal = RedisJournal(Connection(redis_url), size=3)
    scope = {"method": "GET", "path": "/stainless/v0/builds", "query_string": b"a=\xe9",
             "headers": [(b"authorization", b"Bearer secret")]}  # fmt: skip

    async def five_then_read() -> list[Entry]:
        await bridged(journal.clear)
        for n in range(5):
            row = journal.record(scope, "stainless", 1.0)
            row[BODY], row[STATUS] = bytes([n, 255]), 200 + n
            await journal.finish(row)
        return list(await bridged(journal.entries))

    kept = asyncio.run(five_then_read())
    assert [entry.status for entry in kept] == [202, 203, 204], "the oldest went first"
    assert [entry.seq for entry in kept] == sorted(entry.seq for entry in kept)
    assert kept[0].body == bytes([2, 255]) and kept[0].query == b"a=\xe9", "bytes kept exactly"
    assert kept[0].headers == [(b"authorization", b"Bearer secret")]


def test_a_cancelled_run_is_called_back_at_once_by_the_process_that_cancelled(
    pair: tuple[TestClient, TestClient, Sink, Sink],
) -> None:
    one, two, sink_one, sink_two = pair
    made = _run(one, Sink.url("/build"))
    path = f"/cocktail/v1/build/run/{made['buildRunSeq']}"
    for _ in range(100):
        if two.get(path, headers=COCKTAIL.headers).json()["result"]["runState"] == "RUNNING":
            break
        advance(one, 0.5)
    cancel = f"/cocktail/v1/build/run/cancel/{made['buildRunSeq']}"
    assert two.put(cancel, headers=COCKTAIL.headers).status_code == 200
    # the cut run ended now: called back without a clock move, by the process that cut it
    assert _drained(two)["delivered"] == 1 and _drained(one)["delivered"] == 0
    assert [(path, body["runState"]) for path, body in sink_two.got()] == [("/build", "ERROR")]
    assert sink_one.got() == []


def test_no_answer_over_a_shared_store_comes_from_the_memo(redis_url: str) -> None:
    """Another process's write is seen at once: with a shared store the request path memoizes
    nothing (``request_path.py``, the answer memo), though the first answer holds for ever in
    this process's eyes (a build never triggered)."""
    headers = CASES["escape"].headers
    path = f"{ESCAPE_BUILDS}by-name/shared-1/"
    with (
        TestClient(make_app("escape", store=redis_url)) as one,
        TestClient(make_app("escape", store=redis_url)) as two,
    ):
        assert one.post("/__buildmock/reset", headers=CONTROL).status_code == 200
        body = {"name": "shared-1", "repo": "git@github.com:acme/api.git"}
        assert one.post(ESCAPE_BUILDS, json=body, headers=headers).status_code == 200
        assert [one.get(path, headers=headers).json()["status"] for _ in "ab"] == ["new", "new"]
        assert two.post(f"{path}trigger", headers=headers).status_code == 200
        advance(two, 600)
        assert one.get(path, headers=headers).json()["status"] not in ("new", "pending", "running")
