"""Running the app under uvicorn, with a start-up banner."""

from __future__ import annotations

import gc
import importlib.util
import logging
import os
import socket
import sys
import time
from typing import Any

import uvicorn

from buildmock import __version__, vendors
from buildmock.core.net import is_loopback_host
from buildmock.fixtures import FixtureError
from buildmock.server.app import BuildMockApp, create_app
from buildmock.server.on_granian import serve_granian
from buildmock.server.protocol import configure_protocols, protocol
from buildmock.settings import Settings
from buildmock.store import is_redis
from buildmock.store.redis import check_reachable


def banner(settings: Settings, apis: list[str], started: float) -> str:
    """What ``serve`` prints once it is listening: where each API lives."""
    base = f"http://{settings.host}:{settings.port}"
    lines = [
        f"buildmock {__version__} ready in {time.perf_counter() - started:.2f}s "
        f"(seed {settings.seed}, clock {settings.clock}, speed {settings.speed:g})"
    ]
    width = max((len(f"{base}/{name}") for name in apis), default=0)
    for name in apis:
        root = f"{base}/{name}"
        lines.append(f"  {name:<10} {root:<{width}}   ui {root}/ui/   spec {root}/openapi.json")
    lines.append(
        f"  {'control':<10} {base}/__buildmock/  (health, state, reset, clock, requests, scenarios, snapshot)"
    )
    lines.append(f"  {'dashboard':<10} {base}/__buildmock/dashboard/")
    return "\n".join(lines)


def tune_gc() -> None:
    """Fewer, cheaper garbage collections while serving.

    Everything built at start-up (specs, Connexion's operations, Faker's data) is moved out of the
    collector's sight, and young collections run every 10 000 allocations instead of 700: records
    and responses are freed by reference counting anyway. Profiled, this took a quarter off the
    cost of a create (bench/RESULTS.md). The app also collects after every 64 requests
    (``server/gcpace.py``); a middle collection every fifth time keeps each pause short, and a full
    one (every stored record walked) is considered only every 1 000 middle ones.
    """
    gc.collect()
    gc.freeze()
    gc.set_threshold(10_000, 4, 1_000)


def one_line(text: object) -> str:
    """An error message on one line (a YAML error, say, spans several)."""
    return " ".join(str(text).split())


def listen(host: str, port: int) -> socket.socket:
    """A socket bound to ``host:port``; OSError (with a one-line reason) if it cannot be."""
    try:
        family, kind, proto, _, address = socket.getaddrinfo(
            host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        )[0]
    except (OSError, UnicodeError) as exc:
        raise OSError(
            f"cannot resolve --host {host!r}: {getattr(exc, 'strerror', None) or exc}"
        ) from exc
    sock = socket.socket(family, kind, proto)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
        sock.listen(2048)
    except OSError as exc:
        sock.close()
        reason = exc.strerror or str(exc)
        raise OSError(f"cannot listen on {host}:{port}: {reason.lower()}") from exc
    sock.set_inheritable(True)
    return sock


def exposure_warning(settings: Settings) -> str | None:
    """The warning for a control API anyone who reaches the port can use, if that is the case."""
    if settings.control_credential is not None or is_loopback_host(settings.host):
        return None
    return (
        f"buildmock: WARNING: listening on {settings.host} beyond loopback with an OPEN control "
        "API: anyone who reaches this port can reset or read the mock; set --control-token "
        "(or --token)"
    )


def uvicorn_options(settings: Settings, worker: bool = False) -> dict[str, Any]:
    """uvicorn's options: uvloop and httptools when installed (else the pure-Python ones), with
    the guarded protocols (server/protocol.py); a worker process names its protocol by import path,
    its limits set by :func:`app_from_env` in that process."""
    http = "httptools" if importlib.util.find_spec("httptools") else "h11"
    guarded = protocol(
        http,
        timeout=settings.timeout,
        max_headers=settings.max_headers,
        max_header_bytes=settings.max_header_bytes,
    )
    return {
        "host": settings.host,
        "port": settings.port,
        "log_level": settings.log_level,
        "access_log": False,
        "lifespan": "on",
        "loop": "uvloop" if importlib.util.find_spec("uvloop") else "asyncio",
        "http": f"{guarded.__module__}:{guarded.__mro__[1].__name__}" if worker else guarded,
        "h11_max_incomplete_event_size": settings.max_header_bytes,
        "timeout_keep_alive": 5,
    }


