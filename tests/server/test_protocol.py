"""The guarded httptools protocol's answers leave in one write: driven through a recording
transport, no socket."""

from __future__ import annotations

import asyncio
from typing import Any

from uvicorn.config import Config
from uvicorn.server import ServerState

from buildmock.server.protocol import GuardedHttpTools, OneWrite

Message = dict[str, Any]


class Recording(asyncio.Transport):
    """A transport that keeps every write and close, in order."""

    def __init__(self) -> None:
        super().__init__()
        self.events: list[bytes | str] = []
        self.closing = False

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        """A loopback peer."""
        return {"peername": ("127.0.0.1", 50000), "sockname": ("127.0.0.1", 8080)}.get(
            name, default
        )

    def write(self, data: bytes | bytearray | memoryview) -> None:
        """Keep the bytes of one write."""
        self.events.append(bytes(data))

    def close(self) -> None:
        """Keep the close."""
        self.events.append("close")
        self.closing = True

    def is_closing(self) -> bool:
        """Whether closed."""
        return self.closing

    def pause_reading(self) -> None:
        """Nothing to pause."""

    def resume_reading(self) -> None:
        """Nothing to resume."""

    @property
    def writes(self) -> list[bytes]:
        """The writes, without the close."""
        return [event for event in self.events if isinstance(event, bytes)]


async def exchange(app: Any, request: bytes, later: bytes = b"") -> Recording:
    """Feed ``request`` to a guarded protocol serving ``app`` (then ``later``, once it has
    started); the transport once answered."""
    config = Config(app=app, http=GuardedHttpTools, lifespan="off", log_level="critical")
    config.load()
    transport = Recording()
    proto = GuardedHttpTools(config=config, server_state=ServerState(), app_state={})
    proto.connection_made(transport)
    proto.data_received(request)
    await asyncio.sleep(0)
    if later:
        await asyncio.sleep(0)
        proto.data_received(later)
    for _ in range(50):
        if proto.cycle is not None and proto.cycle.response_complete:
            break
        await asyncio.sleep(0)
    proto.connection_lost(None)
    return transport


def answering(*messages: Message, fail: bool = False, one_write: bool = True) -> Any:
    """An ASGI app sending ``messages`` (then raising, with ``fail``); it checks whether its
    cycle's transport is a :class:`OneWrite` (never for a ``HEAD``)."""

    async def app(scope: Any, receive: Any, send: Any) -> None:
        wanted = one_write and scope["method"] != "HEAD"
        assert isinstance(send.__self__.transport, OneWrite) is wanted
        if scope["method"] == "POST":
            await receive()
        for message in messages:
            await send(message)
        if fail:
            raise RuntimeError("the app failed")

    return app


START: Message = {
    "type": "http.response.start",
    "status": 200,
    "headers": [(b"content-type", b"application/json"), (b"content-length", b"11")],
}
GET = b"GET /x HTTP/1.1\r\nHost: t\r\n\r\n"


def test_head_and_body_leave_in_one_write() -> None:
    app = answering(START, {"type": "http.response.body", "body": b'{"id":"b1"}'})
    transport = asyncio.run(exchange(app, GET))
    assert len(transport.writes) == 1
    head, _, body = transport.writes[0].partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200 OK\r\n") and b"content-length: 11" in head
    assert body == b'{"id":"b1"}'


def test_a_head_request_gets_its_head() -> None:
    app = answering(START, {"type": "http.response.body", "body": b""})
    transport = asyncio.run(exchange(app, GET.replace(b"GET", b"HEAD")))
    assert len(transport.writes) == 1
    assert transport.writes[0].startswith(b"HTTP/1.1 200 OK") and transport.writes[0].endswith(
        b"\r\n\r\n"
    )


def test_a_streamed_answer_sends_its_head_with_the_first_part_then_each_part() -> None:
    start = {**START, "headers": [(b"content-type", b"text/plain")]}  # chunked
    parts = [
        {"type": "http.response.body", "body": b"one", "more_body": True},
        {"type": "http.response.body", "body": b"two", "more_body": True},
        {"type": "http.response.body", "body": b"", "more_body": False},
    ]
    transport = asyncio.run(exchange(answering(start, *parts), GET))
    assert len(transport.writes) == 3
    assert b"transfer-encoding: chunked" in transport.writes[0]
    assert transport.writes[0].endswith(b"\r\n\r\n3\r\none\r\n")
    assert transport.writes[1:] == [b"3\r\ntwo\r\n", b"0\r\n\r\n"]


def test_connection_close_writes_before_it_closes() -> None:
    app = answering(START, {"type": "http.response.body", "body": b'{"id":"b1"}'})
    request = GET.replace(b"Host: t", b"Host: t\r\nConnection: close")
    transport = asyncio.run(exchange(app, request))
    first, then = transport.events[:2]  # (the test's connection_lost closes again after)
    assert isinstance(first, bytes) and first.endswith(b'{"id":"b1"}') and then == "close"
    assert len(transport.writes) == 1


def test_an_app_failing_after_its_head_has_its_head_written_before_the_close() -> None:
    transport = asyncio.run(exchange(answering(START, fail=True), GET))
    first, then = transport.events[:2]
    assert isinstance(first, bytes) and first.startswith(b"HTTP/1.1 200 OK") and then == "close"


def test_an_app_failing_before_its_head_gets_uvicorns_500() -> None:
    transport = asyncio.run(exchange(answering(fail=True), GET))
    assert len(transport.writes) == 1
    assert transport.writes[0].startswith(b"HTTP/1.1 500 Internal Server Error\r\n")


def test_100_continue_goes_first_on_its_own() -> None:
    body = {"type": "http.response.body", "body": b'{"id":"b1"}'}
    app = answering(START, body, one_write=False)
    request = b"POST /x HTTP/1.1\r\nHost: t\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\n"
    transport = asyncio.run(exchange(app, request, b"{}"))
    assert transport.writes[0] == b"HTTP/1.1 100 Continue\r\n\r\n"
    answer = b"".join(transport.writes[1:])  # as uvicorn writes it: this cycle is not joined
    assert answer.startswith(b"HTTP/1.1 200 OK") and answer.endswith(b'{"id":"b1"}')
