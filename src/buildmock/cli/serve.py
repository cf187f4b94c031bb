"""``buildmock serve``: options -> Settings -> the server."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from buildmock.server.run import serve
from buildmock.settings import Settings


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
        help="also deliver completion callbacks to this host (repeatable; default loopback only)",
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
        "--log-level", choices=("debug", "info", "warning", "error"), help="default warning"
    )
    p.add_argument(
        "--no-fast-path",
        action="store_true",
        help="send every request through Connexion's full middleware stack instead of answering "
        "valid vendor requests directly (same answers, slower; for comparison and debugging)",
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
        "store": args.store,
        "workers": args.workers,
    }
    settings = Settings.from_env(**overrides)
    if args.no_fixtures or (args.fixtures is not None and str(args.fixtures).lower() == "none"):
        return settings.with_(fixtures=None)
    if args.fixtures is not None:
        if not args.fixtures.is_dir():
            raise ValueError(f"--fixtures {args.fixtures}: not a directory")
        return settings.with_(fixtures=args.fixtures)
    return settings


def run(args: argparse.Namespace) -> int:
    """Start the server and block until it is stopped."""
    return serve(settings_from(args))
