"""The ``Store`` protocol, held by both backends alike (Redis against a real redis-server)."""

from __future__ import annotations

import asyncio

import pytest
import redis

from buildmock.store.bridge import bridged
from buildmock.store.redis import WORK, Connection, RedisStore, UnitOfWork
from tests.store.conftest import Backend


def test_insert_get_replace_delete(backend: Backend) -> None:
    store = backend.store()

    def body() -> None:
        store.insert("build", "a", {"n": 1})
        assert store.get("build", "a") == {"n": 1}
        assert store.replace("build", "a", {"n": 2})
        assert store.get("build", "a") == {"n": 2}
        assert not store.replace("build", "zzz", {})
        assert store.delete("build", "a")
        assert store.get("build", "a") is None
        assert not store.delete("build", "a")

    backend.run(body)


def test_scan_orders_pages_and_filters(backend: Backend) -> None:
    store = backend.store()

    def body() -> None:
        seqs = [
            store.insert("build", str(i), {"i": i, "p": "x" if i % 2 else "y"}) for i in range(250)
        ]
        assert [r["i"] for _, r in store.scan("build")][:3] == [249, 248, 247]
        assert len(list(store.scan("build"))) == 250
        assert [r["i"] for _, r in store.scan("build", before=seqs[2])] == [1, 0]
        assert [r["i"] for _, r in store.scan("build", newest_first=False)][:3] == [0, 1, 2]
        odd = [r["i"] for _, r in store.scan("build", where={"p": "x"})]
        assert odd == list(range(249, 0, -2))
        store.replace("build", "3", {"i": 3, "p": "y"})
        assert 3 not in [r["i"] for _, r in store.scan("build", where={"p": "x"})]
        assert [r["i"] for _, r in store.scan("build", where={"p": "y", "i": 3})] == [3]
        store.insert("build", "new", {"i": 999, "p": "x"})
        assert next(iter(store.scan("build", where={"p": "x"})))[1]["i"] == 999

    backend.run(body)


def test_cap_evicts_the_least_recently_used(backend: Backend) -> None:
    store = backend.store(cap=3)

    def body() -> None:
        for key in "abc":
            store.insert("build", key, {"k": key})
        store.get("build", "a")  # polled: a survives
        store.insert("build", "d", {"k": "d"})
        assert store.get("build", "b") is None
        assert store.get("build", "a") == {"k": "a"}
        assert store.counts() == {"build": 3}
        assert store.evictions() == {"build": 1}  # type: ignore[attr-defined]

    backend.run(body)


def test_counters_and_clear(backend: Backend) -> None:
    store = backend.store()

    def body() -> None:
        assert [store.next_value("repo") for _ in range(3)] == [1, 2, 3]
        assert store.next_values("repo", 4) == 4  # 4, 5, 6 and 7 taken at once
        assert store.next_values("repo", 1) == 8
        assert store.next_value("repo") == 9
        with pytest.raises(ValueError):
            store.next_values("repo", 0)
        assert store.next_value("repo") == 10  # a refused call takes nothing
        store.insert("run", "1", {})
        store.clear()
        assert store.counts() == {}
        assert store.next_value("repo") == 1

    backend.run(body)


def test_a_requests_writes_are_seen_by_it_and_land_together(redis_url: str) -> None:
    redis.Redis.from_url(redis_url).flushdb()
    connection = Connection(redis_url)
    store = RedisStore(connection, "test", 100)
    other = RedisStore(Connection(redis_url), "test", 100)
    raw = redis.Redis.from_url(redis_url)

    async def request(fail: bool) -> None:
        work = UnitOfWork()
        WORK.set(work)

        def handler() -> None:
            store.insert("build", "a", {"n": 1})
            store.insert("slot", "a", {"id": "a"})
            assert store.get("build", "a") == {"n": 1}, "a request reads its own writes"
            assert [r for _, r in store.scan("build")] == [{"n": 1}]
            assert raw.keys("*:rec") == [], "nobody else sees them before the commit"
            if fail:
                raise RuntimeError("the handler failed half way")

        await bridged(handler)
        await work.commit(connection)

    with pytest.raises(RuntimeError):
        asyncio.run(request(fail=True))
    assert raw.keys("*:rec") == [], "a failed request writes nothing"
    asyncio.run(request(fail=False))
    assert asyncio.run(bridged(lambda: other.counts())) == {"build": 1, "slot": 1}


def test_store_calls_outside_a_bridge_are_refused(redis_url: str) -> None:
    store = RedisStore(Connection(redis_url), "test", 10)
    with pytest.raises(RuntimeError, match="outside a bridged request"):
        store.get("build", "a")
