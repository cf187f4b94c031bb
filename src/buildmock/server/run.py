"""Running the app under uvicorn, with a start-up banner."""

from __future__ import annotations

import gc
import importlib.util
import logging
import os
import sys
import time
from typing import Any

import uvicorn

from buildmock import __version__
from buildmock.server.app import BuildMockApp, create_app
from buildmock.server.fixtures import FixtureError
from buildmock.settings import Settings
from buildmock.store import is_redis


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
    lines.append(f"  {'control':<10} {base}/__buildmock/  (health, state, reset, clock/advance)")
    return "\n".join(lines)


def tune_gc() -> None:
    """Fewer, cheaper garbage collections while serving.

    Everything built at start-up (specs, Connexion's operations, Faker's data) is moved out of the
    collector's sight, and young collections run every 10 000 allocations instead of 700: records
    and responses are freed by reference counting anyway. Profiled, this took a quarter off the
    cost of a create (bench/RESULTS.md).
    """
    gc.collect()
    gc.freeze()
    gc.set_threshold(10_000, 50, 100)


def app_from_env() -> BuildMockApp:
    """The app of one worker process, from the ``BUILDMOCK_*`` variables its parent set."""
    app = create_app(Settings.from_env())
    tune_gc()
    return app


def _options(settings: Settings) -> dict[str, Any]:
    return {
        "host": settings.host,
        "port": settings.port,
        "log_level": settings.log_level,
        "access_log": False,
        "lifespan": "on",
        # uvloop and httptools when installed (uvicorn[standard]); the pure-Python ones otherwise.
        "loop": "uvloop" if importlib.util.find_spec("uvloop") else "asyncio",
        "http": "httptools" if importlib.util.find_spec("httptools") else "h11",
    }


def serve_workers(settings: Settings) -> int:
    """Serve with ``settings.workers`` processes on one port (a shared store is required)."""
    if not is_redis(settings.store):
        print(
            f"buildmock: error: --workers {settings.workers} needs a shared store: with the memory "
            "store every worker keeps its own builds, so a build created through one is a 404 "
            "through another; add --store redis://HOST:PORT/DB",
            file=sys.stderr,
        )
        return 2
    try:
        create_app(settings.with_(store="memory://"))  # bad fixtures fail here, once
    except (FixtureError, ValueError) as exc:
        print(f"buildmock: error: {exc}", file=sys.stderr)
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
        **_options(settings),
    )
    return 0


def serve(settings: Settings) -> int:
    """Serve until interrupted; returns the exit code (2 if the app cannot be built)."""
    started = time.perf_counter()
    logging.basicConfig(
        level=settings.log_level.upper(), format="%(levelname)s %(name)s: %(message)s"
    )
    if settings.workers > 1:
        return serve_workers(settings)
    try:
        app = create_app(settings)
    except (FixtureError, ValueError) as exc:
        print(f"buildmock: error: {exc}", file=sys.stderr)
        return 2
    tune_gc()
    config = uvicorn.Config(app, **_options(settings))
    server = uvicorn.Server(config)
    apis = list(app.mock.runtimes)

    original_startup = server.startup

    async def startup(sockets: list[Any] | None = None) -> None:
        await original_startup(sockets=sockets)
        if server.started:
            print(banner(settings, apis, started), flush=True)

    server.startup = startup  # type: ignore[method-assign]
    server.run()
    return 0 if server.started else 1
