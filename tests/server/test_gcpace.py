"""Collections paced by requests (server/gcpace.py): the decisions, and the young generation a
store at its cap would otherwise let grow without bound."""

from __future__ import annotations

import asyncio
import gc
from collections.abc import Iterator
from typing import Any

import pytest

from buildmock.server.gcpace import EVERY, GROWTH, Pacer
from tests.cases.base import TOKEN
from tests.conftest import make_app


class FakeCollector:
    """The collector as the pacer sees it: counts, thresholds, the oldest generation's size."""

    def __init__(self) -> None:
        self.counts = (0, 0, 0)
        self.thresholds = (10_000, 4, 100)
        self.oldest = 1000
        self.enabled = True
        self.collected: list[int] = []

    def pacer(self, every: int = 3) -> Pacer:
        return Pacer(
            every=every,
            collect=self.collected.append,
            counts=lambda: self.counts,
            thresholds=lambda: self.thresholds,
            oldest_size=lambda: self.oldest,
            enabled=lambda: self.enabled,
        )


def serve(pacer: Pacer, requests: int) -> None:
    for _ in range(requests):
        pacer.served()


def test_collects_once_every_n_requests() -> None:
    fake = FakeCollector()
    pacer = fake.pacer(every=3)
    serve(pacer, 2)
    assert fake.collected == []
    serve(pacer, 1)
    assert fake.collected == [0]
    serve(pacer, 6)
    assert fake.collected == [0, 0, 0]


def test_young_until_the_middle_threshold_then_middle() -> None:
    fake = FakeCollector()
    pacer = fake.pacer(every=1)
    fake.counts = (5, 3, 0)
    serve(pacer, 1)
    fake.counts = (5, 4, 0)
    serve(pacer, 1)
    assert fake.collected == [0, 1]


def test_full_only_once_the_oldest_generation_has_grown() -> None:
    fake = FakeCollector()
    pacer = fake.pacer(every=1)
    fake.thresholds = (10_000, 4, 2)  # a full collection considered every second middle one
    fake.counts = (0, 4, 0)
    serve(pacer, 2)  # the second middle is the first look: it sets the mark, no full collection
    assert fake.collected == [1, 1]
    serve(pacer, 2)  # settled: not grown, still no full collection
    assert fake.collected == [1, 1, 1, 1]
    fake.oldest = int(1000 * GROWTH) + 1
    serve(pacer, 2)
    assert fake.collected[-2:] == [1, 2]
    serve(pacer, 2)  # the mark moved to the size after that collection
    assert fake.collected[-2:] == [1, 1]


def test_nothing_while_collection_is_disabled() -> None:
    fake = FakeCollector()
    fake.enabled = False
    serve(fake.pacer(every=1), 5)
    assert fake.collected == []


def test_refuses_a_pace_below_one() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        Pacer(every=0)


@pytest.fixture
def served_tuning() -> Iterator[None]:
    """The collector tuned as ``buildmock serve`` tunes it (``run.tune_gc``), restored after."""
    saved = gc.get_threshold()
    gc.set_threshold(10_000, 4, 1_000)
    try:
        yield
    finally:
        gc.set_threshold(*saved)


CREATE = {
    "type": "http",
    "method": "POST",
    "path": "/stainless/v0/builds",
    "raw_path": b"/stainless/v0/builds",
    "query_string": b"",
    "root_path": "",
    "scheme": "http",
    "http_version": "1.1",
    "server": ("127.0.0.1", 8080),
    "client": ("127.0.0.1", 50000),
    "headers": [
        (b"authorization", f"Bearer {TOKEN}".encode()),
        (b"content-type", b"application/json"),
    ],
}
BODY = b'{"project": "acme-api", "revision": "main"}'


async def create(app: Any) -> int:
    """One Stainless create, handed over as a server hands it (no test client's own garbage)."""
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": BODY, "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    await app(dict(CREATE), receive, send)
    status: int = sent[0]["status"]
    return status


def young_sizes_while_creating(app: Any, creates: int) -> tuple[list[int], int]:
    """The young generation's size at each collection's start while ``creates`` creates are
    served by a mock already at its store's cap (its records long promoted), and at the end."""
    sizes: list[int] = []

    def watch(phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            sizes.append(len(gc.get_objects(0)))

    async def drive(count: int) -> set[int]:
        return {await create(app) for _ in range(count)}

    assert asyncio.run(drive(CAP)) == {200}
    gc.collect()
    gc.callbacks.append(watch)
    try:
        statuses = asyncio.run(drive(creates))
    finally:
        gc.callbacks.remove(watch)
    assert statuses == {200}
    return sizes, len(gc.get_objects(0))


# At its cap the store frees an old record for every new one: CPython's allocation count stands
# still while the young generation fills with the new records (~67 objects each for Stainless).
CAP = 2000
CREATES = 1500
BOUND = EVERY * 100  # a create leaves ~67 young objects (its record, before tuples are untracked)


@pytest.mark.usefixtures("served_tuning")
def test_young_generation_stays_small_under_creates_at_the_cap() -> None:
    sizes, end = young_sizes_while_creating(make_app("stainless", cap=CAP), CREATES)
    assert len(sizes) >= CREATES // EVERY
    assert max(sizes) < BOUND
    assert end < BOUND


@pytest.mark.usefixtures("served_tuning")
def test_unpaced_the_young_generation_grows() -> None:
    """The case the pacer exists for (so the test above can fail): without it, no bound."""
    app = make_app("stainless", cap=CAP)
    app.pacer = Pacer(every=10**9)
    _, end = young_sizes_while_creating(app, CREATES)
    assert end > BOUND


def test_only_requests_that_may_write_are_counted() -> None:
    """Reads store nothing that outlives them: the pacer counts creates, not GETs."""
    app = make_app("stainless")
    left = app.pacer._left
    made: list[dict[str, Any]] = []

    async def send(message: dict[str, Any]) -> None:
        made.append(message)

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def drive() -> None:
        assert await create(app) == 200
        read = {**CREATE, "method": "GET", "path": "/stainless/v0/builds/bui_x",
                "headers": CREATE["headers"][:1]}  # fmt: skip
        for _ in range(3):
            await app(dict(read), receive, send)

    asyncio.run(drive())
    assert [m["status"] for m in made if "status" in m] == [404, 404, 404]
    assert app.pacer._left == left - 1
