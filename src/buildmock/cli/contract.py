"""``buildmock contract``: options -> ContractOptions -> one run; exit 0 conforms, 1 drift, 2 error, 3 inconclusive."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

from buildmock.contract import ALL_PHASES
from buildmock.contract.redact import parse_header

if TYPE_CHECKING:
    from buildmock.contract.runner import ContractOptions

# Schemathesis (a third of a second to import) is imported only when a contract run starts, so
# ``buildmock serve`` does not pay for it at start-up.


def _positive_int(raw: str) -> int:
    value = int(raw)
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value


def _positive_float(raw: str) -> float:
    value = float(raw)
    if value <= 0:
        raise argparse.ArgumentTypeError("must be positive")
    return value


def _status(raw: str) -> int:
    value = int(raw)
    if not 100 <= value <= 599:
        raise argparse.ArgumentTypeError("must be an HTTP status, 100 to 599")
    return value


def _assignment(raw: str) -> tuple[str, str]:
    name, sep, value = raw.partition("=")
    if not sep or not name.strip():
        raise argparse.ArgumentTypeError(f"expected NAME=VALUE, got {raw!r}")
    return name.strip(), value


def _csv(raw: str) -> list[str]:
    return [part.strip() for part in raw.split(",") if part.strip()]


def add_parser(commands: Any) -> argparse.ArgumentParser:
    """Register ``contract`` and its options."""
    p: argparse.ArgumentParser = commands.add_parser(
        "contract",
        help="run Schemathesis contract/fuzz checks against the mock or a real server",
        description="Run Schemathesis (all checks; phases examples, coverage, fuzzing, stateful) against the "
        "bundled mock in-process (--mock) or a running server (--base-url), and report schema drift "
        "grouped by operation and kind. Exit code 0: the API conforms (with evidence: success responses "
        "were checked); 1: drift or failures found; 2: usage error, unreachable server or unusable spec; "
        "3: inconclusive (credentials refused, wrong base URL, no test data, stopped early by a budget).",
    )
    target = p.add_mutually_exclusive_group()
    target.add_argument("--mock", action="store_true", help="test the bundled mock, in-process")
    target.add_argument(
        "--base-url", metavar="URL",
        help="test a running server; with several --api, '{api}' in URL is replaced by the name, else "
        "'/<api>' is appended (a buildmock server)",
    )  # fmt: skip
    p.add_argument(
        "--api", action="append", dest="apis", metavar="NAME",
        help="spec to test, specs/<NAME>.yaml (repeatable; default: all that exist)",
    )  # fmt: skip
    p.add_argument(
        "--checks", type=_csv, metavar="LIST",
        help="comma-separated Schemathesis checks (default: all)",
    )  # fmt: skip
    p.add_argument(
        "--phases", type=_csv, metavar="LIST",
        help=f"comma-separated phases out of {','.join(ALL_PHASES)} (default: all)",
    )  # fmt: skip
    p.add_argument(
        "--max-examples", type=_positive_int, metavar="N", help="examples per operation and phase"
    )
    p.add_argument("--seed", type=int, help="Schemathesis seed, for a reproducible run")
    p.add_argument(
        "--workers",
        type=_positive_int,
        default=1,
        metavar="N",
        help="concurrent workers (default 1)",
    )
    p.add_argument(
        "--jobs", type=_positive_int, metavar="N",
        help="with --mock, APIs tested at once, each in its own process (default: one per CPU core; 1: one "
        "after another); --max-requests and --max-time runs go one after another",
    )  # fmt: skip
    p.add_argument(
        "--max-time", type=_positive_float, metavar="SECONDS", help="stop after this long"
    )
    p.add_argument(
        "-H", "--header", action="append", dest="headers", default=[], metavar="'NAME: VALUE'",
        help="header sent with every request (repeatable); values never appear in output or reports",
    )  # fmt: skip
    for location in ("path", "query", "header"):
        p.add_argument(
            f"--set-{location}", type=_assignment, action="append", default=[], metavar="NAME=VALUE",
            dest=f"set_{location}",
            help=f"always use VALUE for the {location} parameter NAME (repeatable), e.g. an id that exists",
        )  # fmt: skip
    p.add_argument(
        "--include-operation", action="append", dest="include_operations", default=[], metavar="OP",
        help="only this operation: an operationId or 'METHOD /path' (repeatable)",
    )  # fmt: skip
    p.add_argument(
        "--strict", action="store_true",
        help="treat response objects as closed: a field the spec does not document is drift",
    )  # fmt: skip
    p.add_argument(
        "--allow-writes", action="store_true",
        help="also send POST/PUT/PATCH/DELETE to a non-loopback host (default: GET, HEAD, OPTIONS only)",
    )  # fmt: skip
    p.add_argument(
        "--error-status", type=_status, metavar="N",
        help="the server answers every failure with HTTP N (a real Cocktail server: 200): judge it with the "
        "spec's profile for that mode (a buildmock server reports its own; default: failures carry a 4xx/5xx)",
    )  # fmt: skip
    p.add_argument(
        "--max-requests", type=_positive_int, metavar="N", help="stop after N requests in all"
    )
    p.add_argument(
        "--rate-limit", metavar="RATE", help="at most this many requests, e.g. '10/s' or '100/m'"
    )
    p.add_argument(
        "--report", type=Path, metavar="DIR", help="write junit.xml, report.json and report.html"
    )
    p.add_argument("-q", "--quiet", action="store_true", help="no progress lines, only the summary")
    p.error = _one_line_error  # type: ignore[method-assign]
    p.set_defaults(run=run)
    return p


def _one_line_error(message: str) -> NoReturn:
    """A bad option: one line on stderr and exit code 2 (argparse would add the whole usage)."""
    print(f"buildmock: error: contract: {message} (see buildmock contract --help)", file=sys.stderr)
    raise SystemExit(2)


def options_from(args: argparse.Namespace) -> ContractOptions:
    """ContractOptions from parsed arguments; ValueError (exit 2) on a bad combination."""
    if not args.mock and args.base_url is None:
        raise ValueError("give a target: --mock or --base-url URL")
    phases = tuple(args.phases) if args.phases else ALL_PHASES
    unknown = [ph for ph in phases if ph not in ALL_PHASES]
    if unknown:
        raise ValueError(
            f"--phases: unknown phase {unknown[0]!r} (choose from {', '.join(ALL_PHASES)})"
        )
    if args.rate_limit is not None:
        from schemathesis.core.errors import InvalidRateLimit
        from schemathesis.core.rate_limit import build_limiter

        try:
            build_limiter(args.rate_limit)
        except InvalidRateLimit:
            raise ValueError(
                f"--rate-limit {args.rate_limit!r}: expected e.g. '10/s' or '100/m'"
            ) from None
    from buildmock.contract.runner import ContractOptions

    return ContractOptions(
        mock=args.mock,
        base_url=args.base_url,
        apis=tuple(args.apis or ()),
        checks=tuple(args.checks) if args.checks else None,
        phases=phases,
        max_examples=args.max_examples,
        seed=args.seed,
        workers=args.workers,
        jobs=args.jobs,
        max_time=args.max_time,
        headers=tuple(parse_header(h) for h in args.headers),
        include_operations=tuple(args.include_operations),
        strict=args.strict,
        allow_writes=args.allow_writes,
        max_requests=args.max_requests,
        rate_limit=args.rate_limit,
        report_dir=args.report,
        error_status=args.error_status,
        parameters=tuple(
            (location, name, value)
            for location in ("path", "query", "header")
            for name, value in getattr(args, f"set_{location}")
        ),
    )


def run(args: argparse.Namespace) -> int:
    """Run the contract check, print the drift summary, return the exit code."""
    from buildmock.contract.report import summary
    from buildmock.contract.runner import ContractError, run_contract

    options = options_from(args)
    try:
        report = run_contract(options, progress=None if args.quiet else sys.stderr)
    except ContractError as exc:
        print(f"buildmock: error: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:  # e.g. the report directory vanished mid-run
        print(f"buildmock: error: {exc.strerror or exc}", file=sys.stderr)
        return 2
    text = summary(report)
    if options.report_dir is not None:
        text += f"\nreports written to {options.report_dir}/ (junit.xml, report.json, report.html)"
    try:
        print(text, flush=True)
    except BrokenPipeError:  # ``| head``: the reader has what it wanted; the exit code still tells
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    return report.exit_code
