"""The pure transition table and timelines."""

from __future__ import annotations

import math

import pytest

from buildmock.core.lifecycle import IllegalTransition, Lifecycle, Timeline, span_at

FLOW = Lifecycle(
    phases=("queued", "running"),
    outcomes=("success", "failure"),
    durations={"queued": 2.0, "running": 10.0},
    actions={"cancel": {"queued": "cancelled", "running": "cancelled"}},
)


def test_plan_lays_phases_end_to_end() -> None:
    timeline = FLOW.plan(100.0, "success")
    assert timeline.marks == (("queued", 100.0), ("running", 102.0), ("success", 112.0))


@pytest.mark.parametrize(
    ("now", "state"),
    [
        (99.0, "queued"),
        (100.0, "queued"),
        (101.9, "queued"),
        (102.0, "running"),
        (112.0, "success"),
    ],
)
def test_state_is_derived_from_now(now: float, state: str) -> None:
    assert FLOW.plan(100.0, "success").state_at(now) == state


def test_speed_scales_durations() -> None:
    assert FLOW.plan(0.0, "failure", speed=2.0).end == 6.0


def test_stop_after_and_skip() -> None:
    assert FLOW.plan(0.0, "failure", stop_after="queued").marks == (
        ("queued", 0.0),
        ("failure", 2.0),
    )
    assert FLOW.plan(0.0, "success", skip=("queued",)).marks == (
        ("running", 0.0),
        ("success", 10.0),
    )


def test_unknown_outcome_is_rejected() -> None:
    with pytest.raises(ValueError):
        FLOW.plan(0.0, "exploded")


def test_action_cuts_the_timeline_at_now() -> None:
    cancelled = FLOW.apply(FLOW.plan(0.0, "success"), "cancel", 5.0)
    assert cancelled.marks == (("queued", 0.0), ("running", 2.0), ("cancelled", 5.0))
    assert cancelled.state_at(4.0) == "running"
    assert cancelled.state_at(50.0) == "cancelled"


def test_action_from_a_terminal_state_is_refused() -> None:
    with pytest.raises(IllegalTransition) as caught:
        FLOW.apply(FLOW.plan(0.0, "success"), "cancel", 20.0)
    assert caught.value.status == 409
    assert caught.value.state == "success"


def test_timeline_round_trips_through_json() -> None:
    timeline = FLOW.plan(1.5, "success")
    assert Timeline.from_json(timeline.to_json()) == timeline


def test_entered_reports_only_what_has_happened() -> None:
    timeline = FLOW.plan(0.0, "success")
    assert timeline.entered("running", 1.0) is None
    assert timeline.entered("running", 3.0) == 2.0
    assert FLOW.is_terminal("cancelled") and FLOW.is_terminal("success")
    assert not FLOW.is_terminal("running")


def test_span_at_is_the_two_change_times_around_now() -> None:
    times = [10.0, 20.0, 30.0]
    assert span_at(times, 5) == (-math.inf, 10.0)
    assert span_at(times, 10) == (10.0, 20.0)  # a change time starts its span
    assert span_at(times, 29.9) == (20.0, 30.0)
    assert span_at(times, 30) == (30.0, math.inf)
    assert span_at([], 1) == (-math.inf, math.inf)
