"""State behind one protocol: the in-memory default, other backends alongside."""

from __future__ import annotations

from buildmock.store.base import Store
from buildmock.store.memory import DEFAULT_CAP, MemoryStore

__all__ = ["DEFAULT_CAP", "MemoryStore", "Store", "open_store"]


def open_store(url: str, namespace: str, cap: int = DEFAULT_CAP) -> Store:
    """Open the store named by ``url`` for one vendor (``memory://`` is the only built-in one)."""
    if url in ("memory", "memory://", ""):
        return MemoryStore(cap=cap)
    raise ValueError(f"unsupported store {url!r}: expected 'memory://'")
