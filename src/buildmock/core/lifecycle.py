"""Build lifecycles as pure transition tables over an injected clock.

A record stores a :class:`Timeline` (the states it will pass through and when it enters each); the
status shown to a client is derived from it whenever the record is read. Nothing runs in the
background, so every store backend behaves the same and a manual clock makes runs reproducible.
"""

from __future__ import annotations

import math
from bisect import bisect_right
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from buildmock.core.errors import ApiError


class IllegalTransition(ApiError):
    """An action was asked of a record whose current state does not allow it."""

    def __init__(self, action: str, state: str, status: int = 409) -> None:
        super().__init__(status, f"cannot {action} while {state}")
        self.action = action
        self.state = state


def span_at(times: Sequence[float], now: float) -> tuple[float, float]:
    """The two consecutive change ``times`` (sorted) around ``now``: ``low <= now < high``, open
    ends as infinities. A rendering that changes only at those times is the same all through it."""
    index = bisect_right(times, now)
    low = times[index - 1] if index else -math.inf
    high = times[index] if index < len(times) else math.inf
    return low, high


@dataclass(frozen=True)
class Timeline:
    """The states a record passes through, each with the unix time it is entered, in order."""

    marks: tuple[tuple[str, float], ...]

    def state_at(self, now: float) -> str:
        """The state at ``now`` (the first state if ``now`` is before the record began)."""
        current = self.marks[0][0]
        for state, at in self.marks:
            if at > now:
                break
            current = state
        return current

    def entered(self, state: str, now: float) -> float | None:
        """When ``state`` was entered, or ``None`` if it has not been entered by ``now``."""
        for name, at in self.marks:
            if name == state and at <= now:
                return at
        return None

    def reached(self, now: float) -> list[tuple[str, float]]:
        """The marks already passed at ``now``."""
        return [(s, at) for s, at in self.marks if at <= now]

    @property
    def start(self) -> float:
        """When the first state is entered."""
        return self.marks[0][1]

    @property
    def end(self) -> float:
        """When the final state is entered."""
        return self.marks[-1][1]

    @property
    def final(self) -> str:
        """The state the timeline ends in."""
        return self.marks[-1][0]

    def to_json(self) -> list[list[str | float]]:
        """A JSON-able form, for stores."""
        return [[s, at] for s, at in self.marks]

    @classmethod
    def from_json(cls, data: Iterable[Sequence[str | float]]) -> Timeline:
        """Inverse of :meth:`to_json`."""
        return cls(tuple((str(s), float(at)) for s, at in data))


@dataclass(frozen=True)
class Lifecycle:
    """A vendor's lifecycle: ordered working phases, terminal outcomes and manual actions.

    ``actions`` maps an action name (``cancel``, ``approve``…) to ``{from_state: to_state}``;
    an action asked from any other state raises :class:`IllegalTransition`.
    """

    phases: tuple[str, ...]
    outcomes: tuple[str, ...]
    durations: Mapping[str, float]
    actions: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    refusal_status: int = 409

    def plan(
        self,
        start: float,
        outcome: str,
        *,
        speed: float = 1.0,
        stop_after: str | None = None,
        skip: Collection[str] = (),
        scale: Mapping[str, float] | None = None,
    ) -> Timeline:
        """Lay out the timeline of a new record that will end in ``outcome``.

        ``stop_after`` ends the working phases early (a failure during that phase), ``skip`` leaves
        phases out and ``scale`` stretches individual phases (per-record jitter drawn by the caller).
        """
        if outcome not in self.outcomes:
            raise ValueError(f"unknown outcome {outcome!r}; expected one of {self.outcomes}")
        if speed <= 0:
            raise ValueError("speed must be positive")
        scales, durations = scale or {}, self.durations
        marks: list[tuple[str, float]] = []
        at = start
        for phase in self.phases:
            if phase in skip:
                continue
            marks.append((phase, at))
            at += durations.get(phase, 0.0) * scales.get(phase, 1.0) / speed
            if phase == stop_after:
                break
        marks.append((outcome, at))
        return Timeline(tuple(marks))

    def is_terminal(self, state: str) -> bool:
        """Whether ``state`` is an end state (an outcome or the result of an action)."""
        return state in self.outcomes or any(
            state == to and state not in self.phases
            for table in self.actions.values()
            for to in table.values()
        )

    def allowed(self, action: str, state: str) -> bool:
        """Whether ``action`` may be taken from ``state``."""
        return state in self.actions.get(action, {})

    def apply(self, timeline: Timeline, action: str, now: float) -> Timeline:
        """Take ``action`` at ``now``: the timeline is cut there and ends in the action's state."""
        state = timeline.state_at(now)
        table = self.actions.get(action, {})
        if state not in table:
            raise IllegalTransition(action, state, self.refusal_status)
        kept = [(s, at) for s, at in timeline.marks if at <= now]
        return Timeline((*kept, (table[state], now)))
