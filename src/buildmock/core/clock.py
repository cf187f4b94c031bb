"""Injected clocks: the only source of "now" for lifecycles and timestamps."""

from __future__ import annotations

import threading
import time
from typing import Protocol

#: Where a manual clock starts: 2025-01-01T00:00:00Z. Fixed so that runs are byte-identical.
MANUAL_EPOCH = 1_735_689_600.0


class Clock(Protocol):
    """A source of the current time in unix seconds that tests and the control API can move."""

    def now(self) -> float:
        """Return the current time in unix seconds."""
        ...

    def advance(self, seconds: float) -> float:
        """Move the clock forward by ``seconds`` and return the new time."""
        ...


class ManualClock:
    """A clock frozen at a fixed epoch that moves only when told to."""

    def __init__(self, start: float = MANUAL_EPOCH) -> None:
        self._now = start
        self._lock = threading.Lock()

    def now(self) -> float:
        """Return the frozen time."""
        return self._now

    def advance(self, seconds: float) -> float:
        """Move time forward."""
        if seconds < 0:
            raise ValueError("a clock cannot go backwards")
        with self._lock:
            self._now += seconds
            return self._now


class RealClock:
    """Wall-clock time plus an offset that ``advance`` grows (to skip ahead while serving)."""

    def __init__(self) -> None:
        self._offset = 0.0
        self._lock = threading.Lock()

    def now(self) -> float:
        """Return wall-clock time plus the accumulated offset."""
        return time.time() + self._offset

    def advance(self, seconds: float) -> float:
        """Skip ahead by ``seconds``."""
        if seconds < 0:
            raise ValueError("a clock cannot go backwards")
        with self._lock:
            self._offset += seconds
        return self.now()


def make_clock(kind: str) -> Clock:
    """Build the clock named by ``--clock`` (``real`` or ``manual``)."""
    if kind == "manual":
        return ManualClock()
    if kind == "real":
        return RealClock()
    raise ValueError(f"unknown clock {kind!r}: expected 'real' or 'manual'")
