"""Serving under granian (``--server granian``) instead of uvicorn.

granian (a Rust HTTP server) runs the same app, built in its worker process from the ``BUILDMOCK_*``
variables (:func:`buildmock.server.run.app_from_env`); the answers are byte for byte uvicorn's. Of the
protections ``serve`` has under uvicorn (server/protocol.py, server/intercept.py) it keeps some:

- kept: the header deadline (granian's ``http1 header_read_timeout``, from ``--timeout``: the
  connection is closed); a bound on the request head (``max_buffer_size``, from ``--max-header-bytes``)
  and on the header count (granian's own 100), both answered with granian's bare 431, not the
  vendor-shaped one; body size and JSON depth (checked by the app); the ``truncated`` fault;
- lost: the body deadline (a client trickling its body holds the connection), ``--max-headers``
  (granian's count is fixed), and the faults that need uvicorn's transport: ``reset`` and ``empty``
  are answered with granian's plain-text 500, ``malformed-chunk`` ends the chunked answer early
  instead of sending a bad chunk size.
"""

from __future__ import annotations

import importlib.util
import os
import sys
from typing import Any

from buildmock import __version__
from buildmock.settings import Settings

#: The import path granian's worker builds the app from (a factory reading ``BUILDMOCK_*``).
TARGET = "buildmock.server.run:app_from_env"


def available() -> bool:
    """Whether granian is installed (the ``granian`` extra)."""
    return importlib.util.find_spec("granian") is not None


def serve_granian(settings: Settings) -> int:
    """Serve ``settings`` under granian until interrupted; 2 if granian is not installed."""
    if not available():
        print(
            "buildmock: error: --server granian needs granian: pip install 'buildmock[granian]'",
            file=sys.stderr,
        )
        return 2
    os.environ.update(settings.to_env())
    print(
        f"buildmock {__version__} starting on granian at http://{settings.host}:{settings.port} "
        f"(seed {settings.seed}, clock {settings.clock}, {settings.workers} worker(s))",
        flush=True,
    )
    server(TARGET, settings).serve()
    return 0


def server(target: str, settings: Settings) -> Any:
    """A granian server of the ASGI app factory ``target`` with buildmock's options (also what the
    bench's bare-ASGI ceiling runs on, so both are served alike)."""
    from granian import Granian
    from granian.constants import HTTPModes, Interfaces, Loops
    from granian.http import HTTP1Settings
    from granian.log import LogLevels

    return Granian(
        target,
        address=settings.host,
        port=settings.port,
        interface=Interfaces.ASGI,
        workers=settings.workers,
        http=HTTPModes.http1,
        websockets=False,
        loop=Loops.auto,
        backlog=2048,
        http1_settings=HTTP1Settings(
            header_read_timeout=int(settings.timeout * 1000),
            keep_alive=True,
            max_buffer_size=settings.max_header_bytes,
        ),
        log_level=LogLevels(settings.log_level),
        log_access=False,
        factory=True,
    )
