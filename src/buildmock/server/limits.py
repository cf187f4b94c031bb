"""Input limits, enforced before anything parses a request: header count and size (431), body size
(413), JSON nesting depth (400), and how long a client may take to send its body (408).

An ASGI layer; a refusal is rendered in the vendor's error shape by the shared renderer. The body is
read here in full (it is at most ``max_body_bytes``) and replayed to the app, so every request path
behind this layer sees one complete body whatever the transfer encoding (``Content-Length`` or
chunked). The header timeout lives with the server protocol (``server/protocol.py``).
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable
from dataclasses import dataclass

from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

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
    timeout: float


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


def header_refusal(scope: Scope, limits: Limits) -> ApiError | None:
    """A 431 if the request has too many headers or too many header bytes."""
    headers = scope.get("headers") or []
    excess = scope.get(EXCESS)
    if excess == "count" or len(headers) > limits.max_headers:
        return ApiError(431, f"too many request headers (at most {limits.max_headers})")
    size = sum(len(k) + len(v) + 4 for k, v in headers)
    if excess == "bytes" or size > limits.max_header_bytes:
        return ApiError(431, f"request headers too large (at most {limits.max_header_bytes} bytes)")
    return None


def _declared_length(scope: Scope) -> int | None:
    for key, value in scope.get("headers") or []:
        if key == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


def _has_body(scope: Scope) -> bool:
    return any(
        (k == b"content-length" and v.strip() not in (b"", b"0")) or k == b"transfer-encoding"
        for k, v in scope.get("headers") or []
    )


def _normalised(
    headers: list[tuple[bytes, bytes]], length: int | None
) -> list[tuple[bytes, bytes]]:
    """The headers as both request paths should see them: the media type of ``Content-Type``
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


def _shouting(scope: Scope) -> bool:
    """Whether a ``Content-Type`` has upper-case letters (rare: most requests need no copy)."""
    return any(k == b"content-type" and v != v.lower() for k, v in scope.get("headers") or [])


def _json_like(scope: Scope) -> bool:
    """JSON or no declared type (which the request paths read as the operation's JSON)."""
    types = [v for k, v in scope.get("headers") or [] if k == b"content-type"]
    return not types or any(b"json" in v.lower() for v in types)


class _TooLarge(Exception):
    pass


class _Disconnected(Exception):
    pass


async def read_body(receive: Receive, limit: int, timeout: float) -> bytes:
    """The whole body; :class:`_TooLarge` past ``limit`` bytes, ``TimeoutError`` if the client
    takes longer than ``timeout`` seconds in all, :class:`_Disconnected` if it leaves."""
    chunks: list[bytes] = []
    size = 0
    async with asyncio.timeout(timeout):
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
                return b"".join(chunks)


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


class LimitsLayer:
    """ASGI layer enforcing :class:`Limits`; refusals go through ``render(path, ApiError)``."""

    def __init__(
        self, app: ASGIApp, limits: Limits, render: Callable[[str, Exception], Response]
    ) -> None:
        self.app = app
        self.limits = limits
        self.render = render

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Refuse what is over a limit; pass the rest on with its body read once."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limits = self.limits
        error = header_refusal(scope, limits)
        if error is None and _has_body(scope):
            declared = _declared_length(scope)
            if declared is not None and declared > limits.max_body_bytes:
                error = self._too_large()
            else:
                try:
                    raw = await read_body(receive, limits.max_body_bytes, limits.timeout)
                except _Disconnected:
                    return
                except _TooLarge:
                    error = self._too_large()
                except TimeoutError:
                    error = ApiError(408, f"request body not received within {limits.timeout:g} s")
                else:
                    if _json_like(scope) and json_depth_exceeds(raw, limits.max_json_depth):
                        error = ApiError(
                            400, f"JSON nested deeper than {limits.max_json_depth} levels"
                        )
                    receive = replay(raw, receive)
                    scope = {**scope, "headers": _normalised(scope["headers"], len(raw))}
        elif error is None and _shouting(scope):
            scope = {**scope, "headers": _normalised(scope["headers"], None)}
        if error is not None:
            response = self.render(scope["path"], error)
            # What is left of the body is not read: the connection must not be reused.
            response.headers["connection"] = "close"
            await response(scope, receive, send)
            return
        await self.app(scope, receive, send)

    def _too_large(self) -> ApiError:
        return ApiError(413, f"request body larger than {self.limits.max_body_bytes} bytes")
