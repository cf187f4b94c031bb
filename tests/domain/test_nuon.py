"""Nuon's pure layer: a building build's bytes written for any time from one rendering."""

from __future__ import annotations

import orjson

from buildmock.domain import nuon
from buildmock.synth import Synth
from tests.domain.test_plan_render import DOMAINS, T0


def test_follow_encoded_is_the_followed_rendering_encoded() -> None:
    domain = next(d for d in DOMAINS if d.name == "nuon")
    record = domain.plan(Synth(5, "nuon"), T0, domain.success)
    window = nuon.live_window(record)
    assert window is not None
    start, end = window
    kept = nuon.render_build(record, start)
    encode = nuon.follow_encoded(kept, window)
    for fraction in (0, 1e-9, 0.123456789, 0.5, 0.999999):
        now = start + (end - start) * fraction
        assert encode(now) == orjson.dumps(nuon.follow_build(kept, window, now))
        assert encode(now) == orjson.dumps(nuon.render_build(record, now))
