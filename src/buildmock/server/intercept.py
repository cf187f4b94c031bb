"""What stands in front of the request path for a vendor request: journal, ``Prefer``, scenarios,
faults.

The dispatch (``layers.py``) journals every vendor request and hands the ones that are not plain
to :meth:`Interceptor.serve`; the request path never knows about it. A request with no ``Prefer``
header, while no scenario rule is in force, costs one journal record and nothing else (figures in
bench/RESULTS.md).
"""

from __future__ import annotations

import asyncio
import random
import socket
import struct
from collections.abc import Callable
from http import HTTPStatus
from typing import TYPE_CHECKING, Any

from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from buildmock.core import prefer
from buildmock.core.errors import ApiError
from buildmock.core.prefer import Latency, Preferences, PreferError
from buildmock.server.journal import APPLIED, BODY, DELAY, MAX_BODY, Row
from buildmock.server.operations import Operation, OperationTable
from buildmock.vendors.base import json_response

if TYPE_CHECKING:
    from buildmock.server.mock import BuildMock

#: Methods whose request body the journal keeps (the others are not read for it).
BODY_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
#: ``Retry-After`` (seconds) of a 429 fault that does not say.
DEFAULT_RETRY_AFTER = 1


class TransportFault(ConnectionError):
    """Raised to the server when the connection cannot be broken directly (not under uvicorn)."""


