"""Several processes over one Redis: one consistent, deterministic mock (real servers, real Redis)."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from buildmock.server.journal import BODY, STATUS, Entry, RedisJournal
from buildmock.store.bridge import bridged
from buildmock.store.redis import Connection
from tests.cases import CASES
from tests.cases.base import TOKEN
from tests.conftest import CONTROL
from tests.process import free_port, serving
from tests.receiver import Receiver
from tests.redis_server import redis_server


@pytest.fixture(scope="module")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A redis-server of this module's own."""
    with redis_server(Path(tmp_path_factory.mktemp("redis"))) as url:
        yield url


def _journey(base: str) -> list[bytes]:
    """Creates, reads and lists on every vendor, each request on a new connection (so any worker
    may answer it), with the clock moved half way; returns every response body."""
    bodies: list[bytes] = []

    def call(method: str, path: str, **kwargs: object) -> httpx.Response:
        with httpx.Client(base_url=base) as client:
            response = client.request(method, path, **kwargs)  # type: ignore[arg-type]
        bodies.append(response.content)
        return response

    made = []
    for case in CASES.values():
        with httpx.Client(base_url=base) as client:
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
        for _ in range(40):
            with httpx.Client(base_url=base) as writer:
                created = stainless.create(writer, stainless.headers, None).json()
            with httpx.Client(base_url=base) as reader:
                read = reader.get(stainless.get_path(created), headers=stainless.headers)
            assert read.status_code == 200, read.text
            ids.append(created["id"])
    assert len(set(ids)) == len(ids)


def test_losing_redis_is_a_503_in_the_vendors_shape_and_recovers(tmp_path: Path) -> None:
    port = free_port()
    stainless = CASES["stainless"]
    with redis_server(tmp_path, port) as url, serving("--store", url, "--token", TOKEN) as served:
        base = served[0]
        with httpx.Client(base_url=base) as client:
            created = stainless.create(client, stainless.headers, None).json()
        subprocess.run(["redis-cli", "-p", str(port), "shutdown", "nosave"], check=False)
        with httpx.Client(base_url=base) as client:
            down = client.get(stainless.get_path(created), headers=stainless.headers)
        assert down.status_code == 503, "Redis is gone: a vendor answer, not a crash"
        assert stainless.is_error(down.json()), down.text
        with redis_server(tmp_path, port), httpx.Client(base_url=base) as client:
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


def _run(base: str, url: str) -> dict[str, object]:
    """A DONE Cocktail run through ``base`` that calls ``url`` back when it ends."""
    created = httpx.post(
        f"{base}/cocktail/v1/build/run/1",
        params={"callbackUrl": url},
        headers={**COCKTAIL.headers, "Prefer": "outcome=DONE"},
    )
    assert created.status_code == 200, created.text
    return created.json()["result"]  # type: ignore[no-any-return]


def _advance(base: str, seconds: float) -> None:
    moved = httpx.post(f"{base}/__buildmock/clock/advance", json={"seconds": seconds},
                       headers=CONTROL)  # fmt: skip
    assert moved.status_code == 200, moved.text


def _callbacks(base: str) -> dict[str, object]:
    state = httpx.get(f"{base}/__buildmock/state", headers=CONTROL).json()
    return state["services"]["cocktail"]["callbacks"]  # type: ignore[no-any-return]


@pytest.fixture(scope="module")
def pair(redis_url: str) -> Iterator[tuple[str, str]]:
    """Two ``serve`` processes (not workers: each test picks which one answers) on one Redis."""
    args = ("--store", redis_url, "--clock", "manual", "--api", "cocktail", "--token", TOKEN)
    with serving(*args) as (one, _), serving(*args) as (two, _):
        yield one, two


@pytest.fixture
def fresh(pair: tuple[str, str]) -> tuple[str, str]:
    """The two processes, reset (through the first)."""
    assert httpx.post(f"{pair[0]}/__buildmock/reset", headers=CONTROL).status_code == 200
    return pair


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    """A loopback server counting callbacks."""
    found = Receiver()
    yield found
    found.close()


