"""The access log (``--access-log``): one line per request on stderr, credentials redacted.

``<client> "<METHOD> <path>[?query]" <status> <bytes>B <ms>ms``. Only the method, path and query are
taken from the request, never a header; query values whose name suggests a secret are replaced by
``***``, and the line is cut at :data:`MAX_LINE` characters.
"""

from __future__ import annotations

import logging
import re
import sys
import time
from urllib.parse import parse_qsl, quote

from starlette.types import ASGIApp, Message, Receive, Scope, Send

log = logging.getLogger("buildmock.access")

MAX_LINE = 2048
_SECRET = re.compile(r"token|key|secret|passw|auth|credential|signature|session|code", re.I)


def redact_query(query: str) -> str:
    """The query string with the value of every secret-looking parameter replaced by ``***``."""
    if not query:
        return ""
    pairs = parse_qsl(query, keep_blank_values=True)
    return "&".join(
        f"{quote(name, safe='')}={'***' if _SECRET.search(name) else quote(value, safe='')}"
        for name, value in pairs
    )


def line(scope: Scope, status: int, size: int, seconds: float) -> str:
    """The log line of one request."""
    client = scope.get("client")
    who = f"{client[0]}:{client[1]}" if client else "-"
    query = redact_query(scope.get("query_string", b"").decode("latin-1"))
    target = scope["path"] + (f"?{query}" if query else "")
    text = f'{who} "{scope["method"]} {target}" {status} {size}B {seconds * 1000:.1f}ms'
    text = text.encode("unicode_escape").decode("ascii")  # no control characters in a log
    return text if len(text) <= MAX_LINE else text[: MAX_LINE - 1] + "…"


def enable() -> None:
    """Send access lines to stderr whatever the general log level."""
    if not log.handlers:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(message)s"))
        log.addHandler(handler)
    log.setLevel(logging.INFO)
    log.propagate = False


async def logged(app: ASGIApp, scope: Scope, receive: Receive, send: Send) -> None:
    """Serve an HTTP request with ``app``, counting what is sent, and write its :func:`line` when
    done (also if the app failed)."""
    started = time.perf_counter()
    status, size = 0, 0

    async def counted(message: Message) -> None:
        nonlocal status, size
        if message["type"] == "http.response.start":
            status = message["status"]
        elif message["type"] == "http.response.body":
            size += len(message.get("body", b""))
        await send(message)

    try:
        await app(scope, receive, counted)
    finally:
        log.info(line(scope, status or 500, size, time.perf_counter() - started))
