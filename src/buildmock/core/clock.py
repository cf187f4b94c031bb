"""Injected clocks: the only source of "now" for lifecycles and timestamps."""

from __future__ import annotations

import math
import threading
import time
from typing import Protocol

#: Where a manual clock starts: 2025-01-01T00:00:00Z. Fixed so that runs are byte-identical.
MANUAL_EPOCH = 1_735_689_600.0
#: The latest time a clock may show: 3000-01-01T00:00:00Z. Timelines planned from it (even at the
#: slowest ``--speed``) stay far inside what every date type the vendors render can hold.
MAX_TIME = 32_503_680_000.0


def checked_advance(now: float, seconds: float) -> float:
    """The time ``seconds`` after ``now``; ValueError unless finite, not negative, and the result
    is no later than :data:`MAX_TIME`."""
    if not isinstance(seconds, int | float) or not math.isfinite(seconds):
        raise ValueError("a clock advances by a finite number of seconds")
    if seconds < 0:
        raise ValueError("a clock cannot go backwards")
    if now + seconds > MAX_TIME:
        raise ValueError("a clock cannot pass 3000-01-01T00:00:00Z")
    return now + seconds


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
        """Move time forward (see :func:`checked_advance` for what is refused)."""
        with self._lock:
            self._now = checked_advance(self._now, seconds)
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
        """Skip ahead by ``seconds`` (see :func:`checked_advance` for what is refused)."""
        with self._lock:
            checked_advance(self.now(), seconds)
            self._offset += seconds
        return self.now()


def make_clock(kind: str) -> Clock:
    """Build the clock named by ``--clock`` (``real`` or ``manual``)."""
    if kind == "manual":
        return ManualClock()
    if kind == "real":
        return RealClock()
    raise ValueError(f"unknown clock {kind!r}: expected 'real' or 'manual'")
