"""The pure domain layer of every vendor: plan a record at a fixed time, render it at fixed times.

No server, store or clock: each vendor's ``plan_*`` is called with a seeded ``Synth`` and a time,
its ``render_*`` with the record and a time, exactly as the vendor module does.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import pytest

from buildmock.domain import cocktail, escape, nuon, stainless, vela
from buildmock.synth import Synth
from tests.cases import CASES

T0 = 1_735_689_600.0  # 2025-01-01T00:00:00Z
Record = dict[str, Any]


@dataclass(frozen=True)
class Domain:
    """How to plan one build-like record of a vendor and read the status its rendering shows."""

    name: str
    plan: Callable[[Synth, float, str], Record]
    render: Callable[[Record, float], Any]
    status: Callable[[Any], str]
    success: str  # the outcome asked for, and the status it ends in
    failure: str
    ended: tuple[str, str]
    settle: float
    first: str  # the status a record shows the moment it is planned
    #: The times at which the rendering changes (what a ``RenderCache`` keys on), if cached.
    changes: Callable[[Record], Sequence[float]] | None = None
    #: The window in which the rendering follows the time itself (never cached), if any.
    live: Callable[[Record], tuple[float, float] | None] | None = None
    #: The rendering at a time in the live window, from one made earlier in it.
    follow: Callable[[Any, tuple[float, float], float], Any] | None = None


def _stainless(synth: Synth, now: float, outcome: str) -> Record:
    project = stainless.synth_project(synth.derive("project", "acme-api"), "acme-api")
    return stainless.plan_build(synth, project, now=now, speed=1.0, revision="main",
                                branch="main", targets=project.targets, outcome=outcome)  # fmt: skip


def _nuon(synth: Synth, now: float, outcome: str) -> Record:
    component = nuon.synth_component(
        synth.derive("component"),
        "cmp" + "a" * 23,
        org_id="org" + "b" * 23,
        app_id="app" + "c" * 23,
    )
    return nuon.plan_build(synth, component, now=now, speed=1.0, git_ref="main",
                           outcome=nuon.resolve_outcome(outcome, synth), app_id=component["app_id"],
                           created_by_id="acc" + "d" * 23)  # fmt: skip


def _vela(synth: Synth, now: float, outcome: str) -> Record:
    return vela.plan_build(synth, org="acme", repo="api", ids=(1, 1, 1, 1), now=now, speed=1.0,
                           outcome=outcome, given={}, approval=False)  # fmt: skip


def _cocktail(synth: Synth, now: float, outcome: str) -> Record:
    build = cocktail.synth_build(synth.derive("build"), 1)
    seqs = list(range(1, len(build["steps"]) + 2))
    return cocktail.plan_run(synth, build, build_run_seq=1, build_no=1, step_run_seqs=seqs,
                             now=now, speed=1.0, outcome=outcome, tag_name=None, description=None,
                             callback_url=None)  # fmt: skip


def _escape(synth: Synth, now: float, outcome: str) -> Record:
    record = escape.plan_resource(synth, escape.BUILD, ("acme", "prod"), {"name": "api"}, now)
    return escape.plan_execution(synth, escape.BUILD, record, execution_id=1, now=now, speed=1.0,
                                 outcome=outcome)  # fmt: skip


DOMAINS = [
    Domain("stainless", _stainless, stainless.render_build, CASES["stainless"].status,
           "success", "failure", ("success", "failure"), CASES["stainless"].settle, "running",
           stainless.change_times),
    Domain("nuon", _nuon, nuon.render_build, lambda b: str(b["status"]),
           "success", "failure", ("active", "error"), CASES["nuon"].settle, "queued",
           nuon.change_times, nuon.live_window, nuon.follow_build),
    Domain("vela", _vela, vela.render_build, lambda b: str(b["status"]),
           "success", "failure", ("success", "failure"), CASES["vela"].settle, "pending",
           vela.change_times),
    Domain("cocktail", _cocktail, cocktail.render_run, lambda b: str(b["runState"]),
           "DONE", "ERROR", ("DONE", "ERROR"), CASES["cocktail"].settle, "CREATED",
           cocktail.change_times),
    Domain("escape", _escape, lambda r, now: escape.render_execution(escape.BUILD, r, now),
           lambda b: str(b["status"]), "ok", "failed", ("ok", "failed"), CASES["escape"].settle, "new"),
]  # fmt: skip


@pytest.fixture(params=DOMAINS, ids=lambda d: d.name)
def domain(request: pytest.FixtureRequest) -> Domain:
    return request.param


def test_every_vendor_has_a_domain_here() -> None:
    assert {d.name for d in DOMAINS} == set(CASES)


def test_a_plan_is_a_function_of_the_seed_and_the_time(domain: Domain) -> None:
    first = domain.plan(Synth(7, domain.name), T0, domain.success)
    assert first == domain.plan(Synth(7, domain.name), T0, domain.success)
    assert first != domain.plan(Synth(8, domain.name), T0, domain.success)
    assert first != domain.plan(Synth(7, domain.name), T0 + 1, domain.success)


@pytest.mark.parametrize("wanted", ["success", "failure"])
def test_a_record_runs_then_ends_as_planned(domain: Domain, wanted: str) -> None:
    outcome = domain.success if wanted == "success" else domain.failure
    ended = domain.ended[0] if wanted == "success" else domain.ended[1]
    record = domain.plan(Synth(0, domain.name), T0, outcome)
    assert domain.status(domain.render(record, T0)) == domain.first
    assert domain.status(domain.render(record, T0 + domain.settle)) == ended
    # Once ended it stays ended, whatever later time it is rendered at.
    assert domain.status(domain.render(record, T0 + 10 * domain.settle)) == ended


def test_status_never_goes_back(domain: Domain) -> None:
    record = domain.plan(Synth(3, domain.name), T0, domain.success)
    statuses = [domain.status(domain.render(record, T0 + s)) for s in range(0, 601, 5)]
    first_end = next(i for i, s in enumerate(statuses) if s in domain.ended)
    assert set(statuses[first_end:]) == {statuses[first_end]}


def test_rendering_is_pure(domain: Domain) -> None:
    record = domain.plan(Synth(1, domain.name), T0, domain.failure)
    kept = copy.deepcopy(record)
    later = domain.render(record, T0 + domain.settle)
    early = domain.render(record, T0 + 1)
    assert record == kept  # rendering changed nothing
    assert domain.render(record, T0 + 1) == early  # nor depends on what was rendered before
    assert domain.render(record, T0 + domain.settle) == later


@pytest.mark.parametrize("wanted", ["success", "failure"])
@pytest.mark.parametrize("domain", [d for d in DOMAINS if d.changes], ids=lambda d: d.name)
def test_rendering_changes_only_at_the_change_times(domain: Domain, wanted: str) -> None:
    # A RenderCache reuses a rendering until the next change time: between two of them (and at
    # the first), the rendering must be the same whatever the time.
    assert domain.changes is not None
    outcome = domain.success if wanted == "success" else domain.failure
    record = domain.plan(Synth(5, domain.name), T0, outcome)
    times = list(domain.changes(record))
    assert times == sorted(set(times)) and times[0] <= T0
    live = domain.live(record) if domain.live else None
    renderings = set()
    for low, high in zip([T0 - 50, *times], [*times, times[-1] + 500], strict=True):
        span = high - low
        samples = [low + span * f for f in (0, 0.001, 0.3, 0.5, 0.999)] + [high - 1e-6]
        if live is not None and live[0] <= low < live[1]:
            # Inside the live window the rendering does follow the time (so it is not cached as
            # is), and ``follow`` makes it from the one made first in the window.
            assert live[0] in times and live[1] in times
            assert domain.render(record, samples[1]) != domain.render(record, samples[2])
            kept = domain.render(record, samples[0])
            for at in samples[1:]:
                assert domain.follow is not None
                assert domain.follow(kept, live, at) == domain.render(record, at)
            continue
        first = domain.render(record, samples[0])
        assert all(domain.render(record, at) == first for at in samples if at < high)
        renderings.add(repr(first))
    assert len(renderings) > 2  # it does change, at those times