def test_a_callback_is_delivered_once_by_the_process_that_moves_the_clock(
    fresh: tuple[str, str], receiver: Receiver
) -> None:
    one, two = fresh
    mine = _run(one, receiver.url("/one"))
    theirs = _run(two, receiver.url("/two"))
    _advance(two, 1)
    assert _callbacks(one)["pending"] == _callbacks(two)["pending"] == 2
    assert receiver.wait_for(1, timeout=0.5) == [], "not finished yet"
    _advance(two, 600)  # through the process that did not create the first run
    _advance(one, 600)  # past the end again, through the other: still once each
    got = dict(receiver.wait_for(2))
    time.sleep(0.3)
    assert len(receiver.got()) == 2 and set(got) == {"/one", "/two"}
    for path, run in (("/one", mine), ("/two", theirs)):
        read = httpx.get(f"{one}/cocktail/v1/build/run/{run['buildRunSeq']}",
                         headers=COCKTAIL.headers).json()["result"]  # fmt: skip
        assert got[path] == read and read["runState"] == "DONE"
    deadline = time.monotonic() + 5  # the receiver answers before the dispatcher counts
    while _callbacks(two)["delivered"] != 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    states = [_callbacks(one), _callbacks(two)]
    assert [s["pending"] for s in states] == [0, 0]
    assert sum(int(s["delivered"]) for s in states) == 2  # type: ignore[call-overload]
    assert states[1]["delivered"] == 2, "the process that moved the clock delivered both"


def test_every_worker_ticks_the_real_clock_and_one_delivers(
    redis_url: str, receiver: Receiver
) -> None:
    args = ("--store", redis_url, "--clock", "real", "--speed", "100", "--workers", "2")
    with serving(*args, "--api", "cocktail", "--token", TOKEN) as (base, _):
        assert httpx.post(f"{base}/__buildmock/reset", headers=CONTROL).status_code == 200
        runs = {_run(base, receiver.url(f"/{n}"))["buildRunSeq"] for n in range(4)}
        got = receiver.wait_for(4)
        time.sleep(1.2)  # two more ticks of every worker: nothing is delivered twice
        assert sorted(path for path, _ in receiver.got()) == ["/0", "/1", "/2", "/3"]
        assert {body["buildRunSeq"] for _, body in got} == runs


# -- the request journal, shared ----------------------------------------------------------------


def _requests(base: str, **params: object) -> dict[str, object]:
    listed = httpx.get(f"{base}/__buildmock/requests", params=params, headers=CONTROL)
    assert listed.status_code == 200, listed.text
    return listed.json()  # type: ignore[no-any-return]


def test_every_process_sees_every_processs_requests(fresh: tuple[str, str]) -> None:
    one, two = fresh
    assert _requests(one)["total"] == 0, "a reset empties the shared journal"
    made = _run(one, "http://127.0.0.1:9/unused")
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
    fresh: tuple[str, str], receiver: Receiver
) -> None:
    one, two = fresh
    made = _run(one, receiver.url("/build"))
    path = f"/cocktail/v1/build/run/{made['buildRunSeq']}"
    for _ in range(100):
        read = httpx.get(f"{two}{path}", headers=COCKTAIL.headers).json()["result"]
        if read["runState"] == "RUNNING":
            break
        _advance(one, 0.5)
    cancel = f"{two}/cocktail/v1/build/run/cancel/{made['buildRunSeq']}"
    assert httpx.put(cancel, headers=COCKTAIL.headers).status_code == 200
    got = receiver.wait_for(1)  # the cut run ended now: called back without a clock move
    assert [(path, body["runState"]) for path, body in got] == [("/build", "ERROR")]
    assert _callbacks(two)["delivered"] == 1
