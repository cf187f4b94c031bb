"""The storage protocol every backend implements."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any, Protocol

Record = dict[str, Any]


class Store(Protocol):
    """Records of one vendor, grouped by kind (``build``, ``run``…), kept in insertion order.

    Records are JSON-able dicts. A record returned by :meth:`get` or :meth:`scan` must be treated
    as read-only: change it by passing a new dict to :meth:`replace`.
    """

    def insert(self, kind: str, key: str, record: Record) -> int:
        """Add a record under a new key and return its sequence number (evicting the least recently used at the cap)."""
        ...

    def replace(self, kind: str, key: str, record: Record) -> bool:
        """Replace an existing record, keeping its place; False if there is none."""
        ...

    def get(self, kind: str, key: str) -> Record | None:
        """The record stored under ``key``, or None."""
        ...

    def delete(self, kind: str, key: str) -> bool:
        """Remove a record; False if there was none."""
        ...

    def scan(
        self,
        kind: str,
        *,
        newest_first: bool = True,
        before: int | None = None,
        where: Mapping[str, Any] | None = None,
    ) -> Iterator[tuple[int, Record]]:
        """Iterate ``(sequence, record)`` pairs, optionally only those older than ``before`` and
        those whose top-level fields equal ``where`` (a backend may index them)."""
        ...

    def next_value(self, counter: str) -> int:
        """The next value (1, 2, …) of a named counter, for vendors with integer ids."""
        ...

    def next_values(self, counter: str, count: int) -> int:
        """Take the next ``count`` (>= 1) values of a named counter at once; the first of them."""
        ...

    def counts(self) -> dict[str, int]:
        """How many records each kind holds."""
        ...

    def dump(self) -> dict[str, Any]:
        """Every record and counter as JSON-able data (``GET /__buildmock/snapshot``)."""
        ...

    def load(self, data: Mapping[str, Any]) -> None:
        """Replace everything with what :meth:`dump` gave."""
        ...

    def clear(self) -> None:
        """Forget every record and counter."""
        ...
