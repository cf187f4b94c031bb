"""What stands in front of the request path, as one dispatch.

One ASGI entry scans a request's headers once (:func:`limits.scan`) and decides from that record,
in this order: CORS (``cors.py``: a preflight answered, or the answer marked), the input limits
(``limits.py``: 431, 413, 400; the body read once), the control guard (``guard.py``), the
dashboard's files (``dashboard.py``), then, for a vendor's API, the journal row and ``Prefer``,
the scenario rules and faults (``intercept.py``), and calls the request path. The decisions live
in those modules as plain functions; this module only orders them. A plain vendor request (no
``Origin`` to mark, no body, no ``Prefer``, no rule) gets the request path's answer and sends it
without any wrapper around ``receive`` or ``send``. The access log (``--access-log``), off by
default, wraps it all (``accesslog.py``).
"""

from __future__ import annotations

import re
import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from buildmock.server import cors, guard, intercept, limits
from buildmock.server.dashboard import Dashboard
from buildmock.server.gcpace import Pacer
from buildmock.server.journal import BODY, DURATION, MAX_BODY, STATUS
from buildmock.server.protocol import EXCESS
from buildmock.server.request_path import send_response
from buildmock.settings import Settings
from buildmock.vendors.base import NEXT_OUTCOME

if TYPE_CHECKING:
    from buildmock.server.mock import BuildMock

Render = Callable[[str, Exception], Response]
#: The request path's answer to a request, not sent yet (``RequestPath.answer``).
Answer = Callable[[Scope, Receive], Awaitable[Response]]


def limits_of(settings: Settings) -> limits.Limits:
    """The input limits ``settings`` asks for."""
    return limits.Limits(
        max_body_bytes=settings.max_body_bytes,
        max_json_depth=settings.max_json_depth,
        max_header_bytes=settings.max_header_bytes,
        max_headers=settings.max_headers,
    )


class Dispatch:
    """The ASGI entry in front of ``inner`` (the request path, or any ASGI app serving the same
    requests: with an ``answer`` method it is asked for the answer and the dispatch sends it)."""

    def __init__(self, inner: ASGIApp, mock: BuildMock, render: Render) -> None:
        settings = mock.settings
        self.inner = inner
        self.answer: Answer | None = getattr(inner, "answer", None)
        self.mock = mock
        self.render = render
        self.limits = limits_of(settings)
        self.origins: re.Pattern[str] | None = (
            cors.origin_matcher(settings.cors_origins) if settings.cors_origins else None
        )
        self.credential = settings.control_credential
        self.runtimes = mock.runtimes
        self.dashboard = Dashboard(mock)
        self.interceptor = intercept.install(inner, mock, render)
        self.journal = mock.journal
        self.scenarios = mock.scenarios
        self.pacer = Pacer()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Decide, in order, what answers the request; a plain one goes straight through."""
        if scope["type"] != "http":
            if scope["type"] == "lifespan":
                receive = self.lifespan(receive)
            await self.inner(scope, receive, send)
            return
        path: str = scope["path"]
        headers = scope["headers"]
        size = limits.quick_size(headers)
        bounds = self.limits
        if (
            size is None
            or size > bounds.max_header_bytes
            or len(headers) > bounds.max_headers
            or EXCESS in scope
        ):
            admitted = await self._admit(path, scope, receive, send)
            if admitted is None:  # answered (a preflight, a refusal) or the client left
                return
            scope, receive, send, prefer, body = admitted
        else:
            prefer, body = False, None
        vendor = path[1:].partition("/")[0]
        runtime = self.runtimes.get(vendor)
        if runtime is None:
            await self._not_vendor(path, scope, receive, send)
            return
        NEXT_OUTCOME.set(runtime.next_outcome)  # for this request only (its own context)
        interceptor = self.interceptor
        answer = self.answer
        if path in interceptor.documents or path.startswith(interceptor.ui):
            await self.inner(scope, receive, send)  # a spec or the Swagger UI: not the API
            return
        plain = not prefer and not self.scenarios.rules
        direct = plain and answer is not None and "/ui" not in path
        journal = self.journal
        if journal is None:
            try:
                if direct:
                    assert answer is not None
                    await send_response(await answer(scope, receive), scope, receive, send)
                elif plain:
                    await self.inner(scope, receive, send)
                else:
                    await interceptor.serve(scope, receive, send, send, vendor, None)
            finally:
                if scope["method"] in intercept.BODY_METHODS:  # what may store new records
                    self.pacer.served()
            return
        row = journal.record(scope, vendor, self.mock.clock.now())
        if body is not None:  # read whole by the limits: kept from there, no receive to wrap
            row[BODY] = body if len(body) <= MAX_BODY else body[:MAX_BODY]
        elif scope["method"] in intercept.BODY_METHODS:
            receive = intercept.recording_receive(row, receive)
        try:
            if direct:
                assert answer is not None
                response = await answer(scope, receive)
                row[STATUS] = response.status_code
                await send_response(response, scope, receive, send)
            elif plain:
                await self.inner(scope, receive, _recording_send(row, send))
            else:
                recording = _recording_send(row, send)
                await interceptor.serve(scope, receive, recording, send, vendor, row)
        finally:
            row[DURATION] = time.time() - row[1]
            keeping = journal.finish(row)
            # Once the answer is sent, so a collection delays no answer of its own request.
            if scope["method"] in intercept.BODY_METHODS:  # what may store new records
                self.pacer.served()
            if keeping is not None:
                await keeping

    async def _admit(
        self, path: str, scope: Scope, receive: Receive, send: Send
    ) -> tuple[Scope, Receive, Send, bool, bytes | None] | None:
        """CORS, then the input limits, for a request with a header they look at (or over a
        header limit): what to go on with (whether ``Prefer`` was given, and the body if it was
        read), or None once answered."""
        seen = limits.scan(scope["headers"])
        if seen.origin is not None and self.origins is not None:
            origin = cors.allowed_origin(self.origins, path, seen.origin)
            if origin is not None:
                allowed = cors.preflight(scope, origin)
                if allowed is not None:
                    await send({"type": "http.response.start", "status": 204, "headers": allowed})
                    await send({"type": "http.response.body", "body": b""})
                    return None
                send = cors.marking(send, origin)
        bounds = self.limits
        error = limits.header_refusal(scope, seen, bounds)
        body = None
        if error is None and (seen.chunked or seen.length or seen.shouting):
            admitted = await limits.admit(scope, receive, seen, bounds)
            if admitted is None:  # the client left
                return None
            error, scope, receive, body = admitted
        if error is not None:
            await limits.refuse(error, self.render, scope, receive, send)
            return None
        return scope, receive, send, seen.prefer, body

    def lifespan(self, receive: Receive) -> Receive:
        """``receive`` for the server's lifespan events (as it is; a subclass may watch them)."""
        return receive

    async def _not_vendor(self, path: str, scope: Scope, receive: Receive, send: Send) -> None:
        """The control API behind its guard, the dashboard's files, or the request path's 404."""
        if guard.is_control(path):
            error = guard.refusal(scope, self.credential)
            if error is not None:
                await self.render(path, error)(scope, receive, send)
                return
        if self.dashboard.handles(path):
            await self.dashboard.serve(scope, send)
            return
        await self.inner(scope, receive, send)


def _recording_send(row: list[Any], send: Send) -> Send:
    """``send`` that also notes the answer's status in the journal ``row``."""

    def recording(message: Message) -> Awaitable[None]:
        # Not a coroutine itself: one frame less per message.
        if message["type"] == "http.response.start":
            row[STATUS] = message["status"]
        return send(message)

    return recording
