"""``buildmock`` entry point: sub-commands ``serve`` and ``contract``."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from buildmock import __version__
from buildmock.cli import contract, serve


def build_parser() -> argparse.ArgumentParser:
    """The top-level parser with every sub-command."""
    parser = argparse.ArgumentParser(
        prog="buildmock",
        description="Stateful mocks of CI vendors' build APIs, and contract tests against them.",
    )
    parser.add_argument("--version", action="version", version=f"buildmock {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    serve.add_parser(commands)
    contract.add_parser(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Parse ``argv`` and run the chosen sub-command; returns the exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.run(args))
    except KeyboardInterrupt:
        return 130
    except ValueError as exc:  # bad settings: a usage error
        print(f"buildmock: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    raise SystemExit(main())
