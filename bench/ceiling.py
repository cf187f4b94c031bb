"""The ceiling: a bare ASGI app answering buildmock's captured bytes, on buildmock's own server.

It looks the request's method and path (with its query) up in a table of answers captured from
buildmock (``BENCH_CEILING`` names the JSON file) and sends the same status, headers and body; no
routing, auth, parsing or state. What it serves per second is the most any ASGI app could on that
server and machine. Run as buildmock's ``serve`` runs (same uvicorn options and guarded protocols,
or the same granian options)::

    python -m bench.ceiling --port 8090 --answers answers.json [--server uvicorn|granian]
"""

from __future__ import annotations

import argparse
import base64
import json
import os
from collections.abc import Awaitable, Callable, MutableMapping
from pathlib import Path
from typing import Any

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
Answer = tuple[int, list[tuple[bytes, bytes]], bytes]

NOT_FOUND: Answer = (404, [(b"content-type", b"text/plain")], b"no captured answer")


def load(path: Path) -> dict[tuple[str, str], Answer]:
    """The captured answers by (method, path?query)."""
    table = {}
    for entry in json.loads(path.read_text()):
        headers = [(k.lower().encode(), v.encode()) for k, v in entry["headers"]]
        body = base64.b64decode(entry["body"])
        headers.append((b"content-length", str(len(body)).encode()))
        table[(entry["method"], entry["path"])] = (int(entry["status"]), headers, body)
    return table


def make_app(
    table: dict[tuple[str, str], Answer],
) -> Callable[[Scope, Receive, Send], Awaitable[None]]:
    """The ASGI app answering from ``table``."""

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    await send({"type": "lifespan.startup.complete"})
                elif message["type"] == "lifespan.shutdown":
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        if scope["type"] != "http":
            return
        more = True
        while more:  # read the body, as any app must
            more = (await receive()).get("more_body", False)
        query = scope.get("query_string", b"")
        key = scope["path"] + ("?" + query.decode() if query else "")
        status, headers, body = table.get((scope["method"], key), NOT_FOUND)
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    return app


def app_from_env() -> Callable[[Scope, Receive, Send], Awaitable[None]]:
    """The app of the answers file ``BENCH_CEILING`` names (granian's factory)."""
    return make_app(load(Path(os.environ["BENCH_CEILING"])))


def main(argv: list[str] | None = None) -> int:
    """Serve the ceiling app until interrupted."""
    p = argparse.ArgumentParser(prog="python -m bench.ceiling", description=__doc__.split("\n")[0])
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--answers", type=Path, required=True)
    p.add_argument("--server", choices=("uvicorn", "granian"), default="uvicorn")
    args = p.parse_args(argv)
    from buildmock.settings import Settings

    settings = Settings(host="127.0.0.1", port=args.port, log_level="error")
    os.environ["BENCH_CEILING"] = str(args.answers.resolve())
    if args.server == "granian":
        from buildmock.server.on_granian import server

        server("bench.ceiling:app_from_env", settings).serve()
        return 0
    import uvicorn

    from buildmock.server.protocol import configure_protocols
    from buildmock.server.run import uvicorn_options

    configure_protocols(settings.timeout, settings.max_headers, settings.max_header_bytes)
    uvicorn.run(app_from_env(), **uvicorn_options(settings))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
