"""Prints, at the end of a run, the share of live responses that matched the vendors' own schemas.

Hooks of the top-level ``tests/conftest.py``, so that under pytest-xdist the controller (which collects
nothing, hence loads no ``tests/fidelity/conftest.py``) adds up the workers' tallies and prints them.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest

from tests.fidelity.strict import TALLY

#: Where a pytest-xdist worker hands its tally to the controller, which prints the summary.
WORKER_KEY = "fidelity_tally"


def pytest_sessionfinish(session: pytest.Session) -> None:
    """On an xdist worker: pass this worker's tally on to the controller."""
    output = getattr(session.config, "workeroutput", None)
    if output is not None:
        output[WORKER_KEY] = {vendor: dict(tally) for vendor, tally in TALLY.items()}


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node: Any, error: Any) -> None:
    """On the xdist controller: add a finished worker's tally to this process's."""
    for vendor, tally in (getattr(node, "workeroutput", {}) or {}).get(WORKER_KEY, {}).items():
        TALLY.setdefault(vendor, Counter()).update(tally)


def pytest_terminal_summary(terminalreporter: Any) -> None:
    """One line per vendor: live responses that validated strictly against its snapshot."""
    if not TALLY:
        return
    terminalreporter.section("fidelity: live responses strictly valid against the vendor's schemas")
    for vendor, tally in sorted(TALLY.items()):
        total = tally["ok"] + tally["failed"]
        terminalreporter.write_line(
            f"{vendor:<10} {tally['ok']}/{total} ({100 * tally['ok'] / total:.1f} %)"
        )
