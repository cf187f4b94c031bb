"""Stainless's domain: the shortcuts a create takes give exactly what the general code gives."""

from __future__ import annotations

import gc
import math
from typing import Any

import orjson
import pytest

from buildmock.core import ids
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


@pytest.mark.parametrize("speed", [1.0, 40.0, 1e9])
def test_a_build_draws_what_the_drawers_draw_and_plans_what_the_lifecycle_plans(
    speed: float,
) -> None:
    """plan_build writes its draws and each target's timeline out inline: a replay of the same
    stream through ``Draws``' drawers and ``TARGET.plan`` gives every stored value."""
    replay = Synth(4, "stainless")
    stainless.synth_project(replay, "acme-api")  # as _records() does: a derived synth, no draws
    for record in _records(speed):
        with replay.batch() as draw:
            assert record["id"] == draw.token(ids.BASE32, 26, "bui_")
            victim = draw.choice(tuple(record["targets"]))
            factor, run = draw.uniform_of(0.7, 1.3), draw.integer_of(10**9, 10**10 - 1)
            change = draw.integer_of(1, 900)
            for name, target in record["targets"].items():
                harmed = name == victim and record["outcome"] != "success"
                assert (tuple(target[:2]) != ("success", "success")) == harmed
                scale = {phase: factor() for phase in stainless.TARGET.phases}
                generated = target[0] in stainless.GENERATED
                skip = () if generated else ("postgen",)
                plan = stainless.TARGET.plan(T0, "completed", speed=speed, scale=scale, skip=skip)
                assert stainless.target_marks(target) == list(plan.marks)
                assert list(target[7:10]) == [run(), run(), run()]
                assert target[2:4] == (draw.sha(), draw.sha())
                noop = target[0] == "noop"
                assert target[4:6] == ((0, 0) if noop else (change(), change()))
                conflict = target[0] in ("merge_conflict", "upstream_merge_conflict")
                assert target[6] == (draw.integer(1, 900) if conflict else None)
            assert record["config_commit"] == draw.sha()


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
        lambda t: t.update(marks=[["not_started", T0], ["codegen", T0 - 1], ["completed", T0]]),
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
