"""Cached renderings (``vendors.base.RenderCache``) answer exactly what rendering afresh would."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import orjson
import pytest
from starlette.testclient import TestClient

from buildmock.vendors import cocktail
from buildmock.vendors.base import RENDERINGS, RenderCache
from tests.cases import VendorCase
from tests.conftest import CONTROL, advance, make_app


def test_an_entry_is_reused_only_for_the_same_record_between_two_change_times() -> None:
    calls: list[float] = []

    def render(record: dict[str, Any], now: float) -> dict[str, Any]:
        calls.append(now)
        return {"v": record["v"], "done": now >= 20}

    cache = RenderCache(render, lambda record: (10.0, 20.0), size=2)
    first = {"v": 1}
    assert cache.encoded("a", first, 12) == b'{"v":1,"done":false}'
    assert cache.encoded("a", first, 19.9) == b'{"v":1,"done":false}'
    assert calls == [12]  # same record, same interval: reused
    assert cache.encoded("a", first, 20) == b'{"v":1,"done":true}'  # the clock moved past a change
    assert cache.encoded("a", first, 5) == b'{"v":1,"done":false}'  # and back (a state load)
    assert cache.encoded("a", {"v": 2}, 5) == b'{"v":2,"done":false}'  # replaced: a new object
    assert calls == [12, 20, 5, 5]
    cache.encoded("b", first, 12)
    cache.encoded("c", first, 12)  # past ``size``: the oldest ("a") goes
    cache.encoded("a", {"v": 2}, 5)
    assert len(calls) == 7
    cache.clear()
    cache.encoded("c", first, 12)
    assert len(calls) == 8


def test_a_live_window_is_rendered_afresh_every_time() -> None:
    calls: list[float] = []

    def render(record: dict[str, Any], now: float) -> float:
        calls.append(now)
        return now if 10 <= now < 20 else 0.0  # follows the time while live

    cache = RenderCache(render, lambda record: (10.0, 20.0), live=lambda record: (10.0, 20.0))
    record: dict[str, Any] = {}
    assert [cache.encoded("a", record, t) for t in (5, 6, 11, 12, 20, 25)] == [
        b"0.0",
        b"0.0",
        b"11",
        b"12",
        b"0.0",
        b"0.0",
    ]
    assert calls == [5, 11, 12, 20]
    # With ``follow``, the rendering kept for the window's interval is carried to ``now``.
    calls.clear()
    follows: list[float] = []

    def follow(kept: float, window: tuple[float, float]) -> Callable[[float], bytes]:
        def at(now: float) -> bytes:
            follows.append(now)
            return orjson.dumps(kept + (now - kept))

        return at

    cache = RenderCache(
        render, lambda record: (10.0, 20.0), live=lambda record: (10.0, 20.0), follow=follow
    )
    assert [cache.encoded("a", record, t) for t in (11, 12, 19, 20)] == [
        b"11",
        b"12",
        b"19",
        b"0.0",
    ]
    assert calls == [11, 20] and follows == [12, 19]


def test_a_response_is_the_encoding_inside_the_envelope_and_kept() -> None:
    cache = RenderCache(lambda record, now: record, lambda record: (), envelope=(b'{"r":', b"}"))
    record = {"v": 1}
    first = cache.response("a", record, 0)
    assert first.body == b'{"r":{"v":1}}'
    assert cache.response("a", record, 5) is first  # kept while valid
    assert cache.encoded("a", record, 5) == b'{"v":1}'  # the encoding itself stays bare


def test_cocktails_envelope_is_what_ok_sends() -> None:
    run = b'{"buildRunSeq":1,"name":"x"}'
    before, after = cocktail.OK_ENVELOPE
    assert cocktail.ok(orjson.Fragment(run)).body == before + run + after


class _Pair:
    """Two mocks with the same seed fed the same requests: one reads through its caches, the
    other has them dropped before every read (so it renders afresh)."""

    def __init__(self, case: VendorCase) -> None:
        self.case = case
        self.cached = TestClient(make_app(case.name))
        self.fresh = TestClient(make_app(case.name))

    def both(self, method: str, path: str, **kwargs: Any) -> bytes:
        for runtime in self.fresh.app.mock.runtimes.values():  # type: ignore[attr-defined]
            runtime.services.pop(RENDERINGS, None)
        cached = self.cached.request(method, path, **kwargs)
        fresh = self.fresh.request(method, path, **kwargs)
        assert (cached.status_code, cached.content) == (fresh.status_code, fresh.content), path
        return cached.content

    def create(self, prefer: str | None) -> Any:
        made = [self.case.create(c, self.case.headers, prefer) for c in (self.cached, self.fresh)]
        assert made[0].content == made[1].content
        assert made[0].status_code == self.case.create_status
        return made[0].json()

    def advance(self, seconds: float) -> None:
        advance(self.cached, seconds)
        advance(self.fresh, seconds)


@pytest.fixture
def pair(case: VendorCase) -> Iterator[_Pair]:
    made = _Pair(case)
    with made.cached, made.fresh:
        yield made


def test_reads_are_what_rendering_afresh_gives(pair: _Pair) -> None:
    case = pair.case
    builds = [pair.create(None), pair.create(case.failure_outcome)]
    paths = [case.get_path(b) for b in builds] + [case.list_path(builds[0])]

    def read_all() -> list[bytes]:
        return [pair.both("GET", p, headers=case.headers) for p in paths for _ in range(2)]

    seen = {tuple(read_all())}
    snapshot = None
    # Small steps first (builds change most early on), growing to well past the settle time.
    for step in range(40):
        pair.advance(case.settle / 2000 * 1.2**step)
        seen.add(tuple(read_all()))
        if step == 10:
            snapshot = pair.cached.get("/__buildmock/snapshot", headers=CONTROL).json()
    assert len(seen) > 3  # the builds moved on while being read
    # A state load takes the clock back and brings new record objects: no stale entry survives.
    for client in (pair.cached, pair.fresh):
        response = client.put("/__buildmock/snapshot", json=snapshot, headers=CONTROL)
        assert response.status_code == 200, response.text
    read_all()
    pair.advance(case.settle)
    read_all()
    # So does a reset: the same numbers name new builds.
    for client in (pair.cached, pair.fresh):
        assert client.post("/__buildmock/reset", headers=CONTROL).status_code == 200
    again = pair.create(None)
    for _ in range(5):
        pair.both("GET", case.get_path(again), headers=case.headers)
        pair.both("GET", case.list_path(again), headers=case.headers)
        pair.advance(case.settle / 4)
