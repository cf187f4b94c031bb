"""``engine.quiet_collector``: the run's collector settings, and the process's back after it."""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator

import pytest

from buildmock.contract import engine
from buildmock.contract.engine import FULL_COLLECTION_EVERY, declare_frozen_heap, quiet_collector


@pytest.fixture
def unfrozen() -> Iterator[None]:
    """A process that froze nothing and says nothing of it (the suite's workers freeze their heap
    and say so: tests/conftest.py)."""
    said = engine._process_froze
    gc.unfreeze()
    engine._process_froze = None
    yield
    gc.freeze()
    engine._process_froze = said


@pytest.mark.usefixtures("unfrozen")
def test_a_run_freezes_its_starting_heap_and_collects_fully_less_often() -> None:
    before = gc.get_threshold()
    frozen_before = gc.get_freeze_count()
    with quiet_collector():
        assert gc.get_threshold() == (before[0], before[1], FULL_COLLECTION_EVERY)
        assert gc.get_freeze_count() > frozen_before
        frozen_in_run = gc.get_freeze_count()
        young = [[i] for i in range(1000)]  # allocated in the run: collected as usual, not frozen
        # The counts allow a few objects either way: a thread of an earlier test (a server starting)
        # may freeze its own, and a frozen object that dies (a cache entry replaced) leaves the count;
        # freezing the young lists would add a thousand.
        assert abs(gc.get_freeze_count() - frozen_in_run) < len(young) // 2
        with quiet_collector():  # a nested run changes nothing and restores nothing
            assert gc.get_threshold() == (before[0], before[1], FULL_COLLECTION_EVERY)
            assert abs(gc.get_freeze_count() - frozen_in_run) < len(young) // 2
        assert gc.get_threshold() == (before[0], before[1], FULL_COLLECTION_EVERY)
    assert gc.get_threshold() == before
    assert gc.get_freeze_count() < frozen_before + len(young)  # the run's frozen heap is unfrozen


@pytest.mark.usefixtures("unfrozen")
def test_the_settings_come_back_after_a_run_that_raised_and_across_threads() -> None:
    before = gc.get_threshold()
    entered, release = threading.Event(), threading.Event()

    def other_run() -> None:
        with quiet_collector():
            entered.set()
            release.wait(10)

    thread = threading.Thread(target=other_run)
    thread.start()
    assert entered.wait(10)
    try:
        with quiet_collector():
            raise RuntimeError("the run broke")
    except RuntimeError:
        pass
    assert gc.get_threshold() == (
        before[0],
        before[1],
        FULL_COLLECTION_EVERY,
    )  # the other run still needs it
    release.set()
    thread.join(10)
    assert gc.get_threshold() == before
    assert gc.get_freeze_count() < 1000  # unfrozen (a thread of an earlier test may freeze a few)


def test_a_heap_the_process_froze_itself_stays_frozen() -> None:
    gc.freeze()
    frozen_before = gc.get_freeze_count()
    assert frozen_before > 0
    with quiet_collector():
        live = [[i] for i in range(100)]
    assert gc.get_freeze_count() >= frozen_before and len(live) == 100


def test_a_process_that_says_its_heap_is_frozen_is_believed_without_counting(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    said = engine._process_froze
    counted: list[int] = []
    monkeypatch.setattr(gc, "get_freeze_count", lambda: counted.append(1) or 1)
    try:
        declare_frozen_heap()
        with quiet_collector():
            pass
        assert counted == []  # believed: the frozen heap was not walked
        declare_frozen_heap(False)
        unfreezes: list[int] = []
        monkeypatch.setattr(gc, "unfreeze", lambda: unfreezes.append(1))
        with quiet_collector():
            pass
        assert counted == [] and unfreezes == [1]  # said unfrozen: what the run froze is unfrozen
    finally:
        engine._process_froze = said
