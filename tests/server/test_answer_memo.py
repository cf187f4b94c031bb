"""The request path's answer memo: a repeated GET is answered without its handler while nothing it
depends on has changed (the same request, its vendor's store unwritten, the clock within the
answer's span), and never differently from what the handler would have answered."""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import Any

import pytest
from starlette.testclient import TestClient

from buildmock.server.app import BuildMockApp
from buildmock.store.memory import MemoryStore
from tests.cases import CASES, VendorCase
from tests.cases.escape import BASE as ESCAPE_BUILDS
from tests.conftest import CONTROL, advance, make_app

SEED = 7


def memoized_path(case: VendorCase, build: Any) -> str:
    """A GET whose answer is steady: the build by id (for Escape, the build resource by name,
    which the case's create triggered)."""
    if case.name == "escape":
        return f"{ESCAPE_BUILDS}by-name/{build['build']}/"
    return case.get_path(build)


def store_of(app: BuildMockApp, vendor: str) -> MemoryStore:
    store = app.mock.runtimes[vendor].store
    assert isinstance(store, MemoryStore)
    return store


def counting(store: MemoryStore, method: str) -> list[Any]:
    """Note every call of ``store.<method>`` from now on."""
    calls: list[Any] = []
    real: Callable[..., Any] = getattr(store, method)

    def counted(*args: Any) -> Any:
        calls.append(args)
        return real(*args)

    setattr(store, method, counted)
    return calls


def without_memo(app: BuildMockApp) -> BuildMockApp:
    app.inner.memo_size = 0  # type: ignore[attr-defined]
    return app


def answer(response: Any) -> tuple[int, list[tuple[str, str]], bytes]:
    return response.status_code, sorted(response.headers.items()), response.content


@pytest.mark.parametrize("name", sorted(CASES))
def test_a_repeated_get_is_answered_without_reading_the_store_until_something_changes(
    name: str,
) -> None:
    case = CASES[name]
    app = make_app(name, seed=SEED)
    with TestClient(app) as client:
        build = case.create(client, case.headers, None).json()
        path = memoized_path(case, build)
        first = client.get(path, headers=case.headers)
        assert first.status_code == 200, first.text
        reads = counting(store_of(app, name), "get")
        again = client.get(path, headers=case.headers)
        assert answer(again) == answer(first)
        assert reads == [], "answered from the memo: the handler did not run"

        other = {**case.headers, "X-Other": "1"}
        assert answer(client.get(path, headers=other)) == answer(first)
        assert reads, "another header list is another request: the handler ran"

        reads.clear()
        case.create(client, case.headers, None)  # a write to the vendor's store
        assert reads, "the create read the store"
        reads.clear()
        assert answer(client.get(path, headers=case.headers)) == answer(first)
        assert reads, "after a write the handler runs again"

        reads.clear()
        advance(client, case.settle)
        settled = client.get(path, headers=case.headers)
        assert reads, "past the answer's span the handler runs again"
        assert settled.content != first.content, "the build moved on"


def _script(
    case: VendorCase, memo: bool, seed: int
) -> tuple[list[tuple[int, list[tuple[str, str]], bytes]], int]:
    """A random mix of creates, repeated reads, unknown ids, clock moves and resets on a mock with
    a cap of 3 builds (so recency decides evictions): every answer, and the memo's hits."""
    rng = random.Random(seed)
    app = make_app(case.name, seed=SEED, cap=3)
    if not memo:
        without_memo(app)
    hits = 0
    answers = []
    with TestClient(app) as client:
        watched: MemoryStore | None = None
        touched: list[Any] = []
        paths: list[str] = []
        for _ in range(160):
            store = store_of(app, case.name)
            if store is not watched:  # a reset replaces the store
                watched, touched = store, counting(store, "touch")
            roll = rng.random()
            if roll < 0.15 or not paths:
                prefer = rng.choice([None, None, case.failure_outcome])
                made = case.create(client, case.headers, prefer)
                answers.append(answer(made))
                if made.status_code < 300:
                    paths.append(memoized_path(case, made.json()))
            elif roll < 0.75:
                path = rng.choice(paths[-5:])
                answers.append(answer(client.get(path, headers=case.headers)))
            elif roll < 0.8:
                answers.append(answer(client.get(case.unknown_path, headers=case.headers)))
            elif roll < 0.97:
                advance(client, rng.choice([0, 0.5, 3, case.settle / 10, case.settle / 3]))
            else:
                assert client.post("/__buildmock/reset", headers=CONTROL).status_code == 200
                paths = []
            hits += len(touched)
            touched.clear()
        answers.append(answer(client.get("/__buildmock/snapshot", headers=CONTROL)))
    return answers, hits


