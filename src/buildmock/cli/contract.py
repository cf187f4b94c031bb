"""``buildmock contract``: placeholder until the contract runner lands (issue #7)."""

from __future__ import annotations

import argparse
from typing import Any


def add_parser(commands: Any) -> argparse.ArgumentParser:
    """Register ``contract``."""
    parser: argparse.ArgumentParser = commands.add_parser(
        "contract", help="run Schemathesis contract/fuzz checks against the mock or a real server"
    )
    parser.set_defaults(run=run)
    return parser


def run(args: argparse.Namespace) -> int:
    """Run the contract check."""
    raise ValueError("`buildmock contract` is not implemented yet")