class Interceptor:
    """Applies what ``Prefer`` and the scenario rules ask for; ``app`` is the request path."""

    def __init__(
        self,
        app: ASGIApp,
        mock: BuildMock,
        operations: OperationTable,
        render: Callable[[str, Exception], Response],
    ) -> None:
        self.app = app
        self.mock = mock
        self.operations = operations
        self.render = render
        self.vendors = frozenset(mock.runtimes)
        # The spec documents and the Swagger UI Connexion serves under each prefix are not the
        # vendor's API: not journaled (they would read as requests the spec lacks), never faulted.
        self.documents = frozenset(
            f"/{vendor}{tail}"
            for vendor in mock.runtimes
            for tail in ("/openapi.json", "/openapi.yaml", "/ui")
        )
        self.ui = tuple(f"/{vendor}/ui/" for vendor in mock.runtimes)
        self.journal = mock.journal
        self.scenarios = mock.scenarios
        self.rng = random.Random(f"{mock.settings.seed}:prefer")

    def reset(self) -> None:
        """Restart the stream latency ranges are drawn from (with the mock's reset)."""
        self.rng = random.Random(f"{self.mock.settings.seed}:prefer")

    def journaled(self, path: str) -> bool:
        """Whether a request for ``path`` under a vendor's prefix is the vendor's API (journaled,
        open to ``Prefer`` and the rules), not its spec documents or Swagger UI."""
        return path not in self.documents and not path.startswith(self.ui)

    def plain(self, seen_prefer: bool) -> bool:
        """Whether a request is served as it is: no ``Prefer`` header, no rule in force."""
        return not seen_prefer and not self.scenarios.rules

    async def serve(
        self,
        scope: Scope,
        receive: Receive,
        send: Send,
        raw_send: Send,
        vendor: str,
        row: Row | None,
    ) -> None:
        """Serve a request that is not plain: its ``Prefer`` and the rules applied; ``raw_send``
        is the server's own (transport faults break its connection)."""
        values = [v.decode("latin-1") for k, v in scope["headers"] if k == b"prefer"]
        path: str = scope["path"]
        below = path[len(vendor) + 1 :]
        try:
            prefs = prefer.parse(values) if values else prefer.NONE
        except PreferError as exc:
            await _drain(receive)
            await self.render(path, ApiError(400, f"Prefer: {exc}"))(scope, receive, send)
            return
        asked = prefs.outcome
        applied: list[str] = []
        if self.scenarios.rules:
            ruled, fired = self.scenarios.apply(
                vendor, scope["method"], below, self.mock.clock.now()
            )
            prefs = prefs.over(ruled)
            applied.extend(f"scenario:{rule}" for rule in fired)
        if not prefs.given:
            await self.app(scope, receive, send)
            return
        applied.append(prefs.describe())
        if row is not None:
            row[APPLIED] = applied
        if prefs.latency is not None:
            delay = self._delay(prefs.latency)
            if row is not None:
                row[DELAY] = delay
            await asyncio.sleep(delay)
        if prefs.fault is not None:
            await self._fault(prefs, scope, receive, send, raw_send)
            return
        if prefs.code is not None or prefs.example is not None or prefs.dynamic is False:
            operation = self.operations.find(vendor, scope["method"], below)
            if operation is not None:
                try:
                    answer = self._documented(operation, prefs)
                except ApiError as exc:
                    answer = self.render(path, exc)
                if answer is not None:
                    await _drain(receive)
                    await answer(scope, receive, send)
                    return
        if (prefs.outcome is not None and asked is None) or len(values) > 1:
            scope = _with_prefer(scope, values, prefs.outcome if asked is None else None)
        await self.app(scope, receive, send)

    def _delay(self, latency: Latency) -> float:
        if latency.high is None:
            return latency.low
        return self.rng.uniform(latency.low, latency.high)

    def _documented(self, operation: Operation, prefs: Preferences) -> Response | None:
        """The spec's own answer asked for with code/example/dynamic; None: the handler's."""
        where = f"{operation.method} {operation.template}"
        code = prefs.code
        codes = operation.codes()
        if code is not None and code not in codes:
            raise ApiError(
                400,
                f"Prefer: code={code} is not documented for {where}; "
                f"documented: {', '.join(map(str, codes))}",
            )
        if prefs.example is not None:
            names = operation.example_names(code)
            if prefs.example not in names:
                listed = ", ".join(names) if names else "none"
                raise ApiError(
                    400, f"Prefer: example={prefs.example} is not an example of {where}; "
                    f"its examples: {listed}",
                )  # fmt: skip
            named = code or names[prefs.example]
            return _answer(operation.example(named, prefs.example), named)
        success = operation.success()
        wanted = code if code is not None else success
        if wanted is None:
            return None
        if wanted >= 400:
            raise ApiError(wanted, f"{_phrase(wanted)} (Prefer: code={wanted})")
        if wanted == success and prefs.dynamic is not False:
            return None
        return _answer(operation.example(wanted), wanted)

    async def _fault(
        self, prefs: Preferences, scope: Scope, receive: Receive, send: Send, raw_send: Send
    ) -> None:
        fault = prefs.fault or ""
        status = prefer.STATUS_FAULTS.get(fault)
        if status is not None or fault in ("reset", "empty"):
            await _drain(receive)
        if status is not None:
            extra = {}
            if status == 429:
                retry = prefs.retry_after if prefs.retry_after is not None else DEFAULT_RETRY_AFTER
                extra["Retry-After"] = str(retry)
            error = ApiError(status, f"{_phrase(status)} (fault {fault})", headers=extra)
            await self.render(scope["path"], error)(scope, receive, send)
            return
        if fault in ("reset", "empty"):
            await _break(raw_send, scope, reset=fault == "reset")
            return
        start, body = await _capture(self.app, scope, receive)
        if fault == "truncated":
            await send(start)
            await send({"type": "http.response.body", "body": body[: len(body) // 2],
                        "more_body": True})  # fmt: skip
            await _break(raw_send, scope, reset=False)
            return
        # malformed-chunk: the answer's head, then a chunk whose size line is not hexadecimal.
        headers = [(k, v) for k, v in start["headers"] if k.lower() != b"content-length"]
        await send({**start, "headers": headers})
        await send({"type": "http.response.body", "body": b"", "more_body": True})
        transport = _transport(raw_send)
        if transport is None:
            raise TransportFault("malformed chunk")
        transport.write(b"zz\r\n" + body[: max(1, len(body) // 2)] + b"\r\n")
        await _break(raw_send, scope, reset=False)


def install(
    app: ASGIApp, mock: BuildMock, render: Callable[[str, Exception], Response]
) -> Interceptor:
    """The interceptor in front of ``app``, restarted with every reset of ``mock``."""
    layer = Interceptor(app, mock, mock.operations, render)
    mock.on_reset.append(layer.reset)
    return layer


def _phrase(status: int) -> str:
    try:
        return HTTPStatus(status).phrase.lower()
    except ValueError:
        return "error"


async def _drain(receive: Receive) -> None:
    """Read the request body (so the journal has it) when no handler will."""
    while True:
        message = await receive()
        if message["type"] != "http.request" or not message.get("more_body"):
            return


def _answer(body: Any, status: int) -> Response:
    if body is None:
        return Response(status_code=status)
    return json_response(body, status)


def _with_prefer(scope: Scope, values: list[str], outcome: str | None) -> Scope:
    """The scope with one ``Prefer`` header (handlers read the first), plus a scenario's outcome."""
    merged = ([f"outcome={outcome}"] if outcome else []) + values
    headers = [(k, v) for k, v in scope["headers"] if k != b"prefer"]
    headers.append((b"prefer", ", ".join(merged).encode("latin-1")))
    return {**scope, "headers": headers}


def recording_receive(row: Row, receive: Receive) -> Receive:
    """``receive`` that also keeps (the first MAX_BODY bytes of) the request body."""

    async def recorded() -> Message:
        message = await receive()
        chunk = message.get("body")
        if chunk and len(row[BODY]) < MAX_BODY:
            row[BODY] += chunk[: MAX_BODY - len(row[BODY])]
        return message

    return recorded


async def _capture(app: ASGIApp, scope: Scope, receive: Receive) -> tuple[Message, bytes]:
    """Run ``app`` and keep its answer instead of sending it."""
    start: Message = {"type": "http.response.start", "status": 500, "headers": []}
    chunks: list[bytes] = []

    async def keep(message: Message) -> None:
        nonlocal start
        if message["type"] == "http.response.start":
            start = message
        elif message["type"] == "http.response.body":
            chunks.append(message.get("body", b""))

    await app(scope, receive, keep)
    return start, b"".join(chunks)


def _cycle(send: Send, depth: int = 0) -> Any:
    """The object owning the asyncio transport: uvicorn's request cycle, whose ``send`` it is.

    ``send`` may be wrapped by layers in front of this one: their closures are searched too.
    """
    owner = getattr(send, "__self__", None)
    if getattr(owner, "transport", None) is not None or depth > 4:
        return owner
    for cell in getattr(send, "__closure__", None) or ():
        try:
            inner = cell.cell_contents
        except ValueError:
            continue
        if callable(inner):
            found = _cycle(inner, depth + 1)
            if found is not None:
                return found
    return None


def _transport(send: Send) -> Any:
    """The asyncio transport behind ``send``, or None (not served by uvicorn)."""
    return getattr(_cycle(send), "transport", None)


async def _break(send: Send, scope: Scope, *, reset: bool) -> None:
    """Close the connection now: with an RST (``reset``) or a plain FIN, nothing more sent."""
    cycle = _cycle(send)
    transport = getattr(cycle, "transport", None)
    if transport is None:
        raise TransportFault("connection reset" if reset else "connection closed")
    if reset:
        sock = transport.get_extra_info("socket")
        if sock is not None:
            # SO_LINGER with a zero timeout: close() sends RST instead of FIN.
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        transport.abort()
    else:
        transport.close()
    # Let the server see the connection go, so it does not answer in our place.
    for _ in range(50):
        if getattr(cycle, "disconnected", True):
            return
        await asyncio.sleep(0.001)
