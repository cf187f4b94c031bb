"""Stainless's domain: the shortcuts a create takes give exactly what the general code gives."""

from __future__ import annotations

import gc
import math
from collections.abc import Callable
from typing import Any

import orjson
import pytest

from buildmock.domain import stainless
from buildmock.synth import Synth
from buildmock.synth.factory import Draws

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


@pytest.mark.parametrize("speed", [1.0, 40.0, 1e9])
def test_a_targets_timeline_is_the_lifecycles_plan(
    speed: float, monkeypatch: pytest.MonkeyPatch
) -> None:
    """plan_build lays each timeline out inline: the same floats TARGET.plan gives the same factors."""
    factors: list[float] = []
    uniform_of = Draws.uniform_of

    def recorded(self: Draws, low: float, high: float) -> Callable[[], float]:
        draw = uniform_of(self, low, high)

        def factor() -> float:
            factors.append(draw())
            return factors[-1]

        return factor

    monkeypatch.setattr(Draws, "uniform_of", recorded)
    for record in _records(speed):
        for target in record["targets"].values():
            scale = dict(zip(stainless.TARGET.phases, factors[:3], strict=True))
            del factors[:3]
            skip = () if target[0] in stainless.GENERATED else ("postgen",)
            plan = stainless.TARGET.plan(T0, "completed", speed=speed, scale=scale, skip=skip)
            assert stainless.target_marks(target) == list(plan.marks)
    assert not factors  # three factors a target, each one accounted for


def test_a_stored_build_holds_no_container_the_collector_keeps_walking() -> None:
    """Its targets are tuples of atoms: untracked after the first collection that sees them."""
    records = _records(1.0)
    gc.collect()
    for record in records:
        assert all(not gc.is_tracked(target) for target in record["targets"].values())


def test_the_document_form_round_trips_and_is_the_documented_shape() -> None:
    for record in _records(40.0):
        document = stainless.document_form(record)
        assert stainless.stored_form(orjson.loads(orjson.dumps(document))) == record
        for name, target in document["targets"].items():
            assert list(target) == [
                "marks", "conclusion", "test", "sha", "tree", "changes", "runs", "merge_pr"
            ]  # fmt: skip
            states = [state for state, _ in target["marks"]]
            generated = target["conclusion"] in stainless.GENERATED
            assert states == ["not_started", "codegen", *(["postgen"] * generated), "completed"]
            assert stainless.output_commit(record, name) == (
                stainless.output_commit(stainless.stored_form(document), name)
            )


@pytest.mark.parametrize(
    "spoil",
    [
        lambda t: t.update(marks=[["codegen", T0], ["not_started", T0], ["completed", T0]]),
        lambda t: t.update(marks=[["not_started", T0]]),
        lambda t: t.update(runs=[1, 2]),
        lambda t: t.pop("sha"),
        lambda t: t.update(changes=None),
    ],
)
def test_the_stored_form_refuses_a_target_it_could_not_have_written(spoil: Any) -> None:
    document = orjson.loads(orjson.dumps(stainless.document_form(_records(1.0)[0])))
    spoil(next(iter(document["targets"].values())))
    with pytest.raises((KeyError, TypeError, ValueError)):
        stainless.stored_form(document)
