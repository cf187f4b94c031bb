"""``buildmock serve``: options -> Settings -> the server."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any

from buildmock import vendors
from buildmock.server.run import serve
from buildmock.settings import Settings, unknown_variables

#: The integer input limits and what happens past them (defaults: ``Settings``).
_LIMITS = {
    "--max-body-bytes": "larger bodies are 413 (default 1048576)",
    "--max-json-depth": "deeper JSON bodies are 400 (default 64)",
    "--max-header-bytes": "larger request line + headers are 431 (default 16384)",
    "--max-headers": "more headers are 431 (default 100)",
}


def add_parser(commands: Any) -> argparse.ArgumentParser:
    """Register ``serve`` and its options (each also readable from ``BUILDMOCK_<NAME>``)."""
    p: argparse.ArgumentParser = commands.add_parser(
        "serve",
        help="serve every vendor mock on one port",
        description="Serve the mocks: each vendor at /<vendor>, its Swagger UI at /<vendor>/ui/, "
        "its spec at /<vendor>/openapi.json, the control API at /__buildmock/. Every option "
        "can also be set as an environment variable BUILDMOCK_<OPTION> (e.g. BUILDMOCK_PORT).",
    )
    p.add_argument("--host", help="interface to bind (default 127.0.0.1)")
    p.add_argument("--port", type=int, help="port (default 8080)")
    p.add_argument("--seed", type=int, help="seed for all synthesised data (default 0)")
    p.add_argument(
        "--api",
        action="append",
        dest="apis",
        metavar="NAME",
        help="serve only this vendor (repeatable; default: every vendor with a spec)",
    )
    p.add_argument(
        "--fixtures",
        type=Path,
        metavar="DIR",
        help="directory of <vendor>.yaml fixtures loaded at start and on reset (default: the bundled "
        "fixtures/; 'none' for an empty start)",
    )
    p.add_argument(
        "--no-fixtures", action="store_true", help="start empty (same as --fixtures none)"
    )
    p.add_argument(
        "--clock",
        choices=("real", "manual"),
        help="real: builds progress with wall time; manual: time stands still at "
        "2025-01-01T00:00:00Z until POST /__buildmock/clock/advance (default real)",
    )
    p.add_argument(
        "--speed", type=float, help="lifecycle speed factor: 2 = twice as fast (default 1)"
    )
    p.add_argument("--token", help="accept only this credential (default: any non-empty one)")
    p.add_argument(
        "--cap",
        type=int,
        help="records kept per vendor and kind before the oldest is evicted (default 10000)",
    )
    p.add_argument(
        "--callback-allow",
        action="append",
        dest="callback_allow",
        metavar="HOST",
        help="also deliver completion callbacks to this host name, IP address or CIDR network "
        "(repeatable; default loopback only)",
    )
    p.add_argument(
        "--store",
        metavar="URL",
        help="where state lives: memory:// (default, this process only) or redis://HOST:PORT/DB "
        "(shared by every worker and replica)",
    )
    p.add_argument(
        "--workers",
        type=int,
        metavar="N",
        help="serving processes on one port (default 1; more than 1 needs --store redis://…)",
    )
    p.add_argument(
        "--server",
        choices=("uvicorn", "granian"),
        help="HTTP server (default uvicorn; granian needs the granian extra and drops the body "
        "deadline, --max-headers and transport faults: see README)",
    )
    p.add_argument(
        "--log-level", choices=("debug", "info", "warning", "error"), help="default warning"
    )
    p.add_argument(
        "--control-token",
        metavar="T",
        help="credential the control API requires (X-Buildmock-Token or Authorization: Bearer; "
        "default: --token if set, else the control API is open)",
    )
    p.add_argument(
        "--cors-origin",
        action="append",
        dest="cors_origins",
        metavar="ORIGIN",
        help="let browser pages from this origin call the vendor APIs (repeatable; ':*' = any "
        "port, '*' = any origin, 'none' = no CORS; default http://localhost:*, "
        "http://127.0.0.1:*, http://[::1]:*)",
    )
    p.add_argument(
        "--access-log",
        action="store_true",
        default=None,
        help="log one line per request on stderr, credentials redacted (default off)",
    )
    for flag, what in _LIMITS.items():
        p.add_argument(flag, type=int, metavar="N", help=what)
    p.add_argument(
        "--timeout",
        type=float,
        metavar="SECONDS",
        help="a client must send a request's headers, and then its body, within this (default 10)",
    )
    p.add_argument(
        "--no-fast-path",
        action="store_true",
        help="deprecated, no effect: every request takes the one request path (accepted so old "
        "command lines still work)",
    )
    for option in vendors.options():
        p.add_argument(
            f"--{option.flag}",
            dest=f"option_{option.key}",
            choices=option.choices or None,
            metavar=None if option.choices else "TEXT",
            help=f"{option.help} (env {option.variable})",
        )
    p.add_argument(
        "--journal",
        type=int,
        metavar="N",
        help="requests kept in the request journal, oldest dropped first (default 5000; 0 = off)",
    )
    p.add_argument(
        "--scenarios",
        type=Path,
        metavar="FILE",
        help="YAML file of scenario rules (latency, faults, pinned answers, rate limits), "
        "validated at start and loaded again on reset",
    )
    p.add_argument(
        "--state",
        type=Path,
        metavar="FILE",
        help="state document (from GET /__buildmock/snapshot) loaded at start and on reset",
    )
    p.set_defaults(run=run)
    return p


def settings_from(args: argparse.Namespace) -> Settings:
    """Settings from parsed options over ``BUILDMOCK_*`` variables over defaults."""
    overrides: dict[str, Any] = {
        "host": args.host,
        "port": args.port,
        "seed": args.seed,
        "apis": tuple(args.apis) if args.apis else None,
        "clock": args.clock,
        "speed": args.speed,
        "token": args.token,
        "cap": args.cap,
        "callback_allow": tuple(args.callback_allow) if args.callback_allow else None,
        "log_level": args.log_level,
        "fast_path": False if args.no_fast_path else None,
        "options": {
            option.key: value
            for option in vendors.options()
            if (value := getattr(args, f"option_{option.key}", None)) is not None
        },
        "journal": args.journal,
        "scenarios": args.scenarios,
        "state": args.state,
        "control_token": args.control_token,
        "cors_origins": _origins(args.cors_origins),
        "access_log": args.access_log,
        "max_body_bytes": args.max_body_bytes,
        "max_json_depth": args.max_json_depth,
        "max_header_bytes": args.max_header_bytes,
        "max_headers": args.max_headers,
        "timeout": args.timeout,
        "store": args.store,
        "workers": args.workers,
        "server": args.server,
    }
    if args.no_fixtures or (args.fixtures is not None and str(args.fixtures).lower() == "none"):
        env = {k: v for k, v in os.environ.items() if k != "BUILDMOCK_FIXTURES"}
        return Settings.from_env(env, vendors.options(), **overrides).with_(fixtures=None)
    return Settings.from_env(None, vendors.options(), fixtures=args.fixtures, **overrides)


def _origins(given: list[str] | None) -> tuple[str, ...] | None:
    if not given:
        return None
    return () if [o.lower() for o in given] == ["none"] else tuple(given)


def run(args: argparse.Namespace) -> int:
    """Start the server and block until it is stopped."""
    settings = settings_from(args)
    for warning in unknown_variables(also=(option.variable for option in vendors.options())):
        print(f"buildmock: warning: {warning}", file=sys.stderr)
    return serve(settings)
