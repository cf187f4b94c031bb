"""Schemathesis, in-process, every check and phase, against the control API's own spec."""

from __future__ import annotations

import os

import yaml

from buildmock.contract.engine import ALL_PHASES, execute, load_asgi, make_config, spec_profile
from buildmock.server.app import CONTROL_SPEC
from tests.conftest import make_app

MAX_EXAMPLES = int(os.environ.get("BUILDMOCK_TEST_EXAMPLES", "25"))


def test_schemathesis_finds_nothing_in_the_control_api() -> None:
    app = make_app(clock="manual", token=None)  # the guard is tested in tests/server
    profile = spec_profile(yaml.safe_load(CONTROL_SPEC.read_text()))
    config = make_config(phases=ALL_PHASES, max_examples=MAX_EXAMPLES, seed=1234, extra=profile)
    result = execute(load_asgi(app, "__buildmock", config))
    report = "\n".join(
        f"{f.operation} [{f.check}] {f.title}: {f.message}\n  {f.reproduce}\n  -> {f.status} {f.response[:300]}"
        for f in result.findings
    )
    assert not result.errors, result.errors
    assert not result.findings, report
    assert result.scenarios > 0
