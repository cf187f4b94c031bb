"""Real HTTP servers for contract tests: uvicorn in a thread on an ephemeral loopback port."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from buildmock.server import create_app
from buildmock.settings import Settings
from buildmock.testing.server import serve_in_thread

Scope = dict[str, Any]
#: (status, content-type, body) -> (status, content-type, body); applied to a target operation's responses.
Mutation = Callable[[int, str, bytes], tuple[int, str, bytes]]


#: Serve an ASGI app on 127.0.0.1 at a free port while a block runs (yields the base URL): the plugin's.
serve = serve_in_thread


def mock_app(token: str | None = None, fixtures: bool = True) -> Any:
    """The real Stainless mock, with bundled fixtures (so lists have builds) and a fast real clock."""
    values: dict[str, Any] = {
        "apis": ("stainless",),
        "token": token,
        "clock": "real",
        "speed": 60.0,
    }
    if not fixtures:
        values["fixtures"] = None
    return create_app(Settings(**values))


class Recorder:
    """ASGI wrapper remembering every (method, path) that reached the app."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.seen: list[tuple[str, str]] = []

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            self.seen.append((scope["method"], scope["path"]))
        await self.app(scope, receive, send)


class Drifted:
    """ASGI wrapper that rewrites the responses of one operation (method + exact path) with ``mutate``."""

    def __init__(
        self, app: Any, mutate: Mutation, method: str = "GET", path: str = "/stainless/v0/builds"
    ) -> None:
        self.app, self.mutate, self.method, self.path = app, mutate, method, path

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if (
            scope["type"] != "http"
            or scope["method"] != self.method
            or scope["path"].rstrip("/") != self.path
        ):
            await self.app(scope, receive, send)
            return
        start: dict[str, Any] = {}
        chunks: list[bytes] = []

        async def capture(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                start.update(message)
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))

        await self.app(scope, receive, capture)
        headers = {k.decode().lower(): v.decode() for k, v in start.get("headers", [])}
        status, ctype, body = self.mutate(
            start["status"], headers.get("content-type", ""), b"".join(chunks)
        )
        headers["content-type"] = ctype
        headers["content-length"] = str(len(body))
        raw = [(k.encode(), v.encode()) for k, v in headers.items()]
        await send({"type": "http.response.start", "status": status, "headers": raw})
        await send({"type": "http.response.body", "body": body})


def on_json_200(change: Callable[[dict[str, Any]], None]) -> Mutation:
    """A mutation editing the JSON body of 200 responses in place; other responses pass unchanged."""

    def mutate(status: int, ctype: str, body: bytes) -> tuple[int, str, bytes]:
        if status != 200 or not ctype.startswith("application/json"):
            return status, ctype, body
        data = json.loads(body)
        change(data)
        return status, ctype, json.dumps(data).encode()

    return mutate


def on_200(
    status_to: int | None = None, ctype_to: str | None = None, body_to: bytes | None = None
) -> Mutation:
    """A mutation replacing the status, content type and/or body of 200 responses."""

    def mutate(status: int, ctype: str, body: bytes) -> tuple[int, str, bytes]:
        if status != 200:
            return status, ctype, body
        return status_to or status, ctype_to or ctype, body if body_to is None else body_to

    return mutate
