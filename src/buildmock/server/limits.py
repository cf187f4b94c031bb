"""Input limits, enforced before anything parses a request: header count and size (431), body size
(413) and JSON nesting depth (400).

Decided by the one dispatch in front of the request path (``layers.py``); a refusal is
rendered in the vendor's error shape by the shared renderer. The body is read here in full (it is
at most ``max_body_bytes``) and replayed, so the request path sees one complete body whatever the
transfer encoding (``Content-Length`` or chunked). How long a client may take to send headers
and body is the server protocol's business (``server/protocol.py``): it closes the connection,
which ends any wait here.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from starlette.responses import Response
from starlette.types import Message, Receive, Scope, Send

from buildmock.core.errors import ApiError
from buildmock.server.protocol import EXCESS

#: A JSON string (skipped whole) or a bracket; scanning with it touches only the brackets.
_TOKENS = re.compile(rb'"(?:[^"\\]|\\.)*"|[\[\]{}]')


@dataclass(frozen=True)
class Limits:
    """The limits one app enforces (defaults and flags: ``Settings``)."""

    max_body_bytes: int
    max_json_depth: int
    max_header_bytes: int
    max_headers: int


def json_depth_exceeds(raw: bytes, limit: int) -> bool:
    """Whether a JSON document nests arrays/objects deeper than ``limit`` (brackets in strings
    do not count; malformed documents are measured as far as they go)."""
    if raw.count(b"[") + raw.count(b"{") <= limit:
        return False
    depth = 0
    for match in _TOKENS.finditer(raw):
        token = match.group()
        if token in (b"[", b"{"):
            depth += 1
            if depth > limit:
                return True
        elif token in (b"]", b"}"):
            depth -= 1
    return False


class Seen:
    """What the one pass over a request's headers found (:func:`scan`)."""

    __slots__ = (
        "chunked",
        "content_type",
        "count",
        "length",
        "origin",
        "prefer",
        "shouting",
        "size",
    )

    def __init__(self, count: int) -> None:
        self.count = count
        self.size = 0
        self.length: int | None = None  # Content-Length, if given and a number
        self.chunked = False  # Transfer-Encoding given
        self.content_type: bytes | None = None
        self.shouting = False  # a Content-Type with upper-case letters
        self.origin: bytes | None = None  # the first Origin
        self.prefer = False  # a Prefer header given


_WATCHED = frozenset(
    {b"content-length", b"content-type", b"transfer-encoding", b"origin", b"prefer"}
)


def quick_size(headers: list[tuple[bytes, bytes]]) -> int | None:
    """The header bytes as :func:`scan` counts them, or None if a header it looks at is there
    (most GETs have none: nothing else to decide from their headers)."""
    size = 0
    for key, value in headers:
        if key in _WATCHED:
            return None
        size += len(key) + len(value) + 4
    return size


def scan(headers: list[tuple[bytes, bytes]]) -> Seen:
    """One pass over the headers: their count and bytes, and what every layer decides from."""
    seen = Seen(len(headers))
    size = 0
    for key, value in headers:
        size += len(key) + len(value) + 4
        if key in _WATCHED:
            if key == b"content-length":
                seen.length = int(value) if value.strip().isdigit() else None
            elif key == b"content-type":
                seen.content_type = value
                seen.shouting = seen.shouting or value != value.lower()
            elif key == b"transfer-encoding":
                seen.chunked = True
            elif key == b"origin":
                if seen.origin is None:
                    seen.origin = value
            else:
                seen.prefer = True
    seen.size = size
    return seen


def header_refusal(scope: Scope, seen: Seen, limits: Limits) -> ApiError | None:
    """A 431 if the request has too many headers or too many header bytes."""
    excess = scope.get(EXCESS)
    if excess == "count" or seen.count > limits.max_headers:
        return ApiError(431, f"too many request headers (at most {limits.max_headers})")
    if excess == "bytes" or seen.size > limits.max_header_bytes:
        return ApiError(431, f"request headers too large (at most {limits.max_header_bytes} bytes)")
    return None


def _normalised(
    headers: list[tuple[bytes, bytes]], length: int | None
) -> list[tuple[bytes, bytes]]:
    """The headers as the request path should see them: the media type of ``Content-Type``
    lowercased (media types are case-insensitive), and, once the body has been read whole
    (``length``), ``Content-Length`` in place of any ``Transfer-Encoding``."""
    out: list[tuple[bytes, bytes]] = []
    for key, value in headers:
        if key == b"content-type":
            kind, sep, params = value.partition(b";")
            value = kind.strip().lower() + sep + params
        elif length is not None and key in (b"transfer-encoding", b"content-length"):
            continue
        out.append((key, value))
    if length is not None:
        out.append((b"content-length", str(length).encode()))
    return out


class _TooLarge(Exception):
    pass


class _Disconnected(Exception):
    pass


async def read_body(receive: Receive, limit: int) -> bytes:
    """The whole body; :class:`_TooLarge` past ``limit`` bytes, :class:`_Disconnected` if the
    client leaves (or is cut off by a deadline)."""
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] != "http.request":
            raise _Disconnected
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise _TooLarge
        chunks.append(chunk)
        if not message.get("more_body", False):
            return chunks[0] if len(chunks) == 1 else b"".join(chunks)


def replay(raw: bytes, receive: Receive) -> Receive:
    """A ``receive`` that gives ``raw`` as one message, then whatever the client sends next."""
    sent = False

    async def again() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": raw, "more_body": False}
        return await receive()

    return again


def body_checked(seen: Seen) -> bool:
    """Whether :func:`admit` has anything to do: a body to read, or a media type to lowercase."""
    return seen.chunked or bool(seen.length) or seen.shouting


async def admit(
    scope: Scope, receive: Receive, seen: Seen, limits: Limits
) -> tuple[ApiError | None, Scope, Receive, bytes | None] | None:
    """Read the body once (413 past the limit, 400 past the JSON depth) and give the scope and
    ``receive`` the request path should see, and the body if it was read; None if the client
    left."""
    if seen.length is not None and seen.length > limits.max_body_bytes:
        return _too_large(limits), scope, receive, None
    if not (seen.chunked or seen.length):  # only a media type to lowercase
        return None, {**scope, "headers": _normalised(scope["headers"], None)}, receive, None
    try:
        raw = await read_body(receive, limits.max_body_bytes)
    except _Disconnected:
        return None
    except _TooLarge:
        return _too_large(limits), scope, receive, None
    error = None
    # No Content-Type is read as the operation's JSON by the request path (as Connexion reads it).
    json = seen.content_type is None or b"json" in seen.content_type.lower()
    if json_depth_exceeds(raw, limits.max_json_depth) and json:
        error = ApiError(400, f"JSON nested deeper than {limits.max_json_depth} levels")
    receive = replay(raw, receive)
    if seen.chunked or seen.length != len(raw) or seen.shouting:
        scope = {**scope, "headers": _normalised(scope["headers"], len(raw))}
    return error, scope, receive, raw


def _too_large(limits: Limits) -> ApiError:
    return ApiError(413, f"request body larger than {limits.max_body_bytes} bytes")


async def refuse(
    error: ApiError,
    render: Callable[[str, Exception], Response],
    scope: Scope,
    receive: Receive,
    send: Send,
) -> None:
    """Answer a refusal in the vendor's shape, closing the connection (the rest of the body is
    not read, so the connection must not be reused)."""
    response = render(scope["path"], error)
    response.headers["connection"] = "close"
    await response(scope, receive, send)
