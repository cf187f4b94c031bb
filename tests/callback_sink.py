"""An in-memory callback receiver: the ``httpx.MockTransport`` a dispatcher delivers through."""

from __future__ import annotations

import threading
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import httpx
import orjson


@dataclass(frozen=True)
class Delivery:
    """One POST as the transport received it."""

    url: httpx.URL
    host: str
    sni: str | None
    body: Any

    @property
    def path(self) -> str:
        """The request path, without the query."""
        return self.url.path

    @property
    def query(self) -> str:
        """The raw query string."""
        return self.url.query.decode()


class Sink:
    """Records every callback; answers the statuses given, in turn (the last one repeats).

    ``raises`` makes the transport fail the connection instead, as a refused socket would.
    """

    def __init__(self, statuses: Iterable[int] = (200,), raises: bool = False) -> None:
        self._statuses = list(statuses)
        self._raises = raises
        self._cond = threading.Condition()
        self.deliveries: list[Delivery] = []
        self.transport = httpx.MockTransport(self._handle)

    def _handle(self, request: httpx.Request) -> httpx.Response:
        delivery = Delivery(request.url, request.headers["host"],
                            request.extensions.get("sni_hostname"), orjson.loads(request.read()))  # fmt: skip
        with self._cond:
            self.deliveries.append(delivery)
            status = self._statuses.pop(0) if len(self._statuses) > 1 else self._statuses[0]
            self._cond.notify_all()
        if self._raises:
            raise httpx.ConnectError("connection refused", request=request)
        return httpx.Response(status)

    @staticmethod
    def url(path: str = "/callback") -> str:
        """A loopback callback URL (nothing listens there: the sink is in memory)."""
        return f"http://127.0.0.1:9911{path}"

    def got(self) -> list[tuple[str, Any]]:
        """``(path, body)`` of every delivery so far."""
        with self._cond:
            return [(d.path, d.body) for d in self.deliveries]

    def wait_for(self, count: int, timeout: float = 10.0) -> list[tuple[str, Any]]:
        """What arrived once ``count`` deliveries did (or the time ran out): for the real clock."""
        with self._cond:
            self._cond.wait_for(lambda: len(self.deliveries) >= count, timeout)
        return self.got()
