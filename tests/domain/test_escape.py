"""Escape's pure layer: the span in which a resource's rendering stays the same."""

from __future__ import annotations

import math

import pytest

from buildmock.domain import escape
from buildmock.synth import Synth

T0 = 1_735_689_600.0
PHASES = [{"name": "build", "steps": None}, {"name": "deploy", "steps": None}]
FAMILIES = [escape.BUILD, escape.DEPLOYMENT_JOB, escape.PIPELINE]


@pytest.mark.parametrize("family", FAMILIES, ids=lambda f: f.kind)
def test_a_resource_renders_the_same_within_its_steady_span(family: escape.Family) -> None:
    synth = Synth(5, "escape")
    scope = ("acme", "prod") if family.in_environment else ("acme",)
    body = {"name": "api", **({"phases": PHASES} if family is escape.PIPELINE else {})}
    record = escape.plan_resource(synth, family, scope, body, T0)
    assert escape.steady_span(family, None, T0) == (-math.inf, math.inf)
    execution = escape.plan_execution(
        synth, family, record, execution_id=1, now=T0, speed=1.0, outcome="ok"
    )
    times = [float(at) for _, at in execution["marks"]]
    spans, followed = set(), 0
    for at in [T0 - 5, *(t + d for t in times for d in (0, 0.4 * (times[-1] - T0) / 4))]:
        span = escape.steady_span(family, execution, at)
        if span is None:  # a running pipeline: its phases follow the clock
            assert family is escape.PIPELINE
            assert escape.execution_status(execution, at) == "running"
            followed += 1
            continue
        low, high = span
        assert low <= at < high and {low, high} <= {-math.inf, math.inf, *times}
        first = escape.render_resource(family, record, execution, at)
        for inside in (low, (max(low, at) + min(high, at + 50)) / 2, min(high, at + 50) - 1e-6):
            if low <= inside < high:
                assert escape.render_resource(family, record, execution, inside) == first
        spans.add(span)
    assert len(spans) >= 3
    assert (followed > 0) == (family is escape.PIPELINE)
