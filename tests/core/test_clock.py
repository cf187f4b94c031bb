"""Injected clocks."""

from __future__ import annotations

import time

import pytest

from buildmock.core.clock import MANUAL_EPOCH, MAX_TIME, ManualClock, RealClock, make_clock


def test_manual_clock_stands_still_until_advanced() -> None:
    clock = ManualClock()
    assert clock.now() == MANUAL_EPOCH
    assert clock.now() == MANUAL_EPOCH
    assert clock.advance(30) == MANUAL_EPOCH + 30


def test_clocks_refuse_to_go_backwards() -> None:
    with pytest.raises(ValueError):
        ManualClock().advance(-1)
    with pytest.raises(ValueError):
        RealClock().advance(-1)


def test_real_clock_follows_wall_time_plus_offset() -> None:
    clock = RealClock()
    assert abs(clock.now() - time.time()) < 1
    clock.advance(3600)
    assert clock.now() - time.time() > 3599


def test_make_clock_by_name() -> None:
    assert isinstance(make_clock("manual"), ManualClock)
    assert isinstance(make_clock("real"), RealClock)
    with pytest.raises(ValueError):
        make_clock("sundial")


@pytest.mark.parametrize("clock_type", [ManualClock, RealClock])
@pytest.mark.parametrize("seconds", [float("nan"), float("inf"), -1.0, 1e12])
def test_clocks_refuse_what_they_cannot_represent(clock_type: type, seconds: float) -> None:
    clock = clock_type()
    before = clock.now()
    with pytest.raises(ValueError):
        clock.advance(seconds)
    assert abs(clock.now() - before) < 5  # nothing moved (the real clock only by wall time)


def test_clock_stops_short_of_max_time() -> None:
    clock = ManualClock(MAX_TIME - 10)
    assert clock.advance(10) == MAX_TIME
    with pytest.raises(ValueError, match="3000-01-01"):
        clock.advance(0.5)
    assert clock.now() == MAX_TIME
