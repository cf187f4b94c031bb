"""Stainless's domain: the shortcuts a create takes give exactly what the general code gives."""

from __future__ import annotations

import gc
import math
import re
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
            factor = draw.uniform_of(0.7, 1.3)
            for name, target in record["targets"].items():
                harmed = name == victim and record["outcome"] != "success"
                assert (tuple(target[:2]) != ("success", "success")) == harmed
                scale = {phase: factor() for phase in stainless.TARGET.phases}
                generated = target[0] in stainless.GENERATED
                skip = () if generated else ("postgen",)
                plan = stainless.TARGET.plan(T0, "completed", speed=speed, scale=scale, skip=skip)
                assert stainless.target_marks(target) == list(plan.marks)
                assert len(target) == 6  # the details are derived, not stored
            assert record["config_commit"] == draw.sha()
            assert record["details"] == draw.rng.getrandbits(64)


def _all_details() -> list[tuple[dict[str, Any], str, stainless.Details]]:
    return [
        (record, name, stainless.details(record, name))
        for record in _records(1.0)
        for name in record["targets"]
    ]


def test_the_details_are_a_targets_own_and_well_formed() -> None:
    found = _all_details()
    for record, name, (sha, tree, additions, deletions, merge_pr, *runs) in found:
        assert stainless.details(record, name) == (sha, tree, additions, deletions, merge_pr, *runs)
        assert re.fullmatch("[0-9a-f]{40}", sha) and re.fullmatch("[0-9a-f]{40}", tree)
        conclusion = record["targets"][name][0]
        if conclusion == "noop":
            assert (additions, deletions) == (0, 0)
        else:
            assert 1 <= additions <= 900 and 1 <= deletions <= 900
        conflict = conclusion in ("merge_conflict", "upstream_merge_conflict")
        assert (merge_pr is not None) == conflict
        assert merge_pr is None or 1 <= merge_pr <= 900
        assert len(runs) == len(stainless.CHECKS) and all(10**9 <= r < 10**10 for r in runs)
    # Every target of every build its own: no SHA, tree or run id repeats.
    shas = [value for _, _, d in found for value in (d[0], d[1], *d[5:])]
    assert len(set(shas)) == len(shas) == 5 * len(found)
    # What the details come from decides them: the draw and the target's name, nothing else.
    record, name, detail = found[0]
    assert stainless.details({**record, "id": "bui_other", "created_at": 0.0}, name) == detail
    assert stainless.details({**record, "details": record["details"] + 1}, name) != detail


