"""Both store backends, for tests of the ``Store`` protocol."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import redis

from buildmock.store import MemoryStore, Store
from buildmock.store.bridge import bridged
from buildmock.store.redis import Connection, RedisStore
from tests.redis_server import redis_server


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """One real redis-server for the session."""
    with redis_server(Path(tmp_path_factory.mktemp("redis"))) as url:
        yield url


class Backend:
    """Makes stores of one kind and runs code against them (Redis: inside a bridged call)."""

    def __init__(self, name: str, url: str | None) -> None:
        self.name = name
        self.url = url

    def store(self, cap: int = 10_000) -> Store:
        """A fresh, empty store."""
        if self.url is None:
            return MemoryStore(cap=cap)
        redis.Redis.from_url(self.url).flushdb()
        return RedisStore(Connection(self.url), "test", cap)

    def run(self, body: Callable[[], Any]) -> Any:
        """Call ``body`` where the store may be used."""
        if self.url is None:
            return body()
        return asyncio.run(bridged(body))


@pytest.fixture(params=["memory", "redis"])
def backend(request: pytest.FixtureRequest) -> Backend:
    """Each store backend in turn."""
    if request.param == "memory":
        return Backend("memory", None)
    return Backend("redis", request.getfixturevalue("redis_url"))
