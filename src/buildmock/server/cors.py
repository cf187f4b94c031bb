"""CORS for the vendor APIs, so a frontend on a local dev server can call the mock from a browser.

An ASGI layer. A preflight (``OPTIONS`` with ``Origin`` and ``Access-Control-Request-Method``) from
an allowed origin is answered here with 204, allowing the method and every header the page asks for
(the vendors' auth headers among them); other requests from an allowed origin get
``Access-Control-Allow-Origin`` and their response headers exposed. Requests without an ``Origin``
and the control API (which refuses cross-origin requests, ``guard.py``) are untouched.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from starlette.datastructures import Headers, MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from buildmock.server.guard import CONTROL_PREFIX

#: How long a browser may cache a preflight answer (seconds).
MAX_AGE = "600"
_METHODS = "GET, POST, PUT, PATCH, DELETE, OPTIONS"
#: Response headers a page can always read; the rest are listed in Expose-Headers.
_SAFELISTED = frozenset(
    {"cache-control", "content-language", "content-length", "content-type", "expires",
     "last-modified", "pragma"}
)  # fmt: skip


def origin_matcher(patterns: Iterable[str]) -> re.Pattern[str]:
    """One regex for the configured origins: ``*`` is any origin; ``:*`` after a host, any port."""
    parts = []
    for pattern in patterns:
        if pattern == "*":
            parts.append(r"[a-z][a-z0-9+.-]*://.+")
            continue
        escaped = re.escape(pattern.rstrip("/").lower())
        parts.append(escaped.replace(r":\*", r"(?::[0-9]{1,5})?").replace(r"\*", r"[^/:]+"))
    return re.compile("|".join(f"(?:{p})" for p in parts) or r"(?!)")


class CorsLayer:
    """ASGI layer answering preflights and marking responses for allowed origins."""

    def __init__(self, app: ASGIApp, origins: Iterable[str]) -> None:
        self.app = app
        self.allowed = origin_matcher(origins)

    def _origin(self, scope: Scope) -> str | None:
        if scope["type"] != "http" or scope["path"].startswith(CONTROL_PREFIX):
            return None
        for key, value in scope.get("headers") or []:
            if key == b"origin":
                origin = value.decode("latin-1")
                return origin if self.allowed.fullmatch(origin.lower()) else None
        return None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Answer a preflight, or pass on and add the CORS headers to the response."""
        origin = self._origin(scope)
        if origin is None:
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        if scope["method"] == "OPTIONS" and "access-control-request-method" in headers:
            allow = {
                "access-control-allow-origin": origin,
                "access-control-allow-methods": _METHODS,
                "access-control-max-age": MAX_AGE,
                "vary": "Origin",
            }
            requested = headers.get("access-control-request-headers")
            if requested:
                allow["access-control-allow-headers"] = requested
            await send({"type": "http.response.start", "status": 204,
                        "headers": [(k.encode(), v.encode("latin-1")) for k, v in allow.items()]})  # fmt: skip
            await send({"type": "http.response.body", "body": b""})
            return

        async def marked(message: Message) -> None:
            if message["type"] == "http.response.start":
                out = MutableHeaders(scope=message)
                exposed = sorted({k for k in out if k not in _SAFELISTED})
                out["access-control-allow-origin"] = origin
                out.append("vary", "Origin")
                if exposed:
                    out["access-control-expose-headers"] = ", ".join(exposed)
            await send(message)

        await self.app(scope, receive, marked)