def app_from_env() -> BuildMockApp:
    """The app of one worker process, from the ``BUILDMOCK_*`` variables its parent set."""
    settings = Settings.from_env(vendor_options=vendors.options())
    configure_protocols(settings.timeout, settings.max_headers, settings.max_header_bytes)
    app = create_app(settings)
    tune_gc()
    return app


def preflight(settings: Settings) -> bool:
    """What a server building the app in other processes checks once, first, with one-line errors:
    more than one worker needs a shared store; the port, the store and the fixtures must be usable."""
    if settings.workers > 1 and not is_redis(settings.store):
        print(
            f"buildmock: error: --workers {settings.workers} needs a shared store: with the memory "
            "store every worker keeps its own builds, so a build created through one is a 404 "
            "through another; add --store redis://HOST:PORT/DB",
            file=sys.stderr,
        )
        return False
    try:
        listen(settings.host, settings.port).close()  # a port in use is one line, here
        if is_redis(settings.store):
            check_reachable(settings.store)
        create_app(settings.with_(store="memory://"))  # bad fixtures fail here, once
    except (FixtureError, ValueError, OSError) as exc:
        print(f"buildmock: error: {one_line(exc)}", file=sys.stderr)
        return False
    warning = exposure_warning(settings)
    if warning:
        print(warning, file=sys.stderr, flush=True)
    return True


def serve_workers(settings: Settings) -> int:
    """Serve with ``settings.workers`` processes on one port (a shared store is required)."""
    if not preflight(settings):
        return 2
    os.environ.update(settings.to_env())
    base = f"http://{settings.host}:{settings.port}"
    print(
        f"buildmock {__version__} starting {settings.workers} workers on {base} "
        f"(store {settings.store}, seed {settings.seed}, clock {settings.clock})",
        flush=True,
    )
    uvicorn.run(
        "buildmock.server.run:app_from_env",
        factory=True,
        workers=settings.workers,
        **uvicorn_options(settings, worker=True),
    )
    return 0


def serve(settings: Settings) -> int:
    """Serve until interrupted; returns the exit code (2 if the app cannot be built or bound)."""
    started = time.perf_counter()
    logging.basicConfig(
        level=settings.log_level.upper(), format="%(levelname)s %(name)s: %(message)s"
    )
    if settings.server == "granian":
        return serve_granian(settings) if preflight(settings) else 2
    if settings.workers > 1:
        return serve_workers(settings)
    sock: socket.socket | None = None
    try:
        # Bound first: a port in use or a bad host is reported before the app is built.
        sock = listen(settings.host, settings.port)
        warning = exposure_warning(settings)
        if warning:
            print(warning, file=sys.stderr, flush=True)
        if is_redis(settings.store):
            check_reachable(settings.store)  # one line now, not a traceback from the lifespan
        app = create_app(settings)
    except Exception as exc:  # every start-up failure is one line, not a traceback
        if sock is not None:
            sock.close()
        known = isinstance(exc, FixtureError | ValueError | OSError)
        print(f"buildmock: error: {'' if known else type(exc).__name__ + ': '}{one_line(exc)}",
              file=sys.stderr)  # fmt: skip
        return 2
    tune_gc()
    config = uvicorn.Config(app, **uvicorn_options(settings))
    server = uvicorn.Server(config)
    apis = list(app.mock.runtimes)

    original_startup = server.startup

    async def startup(sockets: list[Any] | None = None) -> None:
        await original_startup(sockets=sockets)
        if server.started:
            print(banner(settings, apis, started), flush=True)

    server.startup = startup  # type: ignore[method-assign]
    server.run(sockets=[sock])
    return 0 if server.started else 1
