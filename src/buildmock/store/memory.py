"""The default store: in-process, thread-safe and bounded."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Iterator

from buildmock.store.base import Record

#: Records kept per vendor and kind before the oldest are evicted.
DEFAULT_CAP = 10_000


class MemoryStore:
    """Records in ordered dicts; past ``cap`` records of a kind the oldest one is evicted."""

    def __init__(self, cap: int = DEFAULT_CAP) -> None:
        if cap < 1:
            raise ValueError("cap must be at least 1")
        self.cap = cap
        self._lock = threading.RLock()
        self._kinds: dict[str, OrderedDict[str, tuple[int, Record]]] = {}
        self._counters: dict[str, int] = {}
        self._evicted: dict[str, int] = {}

    def _table(self, kind: str) -> OrderedDict[str, tuple[int, Record]]:
        table = self._kinds.get(kind)
        if table is None:
            table = self._kinds[kind] = OrderedDict()
        return table

    def insert(self, kind: str, key: str, record: Record) -> int:
        """Add a record and return its sequence number."""
        with self._lock:
            table = self._table(kind)
            seq = self._counters[f"seq:{kind}"] = self._counters.get(f"seq:{kind}", 0) + 1
            table.pop(key, None)
            table[key] = (seq, record)
            while len(table) > self.cap:
                table.popitem(last=False)
                self._evicted[kind] = self._evicted.get(kind, 0) + 1
            return seq

    def replace(self, kind: str, key: str, record: Record) -> bool:
        """Replace a record in place."""
        with self._lock:
            table = self._table(kind)
            if key not in table:
                return False
            table[key] = (table[key][0], record)
            return True

    def get(self, kind: str, key: str) -> Record | None:
        """Look a record up by key."""
        table = self._kinds.get(kind)
        entry = table.get(key) if table is not None else None
        return entry[1] if entry else None

    def delete(self, kind: str, key: str) -> bool:
        """Remove a record."""
        with self._lock:
            return self._table(kind).pop(key, None) is not None

    def scan(
        self, kind: str, *, newest_first: bool = True, before: int | None = None
    ) -> Iterator[tuple[int, Record]]:
        """Iterate a snapshot of the records of ``kind``."""
        with self._lock:
            entries = list(self._table(kind).values())
        if newest_first:
            entries.reverse()
        for seq, record in entries:
            if before is None or seq < before:
                yield seq, record

    def next_value(self, counter: str) -> int:
        """Increment and return a named counter."""
        with self._lock:
            value = self._counters[counter] = self._counters.get(counter, 0) + 1
            return value

    def counts(self) -> dict[str, int]:
        """Records held per kind."""
        with self._lock:
            return {kind: len(table) for kind, table in self._kinds.items()}

    def evictions(self) -> dict[str, int]:
        """Records evicted per kind since the last clear."""
        with self._lock:
            return dict(self._evicted)

    def clear(self) -> None:
        """Drop everything."""
        with self._lock:
            self._kinds.clear()
            self._counters.clear()
            self._evicted.clear()
