"""Stainless's domain: the shortcuts a create takes give exactly what the general code gives."""

from __future__ import annotations

import math
from typing import Any

import orjson
import pytest

from buildmock.domain import stainless
from buildmock.synth import Synth

T0 = 1_735_689_600.0  # 2025-01-01T00:00:00Z


def _records(speed: float) -> list[dict[str, Any]]:
    """Builds of every outcome, with the project's targets and with a target list of one."""
    synth = Synth(4, "stainless")
    project = stainless.synth_project(synth, "acme-api")
    return [
        stainless.plan_build(
            synth,
            project,
            now=T0,
            speed=speed,
            revision="main",
            branch="main",
            targets=targets,
            outcome=outcome,
        )
        for outcome in stainless.OUTCOMES
        for targets in (project.targets, ("go",))
    ]


def _general(record: dict[str, Any], now: float, monkeypatch: pytest.MonkeyPatch) -> Any:
    with monkeypatch.context() as patched:
        patched.setattr(stainless, "unstarted", lambda record, now: False)
        return stainless.render_build(record, now)


@pytest.mark.parametrize("speed", [1.0, 40.0, 1e9])
def test_an_unstarted_build_renders_as_the_general_rendering_does(
    speed: float, monkeypatch: pytest.MonkeyPatch
) -> None:
    taken = 0
    for record in _records(speed):
        # The first change of any step: the earliest time the general rendering moves on (at
        # 1e9 times real speed every step is over the moment it starts: no time is left between).
        first = min((t for t in stainless.change_times(record) if t > T0), default=T0)
        times = [T0 - 1, T0, T0 + 1e-6, math.nextafter(first, 0), first, first + 0.5, T0 + 600]
        for now in times:
            shortcut = stainless.unstarted(record, now)
            taken += shortcut
            assert shortcut == (now < first)  # taken exactly until something moves
            assert stainless.render_build(record, now) == _general(record, now, monkeypatch)
    assert taken  # the shortcut is exercised


def test_an_unstarted_rendering_is_new_each_time() -> None:
    record = _records(1.0)[0]
    first = stainless.render_build(record, T0)
    first["targets"]["python"]["commit"]["status"] = "changed by a caller"
    assert stainless.render_build(record, T0)["targets"]["python"]["commit"] == {
        "status": "not_started"
    }


@pytest.mark.parametrize("speed", [1.0, 1e9])
def test_an_encoded_rendering_is_the_same_json(speed: float) -> None:
    for record in _records(speed):
        for now in (T0, T0 + 0.5, T0 + 3, T0 + 600):
            plain = stainless.render_build(record, now)
            assert orjson.dumps(stainless.render_build(record, now, encoded=True)) == orjson.dumps(
                plain
            )
