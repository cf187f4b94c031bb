"""uvicorn's HTTP protocols with the limits only a protocol can enforce.

- **Timeouts**: a client must finish sending a request's line and headers within ``timeout`` seconds
  of starting it (or of connecting), and then its body within another ``timeout`` seconds; otherwise
  the connection is closed. uvicorn has neither, so a client trickling bytes held its connection (and
  memory) forever.
- **Header memory** (httptools): past ``max_headers`` headers or ``max_header_bytes`` bytes of
  request line and headers, the rest are not kept; the request is marked (:data:`EXCESS`) and the
  limits layer answers it 431 in the vendor's shape. (h11 bounds the same bytes itself.)
- **One write per answer** (httptools): uvicorn writes an answer's head and its body separately,
  two segments and two system calls; :class:`OneWrite` joins them.
"""

from __future__ import annotations

import asyncio
from typing import Any

from uvicorn.protocols.http.h11_impl import H11Protocol
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

#: Scope key set when a request's headers went past a limit (their excess was not kept).
EXCESS = "buildmock.header_excess"


class _Deadlines:
    """Mixin: close a connection whose request headers, or then whose body, take longer than
    ``header_timeout`` seconds each."""

    header_timeout: float = 10.0
    cycle: Any
    transport: asyncio.Transport
    loop: asyncio.AbstractEventLoop
    _deadline: asyncio.TimerHandle | None = None
    _waiting_for: Any = None
    _for_body = False

    def _arm(self, cycle: Any, for_body: bool) -> None:
        self._disarm()
        self._waiting_for, self._for_body = cycle, for_body
        self._deadline = self.loop.call_later(self.header_timeout, self._expired)

    def _disarm(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None

    def _expired(self) -> None:
        self._deadline = None
        cycle = self.cycle
        if cycle is not self._waiting_for:
            return
        if not self._for_body or (cycle.more_body and not cycle.response_complete):
            self.transport.close()

    def connection_made(self, transport: Any) -> None:
        """Start the clock for the first request's headers."""
        super().connection_made(transport)  # type: ignore[misc]
        self._arm(self.cycle, for_body=False)

    def data_received(self, data: bytes) -> None:
        """Feed the parser; a deadline runs from a request's first byte to the end of its headers,
        and another from there to the end of its body."""
        if self._deadline is None and (self.cycle is None or self.cycle.response_complete):
            self._arm(self.cycle, for_body=False)
        super().data_received(data)  # type: ignore[misc]
        cycle = self.cycle
        if self._deadline is None or cycle is None:
            return
        if cycle is not self._waiting_for:  # its headers are complete
            if cycle.more_body and not cycle.response_complete:
                self._arm(cycle, for_body=True)
            else:
                self._disarm()
        elif self._for_body and (not cycle.more_body or cycle.response_complete):
            self._disarm()

    def connection_lost(self, exc: Exception | None) -> None:
        """Stop the clock."""
        self._disarm()
        super().connection_lost(exc)  # type: ignore[misc]


_begin, _url, _header = (
    HttpToolsProtocol.on_message_begin,
    HttpToolsProtocol.on_url,
    HttpToolsProtocol.on_header,
)


class GuardedHttpTools(_Deadlines, HttpToolsProtocol):
    """httptools with the header and body deadlines and bounded header memory."""

    max_headers: int = 100
    max_header_bytes: int = 16_384
    _header_bytes = 0
    _excess: str | None = None

    # uvicorn's callbacks are called as plain functions, not through ``super()``: these run for
    # every header of every request.

    def on_message_begin(self) -> None:
        """A new request: nothing counted yet."""
        _begin(self)
        self._header_bytes, self._excess = 0, None

    def on_url(self, url: bytes) -> None:
        """Keep the URL while it fits in the header budget."""
        self._header_bytes += len(url)
        if self._header_bytes > self.max_header_bytes:
            self._excess = self._excess or "bytes"
            return
        _url(self, url)

    def on_header(self, name: bytes, value: bytes) -> None:
        """Keep the header while the count and size fit."""
        size = self._header_bytes = self._header_bytes + len(name) + len(value) + 4
        if size > self.max_header_bytes:
            self._excess = self._excess or "bytes"
        elif len(self.headers) >= self.max_headers:
            self._excess = self._excess or "count"
        elif self._excess is None:
            _header(self, name, value)

    def on_headers_complete(self) -> None:
        """Mark a request whose headers went past a limit, then go on as uvicorn does; the new
        request's answer goes out in one write (:class:`OneWrite`)."""
        if self._excess is not None:
            self.scope[EXCESS] = self._excess  # type: ignore[literal-required]
            if not self.url:
                self.url = b"/"
        super().on_headers_complete()
        cycle = self.cycle
        if (
            cycle is not None
            and cycle.transport is self.transport
            and not cycle.waiting_for_100_continue
            and cycle.scope["method"] != "HEAD"
        ):
            cycle.transport = OneWrite(self.transport)


class OneWrite:
    """A request's transport, as its cycle sees it, holding the first write (the answer's head)
    until the second (its first body bytes), so that the two leave in one write: one segment
    instead of two, one system call fewer per answer. Later writes pass straight through.

    Given only to a cycle whose first write is its head and that writes again after it (not for a
    ``HEAD`` request, which writes no body, nor one expecting ``100 Continue``, written first); a
    close writes what is held first, an abort drops it.
    """

    __slots__ = ("held", "transport")

    def __init__(self, transport: asyncio.Transport) -> None:
        self.transport = transport
        self.held: bytes | None = None

    def write(self, data: bytes) -> None:
        """Hold the first write; write it with the second; write the others as they come."""
        held = self.held
        if held is None:
            self.held = data
        elif held is _SENT:
            self.transport.write(data)
        else:
            self.held = _SENT
            self.transport.write(held + data)

    def close(self) -> None:
        """Write what is held, then close."""
        held = self.held
        if held is not None and held is not _SENT:
            self.held = _SENT
            self.transport.write(held)
        self.transport.close()

    def abort(self) -> None:
        """Drop what is held and abort (a reset sends nothing)."""
        self.held = _SENT
        self.transport.abort()

    def is_closing(self) -> bool:
        """The transport's own answer."""
        return self.transport.is_closing()

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        """The transport's own answer."""
        return self.transport.get_extra_info(name, default)


#: What :attr:`OneWrite.held` is once the held bytes have been written (None: nothing yet).
_SENT = b""


class GuardedH11(_Deadlines, H11Protocol):
    """h11 with the header and body deadlines (h11 bounds header bytes itself)."""


def protocol(
    base: str, *, timeout: float, max_headers: int, max_header_bytes: int
) -> type[asyncio.Protocol]:
    """The protocol class for uvicorn's ``http=`` option: ``httptools`` or ``h11``, guarded."""
    if base == "httptools":
        return type(
            "HttpToolsProtocol",
            (GuardedHttpTools,),
            {"header_timeout": timeout, "max_headers": max_headers,
             "max_header_bytes": max_header_bytes},
        )  # fmt: skip
    return type("H11Protocol", (GuardedH11,), {"header_timeout": timeout})


def configure_protocols(timeout: float, max_headers: int, max_header_bytes: int) -> None:
    """Set the limits of the guarded protocols themselves, for a worker process, where uvicorn
    names the protocol by import path (a class made by :func:`protocol` cannot be sent there)."""
    for guarded in (GuardedHttpTools, GuardedH11):
        guarded.header_timeout = timeout
    GuardedHttpTools.max_headers = max_headers
    GuardedHttpTools.max_header_bytes = max_header_bytes