@pytest.mark.parametrize("name", sorted(CASES))
def test_memoized_answers_are_the_answers_without_the_memo(name: str) -> None:
    case = CASES[name]
    with_memo, hits = _script(case, True, seed=SEED)
    without, none = _script(case, False, seed=SEED)
    assert none == 0
    assert hits > 20, "the script exercised the memo"
    assert len(with_memo) == len(without)
    for step, (got, expected) in enumerate(zip(with_memo, without, strict=True)):
        assert got == expected, f"answer {step} differs"


def test_a_memo_hit_keeps_the_build_in_use_as_a_read_would() -> None:
    """The store evicts the least recently used build: a GET answered from the memo uses the
    build as the handler's read would have, so the same build survives the next create."""
    case = CASES["stainless"]

    def survivors(memo: bool) -> list[int]:
        app = make_app("stainless", seed=SEED, cap=3)
        if not memo:
            without_memo(app)
        with TestClient(app) as client:
            paths = [case.get_path(case.create(client, case.headers, None).json()) for _ in "abc"]
            for path in [*paths, paths[0]]:  # a, b, c read; then a again (from the memo)
                assert client.get(path, headers=case.headers).status_code == 200
            case.create(client, case.headers, None)  # evicts the least recently used
            return [client.get(path, headers=case.headers).status_code for path in paths]

    assert survivors(memo=True) == survivors(memo=False) == [200, 404, 200]


def test_an_answer_that_follows_the_clock_follows_it_from_the_memo_too() -> None:
    """A building Nuon build's runner job counts its execution time with the clock: each read
    gives the time at that moment, also when the memo answers it (no store read)."""
    case = CASES["nuon"]
    app = make_app("nuon", seed=SEED)
    fresh = without_memo(make_app("nuon", seed=SEED))
    with TestClient(app) as client, TestClient(fresh) as reference:
        path = case.get_path(case.create(client, case.headers, None).json())
        assert case.get_path(case.create(reference, case.headers, None).json()) == path
        times, reads = [], counting(store_of(app, "nuon"), "get")
        for _ in range(40):
            got = client.get(path, headers=case.headers)
            assert answer(got) == answer(reference.get(path, headers=case.headers))
            if got.json()["status"] == "building":
                times.append(got.json()["runner_job"]["execution_time"])
                if len(times) == 3:
                    break
            reads.clear()
            assert answer(client.get(path, headers=case.headers)) == answer(got)
            advance(client, 0.5)
            advance(reference, 0.5)
        assert len(times) == 3 and times[0] < times[1] < times[2], times
        assert reads == [], "the building build's second read came from the memo"


def test_a_loaded_state_is_answered_not_the_memo() -> None:
    """Loading a state document is a write: a build the loaded state does not hold is a 404."""
    case = CASES["stainless"]
    with TestClient(make_app("stainless", seed=SEED)) as client:
        before = client.get("/__buildmock/snapshot", headers=CONTROL).json()
        path = case.get_path(case.create(client, case.headers, None).json())
        assert [client.get(path, headers=case.headers).status_code for _ in "ab"] == [200, 200]
        assert client.put("/__buildmock/snapshot", json=before, headers=CONTROL).status_code == 200
        assert client.get(path, headers=case.headers).status_code == 404
