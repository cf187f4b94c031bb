"""Garbage collections paced by the requests served, not by CPython's allocation count.

CPython starts a young collection when allocations minus deallocations of container objects pass
the first threshold. A mock whose store is at its cap frees an old record for every new one, so that
difference hovers near zero while every new record still joins the young generation: under a steady
stream of creates the young generation grew to ~500 000 objects (one collection every ~10 000
Stainless creates) and walking it took 200-290 ms, every 32 connections waiting — the create p99.
Collecting after every ``every`` vendor requests that may write (``layers.Dispatch``: POST, PUT,
PATCH, DELETE) keeps each pause near a millisecond: the same objects are walked, in small steps
(bench/RESULTS.md, "The creates' p99"). Reads are not counted: they store nothing that outlives
them (a GET-only stream left CPython's own trigger to collect its garbage, ~1 µs a request less).
"""

from __future__ import annotations

import gc
from collections.abc import Callable
from dataclasses import dataclass, field

#: Requests that may write served between two paced collections.
EVERY = 64

#: A full collection is considered after as many paced middle collections as the collector's third
#: threshold (``run.tune_gc``: 1 000, ~320 000 requests), and run only when the oldest generation has
#: grown by a quarter since the last look that collected (CPython's own rule against walking a
#: large, settled heap over and over: a store at its cap replaces, it does not grow). A full
#: collection walks every stored record (~130 ms for Cocktail's 10 000 builds), so it stays rare.
GROWTH = 1.25


def _oldest_size() -> int:
    return len(gc.get_objects(2))


@dataclass
class Pacer:
    """Runs a collection after every ``every`` requests: young, middle or (rarely) full."""

    every: int = EVERY
    collect: Callable[[int], object] = gc.collect
    counts: Callable[[], tuple[int, int, int]] = gc.get_count
    thresholds: Callable[[], tuple[int, ...]] = gc.get_threshold
    oldest_size: Callable[[], int] = _oldest_size
    enabled: Callable[[], bool] = gc.isenabled
    _left: int = field(default=0, init=False)
    _middles: int = field(default=0, init=False)
    _oldest_base: int | None = field(default=None, init=False)

    def __post_init__(self) -> None:
        if self.every < 1:
            raise ValueError("every must be at least 1")
        self._left = self.every

    def served(self) -> None:
        """Count one request served; every ``every``-th runs the collection due."""
        self._left -= 1
        if self._left > 0:
            return
        self._left = self.every
        if self.enabled():
            generation = self.due()
            self.collect(generation)
            if generation == 2:
                self._oldest_base = self.oldest_size()

    def due(self) -> int:
        """The generation to collect now: the middle one once its threshold is passed (as CPython
        decides), the oldest only every third-threshold middles and when it has grown by ``GROWTH``
        since the last full collection."""
        thresholds = self.thresholds()
        if self.counts()[1] < thresholds[1]:
            return 0
        self._middles += 1
        if self._middles < thresholds[2]:
            return 1
        self._middles = 0
        size = self.oldest_size()
        if self._oldest_base is None:
            self._oldest_base = size  # the first look sets the mark: a settled heap is never walked
            return 1
        return 2 if size > self._oldest_base * GROWTH else 1
