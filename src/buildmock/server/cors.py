"""CORS for the vendor APIs, so a frontend on a local dev server can call the mock from a browser.

Decided by the one dispatch in front of the request path (``layers.py``). A preflight
(``OPTIONS`` with ``Origin`` and ``Access-Control-Request-Method``) from an allowed origin is
answered with 204, allowing the method and every header the page asks for (the vendors' auth
headers among them); other requests from an allowed origin get ``Access-Control-Allow-Origin``
and their response headers exposed. Requests without an ``Origin`` and the control API (which
refuses cross-origin requests, ``guard.py``) are untouched.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from starlette.datastructures import Headers, MutableHeaders
from starlette.types import Message, Scope, Send

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


def allowed_origin(allowed: re.Pattern[str], path: str, origin: bytes) -> str | None:
    """The request's first ``Origin`` if CORS applies: an allowed origin, not the control API."""
    if path.startswith(CONTROL_PREFIX):
        return None
    text = origin.decode("latin-1")
    return text if allowed.fullmatch(text.lower()) else None


def preflight(scope: Scope, origin: str) -> list[tuple[bytes, bytes]] | None:
    """The headers of the 204 answering a preflight from the allowed ``origin``; None if the
    request is not a preflight."""
    if scope["method"] != "OPTIONS":
        return None
    headers = Headers(scope=scope)
    if "access-control-request-method" not in headers:
        return None
    allow = {
        "access-control-allow-origin": origin,
        "access-control-allow-methods": _METHODS,
        "access-control-max-age": MAX_AGE,
        "vary": "Origin",
    }
    requested = headers.get("access-control-request-headers")
    if requested:
        allow["access-control-allow-headers"] = requested
    return [(k.encode(), v.encode("latin-1")) for k, v in allow.items()]


def marking(send: Send, origin: str) -> Send:
    """``send`` that adds the CORS headers for the allowed ``origin`` to the response's head."""

    async def marked(message: Message) -> None:
        if message["type"] == "http.response.start":
            # A copy: the header list may be a kept answer's own (RenderCache.response).
            out = MutableHeaders(raw=list(message["headers"]))
            exposed = sorted({k for k in out if k not in _SAFELISTED})
            out["access-control-allow-origin"] = origin
            out.append("vary", "Origin")
            if exposed:
                out["access-control-expose-headers"] = ", ".join(exposed)
            message = {**message, "headers": out.raw}
        await send(message)

    return marked
