"""Prints, at the end of a run, the share of live responses that matched the vendors' own schemas."""

from __future__ import annotations

from typing import Any

from tests.fidelity.strict import TALLY


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