def test_the_details_spread_over_their_ranges() -> None:
    """Lines changed and run ids reduced modulo their spans land all over them, not in a corner."""
    synth = Synth(5, "stainless")
    project = stainless.Project("p", "o", tuple(f"t{i}" for i in range(50)))
    changes, runs = [], []
    for _ in range(40):
        record = stainless.plan_build(
            synth, project, now=T0, speed=1.0, revision="main", branch="main",
            targets=project.targets, outcome="success",
        )  # fmt: skip
        for name in project.targets:
            found = stainless.details(record, name)
            changes += found[2:4]
            runs += found[5:]
    assert len(changes) == 4000
    # 900 values drawn 4 000 times: each tenth of the range holds about 400 of them.
    assert all(300 < sum(lo < c <= lo + 90 for c in changes) < 500 for lo in range(0, 900, 90))
    assert all(500 < sum(lo <= (r - 10**9) * 10 // 9 < lo + 10**9 for r in runs) < 700
               for lo in range(0, 10**10, 10**9))  # fmt: skip


def test_a_stored_build_holds_no_container_the_collector_keeps_walking() -> None:
    """Its targets are tuples of atoms: untracked after the first collection that sees them."""
    records = _records(1.0)
    gc.collect()
    for record in records:
        assert all(not gc.is_tracked(target) for target in record["targets"].values())


def test_the_document_form_round_trips_and_is_the_documented_shape() -> None:
    for record in _records(40.0):
        document = stainless.document_form(record)
        held = stainless.stored_form(orjson.loads(orjson.dumps(document)))
        # Read back, a build holds its details as written: it renders and documents the same.
        assert stainless.document_form(held) == document
        assert "details" not in document and "details" not in held
        for now in (T0, T0 + 2, T0 + 5, T0 + 600):
            assert stainless.render_build(held, now) == stainless.render_build(record, now)
        for name, target in document["targets"].items():
            assert list(target) == [
                "marks", "conclusion", "test", "sha", "tree", "changes", "runs", "merge_pr"
            ]  # fmt: skip
            states = [state for state, _ in target["marks"]]
            generated = target["conclusion"] in stainless.GENERATED
            assert states == ["not_started", "codegen", *(["postgen"] * generated), "completed"]
            assert stainless.details(held, name) == stainless.details(record, name)
            assert stainless.output_commit(record, name) == stainless.output_commit(held, name)


def test_a_written_build_keeps_its_written_details() -> None:
    document = orjson.loads(orjson.dumps(stainless.document_form(_records(1.0)[0])))
    name, target = next(iter(document["targets"].items()))
    target.update(sha="a" * 40, tree="b" * 40, changes=[7, 8], runs=[1, 2, 3])
    document["details"] = 2**70  # not a field of documents: not kept
    held = stainless.stored_form(document)
    assert "details" not in held
    assert stainless.details(held, name) == ("a" * 40, "b" * 40, 7, 8, None, 1, 2, 3)
    rendered = stainless.render_build(held, T0 + 600)["targets"][name]
    assert rendered["commit"]["commit"]["sha"] == "a" * 40
    assert rendered["lint"]["url"].endswith("/actions/runs/1")


@pytest.mark.parametrize(
    "spoil",
    [
        lambda t: t.update(marks=[["codegen", T0], ["not_started", T0], ["completed", T0]]),
        lambda t: t.update(marks=[["not_started", T0]]),
        lambda t: t.update(marks=[["not_started", T0], ["codegen", T0 - 1], ["completed", T0]]),
        lambda t: t.update(runs=[1, 2]),
        lambda t: t.pop("sha"),
        lambda t: t.update(changes=None),
        # Types a hand-edited document may get wrong: each was a 500 or an answer off the spec.
        lambda t: t.update(marks=[[state, str(at)] for state, at in t["marks"]]),
        lambda t: t.update(marks=[*t["marks"][:-1], [t["marks"][-1][0], math.inf]]),
        lambda t: t.update(changes=["1", "2"]),
        lambda t: t.update(changes=[True, 2]),
        lambda t: t.update(runs=[1, 2, -3]),
        lambda t: t.update(sha=5),
        lambda t: t.update(tree="abc"),
        lambda t: t.update(merge_pr="x"),
        lambda t: t.update(conclusion=5),
        lambda t: t.update(conclusion="failure"),  # a check's conclusion, not a commit's
        lambda t: t.update(test="merge_conflict"),
    ],
)
def test_the_stored_form_refuses_a_target_it_could_not_have_written(spoil: Any) -> None:
    document = orjson.loads(orjson.dumps(stainless.document_form(_records(1.0)[0])))
    stainless.stored_form(orjson.loads(orjson.dumps(document)))  # as written: taken
    spoil(next(iter(document["targets"].values())))
    with pytest.raises((KeyError, TypeError, ValueError)):
        stainless.stored_form(document)


@pytest.mark.parametrize(
    ("field", "value"),
    [("created_at", "x"), ("created_at", None), ("id", 5), ("outcome", "great"), ("branch", [])],
)
def test_the_stored_form_refuses_a_build_field_of_the_wrong_type(field: str, value: Any) -> None:
    document = orjson.loads(orjson.dumps(stainless.document_form(_records(1.0)[0])))
    document[field] = value
    with pytest.raises(ValueError, match=field):
        stainless.stored_form(document)


def test_a_written_target_outside_the_documented_targets_is_refused() -> None:
    document = orjson.loads(orjson.dumps(stainless.document_form(_records(1.0)[0])))
    document["targets"]["cobol"] = next(iter(document["targets"].values()))
    with pytest.raises(ValueError, match="cobol"):
        stainless.stored_form(document)
