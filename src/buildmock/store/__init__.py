"""State behind one protocol: the in-memory default, other backends alongside."""

from __future__ import annotations

from buildmock.store.base import Store
from buildmock.store.memory import DEFAULT_CAP, MemoryStore

__all__ = ["DEFAULT_CAP", "MemoryStore", "Store", "open_store"]


def is_redis(url: str) -> bool:
    """Whether ``url`` names a Redis (or Valkey) server: ``redis://``, ``rediss://``, ``unix://``."""
    return url.startswith(("redis://", "rediss://", "unix://"))


def open_store(url: str, namespace: str, cap: int = DEFAULT_CAP) -> Store:
    """Open an in-process store for one vendor (a Redis store is opened by the server, which
    shares one connection between vendors)."""
    if url in ("memory", "memory://", ""):
        return MemoryStore(cap=cap)
    raise ValueError(f"unsupported store {url!r}: expected 'memory://' or 'redis://HOST:PORT/DB'")
