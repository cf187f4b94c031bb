"""The default store: in-process, thread-safe and bounded."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Hashable, Iterable, Iterator, Mapping
from typing import Any

from buildmock.store.base import Record

#: Records kept per vendor and kind before the least recently used are evicted.
DEFAULT_CAP = 10_000


class MemoryStore:
    """Records in ordered dicts; past ``cap`` records of a kind the least recently used goes.

    A record is used when it is inserted, read with ``get`` or replaced, so a build a client keeps
    polling survives any number of newer creates; listing does not count as use. Scans still see
    records in insertion (sequence) order.

    ``scan(..., where={field: value})`` is served from an index on ``field`` (built on the first
    such scan of the kind, then kept up to date by every write): listing one project's builds
    touches only that project's records, not the whole (capped) table.

    ``version`` grows with every write (and a clear), so a reader can tell that nothing changed
    since it last looked; while ``reads`` is a list, ``get`` notes each record it finds there, and
    :meth:`touch` replays those notes (the request path's answer memo, ``server/request_path.py``).
    """

    def __init__(self, cap: int = DEFAULT_CAP) -> None:
        if cap < 1:
            raise ValueError("cap must be at least 1")
        self.cap = cap
        self._lock = threading.RLock()
        self._kinds: dict[str, OrderedDict[str, tuple[int, Record]]] = {}
        # kind -> keys, least recently used first
        self._recency: dict[str, OrderedDict[str, None]] = {}
        self._counters: dict[str, int] = {}
        self._evicted: dict[str, int] = {}
        # kind -> field -> value -> keys in insertion (= sequence) order
        self._indexes: dict[str, dict[str, dict[Hashable, dict[str, None]]]] = {}
        self.version = 0
        self.reads: list[tuple[str, str]] | None = None

    def _table(self, kind: str) -> OrderedDict[str, tuple[int, Record]]:
        table = self._kinds.get(kind)
        if table is None:
            table = self._kinds[kind] = OrderedDict()
            self._recency[kind] = OrderedDict()
        return table

    def insert(self, kind: str, key: str, record: Record) -> int:
        """Add a record and return its sequence number."""
        with self._lock:
            self.version += 1
            table = self._table(kind)
            counter = "seq:" + kind
            seq = self._counters[counter] = self._counters.get(counter, 0) + 1
            old = table.pop(key, None)
            recency = self._recency[kind]
            if old is not None:
                self._unindex(kind, key, old[1])
                recency.move_to_end(key)
            else:
                recency[key] = None  # a new key: last, as in the table
            table[key] = (seq, record)
            self._index(kind, key, record)
            while len(table) > self.cap:
                gone, _ = recency.popitem(last=False)
                _, dropped = table.pop(gone)
                self._unindex(kind, gone, dropped)
                self._evicted[kind] = self._evicted.get(kind, 0) + 1
            return seq

    def replace(self, kind: str, key: str, record: Record) -> bool:
        """Replace a record in place."""
        with self._lock:
            table = self._table(kind)
            if key not in table:
                return False
            self.version += 1
            seq, old = table[key]
            for field in self._indexes.get(kind, {}):
                if _value(old, field) != _value(record, field):
                    # The record moves to another group at its old place: rebuild on next use.
                    del self._indexes[kind][field]
                    break
            table[key] = (seq, record)
            self._recency[kind].move_to_end(key)
            return True

    def get(self, kind: str, key: str) -> Record | None:
        """Look a record up by key (which makes it the most recently used)."""
        # Without the lock: each step is one C call the GIL keeps whole, and a key another thread
        # evicts between the two is simply no longer there to move (the record read was current).
        table = self._kinds.get(kind)
        entry = table.get(key) if table is not None else None
        if entry is None:
            return None
        try:  # noqa: SIM105 (contextlib.suppress costs more than the lock this saves)
            self._recency[kind].move_to_end(key)
        except KeyError:
            pass
        if self.reads is not None:
            self.reads.append((kind, key))
        return entry[1]

    def touch(self, reads: Iterable[tuple[str, str]]) -> None:
        """Make these records the most recently used, in this order, as ``get`` would."""
        for kind, key in reads:
            try:  # noqa: SIM105 (as in ``get``)
                self._recency[kind].move_to_end(key)
            except KeyError:
                pass

    def delete(self, kind: str, key: str) -> bool:
        """Remove a record."""
        with self._lock:
            old = self._table(kind).pop(key, None)
            if old is None:
                return False
            self.version += 1
            del self._recency[kind][key]
            self._unindex(kind, key, old[1])
            return True

    def scan(
        self,
        kind: str,
        *,
        newest_first: bool = True,
        before: int | None = None,
        where: Mapping[str, Any] | None = None,
    ) -> Iterator[tuple[int, Record]]:
        """Iterate a snapshot of the records of ``kind`` (only those whose fields equal ``where``)."""
        with self._lock:
            table = self._table(kind)
            if where:
                field, value = next(iter(where.items()))
                keys = list(self._group(kind, field, value))
                entries = [table[k] for k in keys]
                rest = {f: v for f, v in where.items() if f != field}
                if rest:
                    entries = [
                        e
                        for e in entries
                        if all(_value(e[1], f) == _hashable(v) for f, v in rest.items())
                    ]
            else:
                entries = list(table.values())
        if newest_first:
            entries.reverse()
        for seq, record in entries:
            if before is None or seq < before:
                yield seq, record

    def next_value(self, counter: str) -> int:
        """Increment and return a named counter."""
        with self._lock:
            self.version += 1
            value = self._counters[counter] = self._counters.get(counter, 0) + 1
            return value

    def next_values(self, counter: str, count: int) -> int:
        """Take the next ``count`` (>= 1) values of a named counter at once; the first of them."""
        if count < 1:
            raise ValueError("next_values() takes at least one value")
        with self._lock:
            self.version += 1
            last = self._counters[counter] = self._counters.get(counter, 0) + count
            return last - count + 1

    def counts(self) -> dict[str, int]:
        """Records held per kind."""
        with self._lock:
            return {kind: len(table) for kind, table in self._kinds.items()}

    def evictions(self) -> dict[str, int]:
        """Records evicted per kind since the last clear."""
        with self._lock:
            return dict(self._evicted)

    def dump(self) -> dict[str, Any]:
        """Every record (in sequence order) and counter, as JSON-able data (state export)."""
        with self._lock:
            return {
                "records": {
                    kind: [[key, seq, record] for key, (seq, record) in table.items()]
                    for kind, table in self._kinds.items()
                },
                "counters": dict(self._counters),
            }

    def load(self, data: Mapping[str, Any]) -> None:
        """Replace everything with what :meth:`dump` gave (the cap still applies)."""
        with self._lock:
            self.clear()
            for kind, rows in data.get("records", {}).items():
                table = self._table(kind)
                for key, seq, record in sorted(rows, key=lambda row: row[1])[-self.cap :]:
                    table[key] = (seq, record)
                    self._recency[kind][key] = None
            self._counters.update(data.get("counters", {}))
            self.version += 1  # the clear counted, and so does the end of the load

    def clear(self) -> None:
        """Drop everything."""
        with self._lock:
            self.version += 1
            self._kinds.clear()
            self._recency.clear()
            self._counters.clear()
            self._evicted.clear()
            self._indexes.clear()

    # -- secondary indexes (for ``scan(where=...)``) ---------------------------------------

    def _group(self, kind: str, field: str, value: Any) -> dict[str, None]:
        """The keys of ``kind`` whose ``field`` is ``value``, in sequence order (lock held)."""
        fields = self._indexes.setdefault(kind, {})
        index = fields.get(field)
        if index is None:
            index = fields[field] = {}
            for key, (_, record) in self._table(kind).items():
                index.setdefault(_value(record, field), {})[key] = None
        return index.get(_hashable(value), {})

    def _index(self, kind: str, key: str, record: Record) -> None:
        indexes = self._indexes.get(kind)
        for field, index in indexes.items() if indexes else ():
            index.setdefault(_value(record, field), {})[key] = None

    def _unindex(self, kind: str, key: str, record: Record) -> None:
        for field, index in self._indexes.get(kind, {}).items():
            value = _value(record, field)
            group = index.get(value)
            if group is not None:
                group.pop(key, None)
                if not group:
                    del index[value]


def _hashable(value: Any) -> Hashable:
    """An index key for any JSON value (lists and objects by their repr)."""
    return value if isinstance(value, Hashable) else repr(value)


def _value(record: Record, field: str) -> Hashable:
    return _hashable(record.get(field))
