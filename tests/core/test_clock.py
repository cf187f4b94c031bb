"""Injected clocks."""

from __future__ import annotations

import time

import pytest

from buildmock.core.clock import MANUAL_EPOCH, ManualClock, RealClock, make_clock


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
