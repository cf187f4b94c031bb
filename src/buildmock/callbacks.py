"""Completion callbacks: POST a finished record to the URL its creator gave, once, in the background.

This is the only background activity in buildmock, and it never changes state: a vendor tells the
dispatcher when a record will finish (``schedule``); when that time comes (``tick`` under any clock, and
a timer thread under the real clock) the record is rendered and queued, and a worker thread delivers it
with httpx. Pending callbacks wait in a :class:`Schedule`: this process's own, or one every process
shares (``store.redis.SharedSchedule``), which hands each due callback to one process only. Only
hosts on an allow-list are contacted (loopback by default, widened by ``--callback-allow``): the
name is checked, then resolved, every address it resolves to is checked, and the connection goes to
the checked address (the name is kept for ``Host`` and TLS), so a name cannot be re-resolved
somewhere else in between; the mock's own listening port is never a target.
A delivery is tried at most ``attempts`` times with a timeout; every outcome is logged and kept for
the control API.

Both sides of the network are injectable: ``resolve`` (a :data:`Resolver`, ``getaddrinfo`` by
default) answers which addresses a name has, and ``transport`` (any ``httpx.BaseTransport``, e.g.
``httpx.MockTransport``) carries the POST to the checked address, so tests deliver in memory and
still see every check.
"""

from __future__ import annotations

import ipaddress
import logging
import socket
import threading
import time
from collections import OrderedDict, deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, Protocol

import httpx
import orjson

from buildmock.core.net import is_loopback_host, normalise_host

log = logging.getLogger("buildmock.callbacks")


def host_allowed(host: str, extra: Iterable[str] = ()) -> bool:
    """Whether ``host`` is loopback (see :func:`is_loopback_host`) or listed in ``extra``.

    An ``extra`` entry is a host name (compared case-insensitively), an IP address or a network
    in CIDR notation.
    """
    name = normalise_host(host)
    if not name:
        return False
    if is_loopback_host(name):
        return True
    address: ipaddress.IPv4Address | ipaddress.IPv6Address | None
    try:
        address = ipaddress.ip_address(name)
    except ValueError:
        address = None
    for entry in extra:
        wanted = normalise_host(entry)
        if not wanted:
            continue
        if wanted == name:
            return True
        if address is not None:
            try:
                if address in ipaddress.ip_network(wanted, strict=False):
                    return True
            except ValueError:
                continue
    return False


def refusal(url: str, extra: Iterable[str] = ()) -> str | None:
    """Why a callback to ``url`` is refused (bad URL, scheme, host not allowed), or None."""
    try:
        parsed = httpx.URL(url)
    except (httpx.InvalidURL, TypeError, ValueError) as exc:
        return f"not a valid URL: {exc}"
    if parsed.scheme not in ("http", "https"):
        return f"scheme {parsed.scheme or '(none)'!r} is not http or https"
    if not parsed.host:
        return "the URL has no host"
    if not host_allowed(parsed.host, extra):
        return f"host {parsed.host} is not on the callback allow-list"
    return None


Address = ipaddress.IPv4Address | ipaddress.IPv6Address


@dataclass(frozen=True)
class Target:
    """Where a checked callback goes: the URL with the host replaced by a checked address,
    and the original host for ``Host`` and TLS."""

    url: str
    host_header: str
    server_name: str


def _networks(extra: Iterable[str]) -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
    found = []
    for entry in extra:
        try:
            found.append(ipaddress.ip_network(normalise_host(entry), strict=False))
        except ValueError:
            continue
    return found


#: ``(host, port) -> addresses``: how a callback host is resolved (:func:`resolve_host` by default).
Resolver = Callable[[str, int], list[Address]]


def _literal(host: str) -> Address | None:
    try:
        return ipaddress.ip_address(normalise_host(host))
    except ValueError:
        return None


def resolve_host(host: str, port: int) -> list[Address]:
    """Every address ``host`` resolves to (an IP literal is itself), through ``getaddrinfo``."""
    literal = _literal(host)
    if literal is not None:
        return [literal]
    name = normalise_host(host)
    infos = socket.getaddrinfo(name, port, type=socket.SOCK_STREAM)
    return list(
        dict.fromkeys(ipaddress.ip_address(str(info[4][0]).split("%")[0]) for info in infos)
    )


def _is_own(address: Address, port: int, own: tuple[str, int] | None) -> bool:
    """Whether ``address:port`` may be the mock's own listening socket."""
    if own is None or port != own[1]:
        return False
    if address.is_loopback or address.is_unspecified:
        return True
    try:
        bound = ipaddress.ip_address(normalise_host(own[0]))
    except ValueError:
        return False
    return bound.is_unspecified or bound == address


def pinned_target(
    url: str,
    extra: Iterable[str] = (),
    own: tuple[str, int] | None = None,
    resolve: Resolver = resolve_host,
) -> Target | str:
    """Resolve an allowed callback URL and check every address; the :class:`Target` to connect
    to, or why not (the name does not resolve, an address is not allowed, it is the mock itself).

    Loopback names must resolve to loopback addresses only; a name listed in ``--callback-allow``
    may resolve anywhere; an address must be loopback or inside a listed network otherwise.
    """
    parsed = httpx.URL(url)
    port = parsed.port or (443 if parsed.scheme == "https" else 80)
    name = normalise_host(parsed.host)
    named = any(normalise_host(e) == name for e in extra) and not is_loopback_host(name)
    try:
        literal = _literal(parsed.host)
        addresses = [literal] if literal is not None else resolve(parsed.host, port)
    except (OSError, UnicodeError, ValueError) as exc:
        return f"host {parsed.host} does not resolve: {getattr(exc, 'strerror', None) or exc}"
    if not addresses:
        return f"host {parsed.host} does not resolve"
    networks = _networks(extra)
    for address in addresses:
        if _is_own(address, port, own):
            return f"{address} port {port} is the mock itself"
        if not (named or address.is_loopback or any(address in n for n in networks)):
            return f"host {parsed.host} resolves to {address}, which is not on the allow-list"
    chosen = addresses[0]
    host_header = parsed.host if parsed.port is None else f"{parsed.host}:{parsed.port}"
    return Target(str(parsed.copy_with(host=str(chosen))), host_header, parsed.host)


class Schedule(Protocol):
    """Where pending callbacks wait: ``key -> (url, due)``; each is taken once."""

    def put(self, key: str, url: str, due: float) -> None:
        """Schedule ``key`` at ``due`` (again: move it), unless it was already taken."""
        ...

    def drop(self, key: str) -> None:
        """Unschedule ``key``."""
        ...

    def defer(self, action: Callable[[], Any]) -> None:
        """Run ``action`` once what was just put is visible to :meth:`take`."""
        ...

    def take(self, now: float) -> list[tuple[str, str, float]]:
        """Remove and return the entries due at ``now``, soonest first: ``(key, url, due)``."""
        ...

    def size(self) -> int:
        """How many entries wait."""
        ...

    def soonest(self) -> float | None:
        """The earliest due time, if this process knows it cheaply."""
        ...

    def discard(self) -> None:
        """Forget what this process holds (the dispatcher stops)."""
        ...


class MemorySchedule:
    """The schedule of one process (the memory store)."""

    def __init__(self, remembered: int = 100_000) -> None:
        self._lock = threading.Lock()
        self._pending: dict[str, tuple[str, float]] = {}
        self._fired: OrderedDict[str, None] = OrderedDict()
        self._remembered = remembered

    def put(self, key: str, url: str, due: float) -> None:
        """Schedule ``key`` unless it was already taken."""
        with self._lock:
            if key not in self._fired:
                self._pending[key] = (url, due)

    def drop(self, key: str) -> None:
        """Unschedule ``key``."""
        with self._lock:
            self._pending.pop(key, None)

    def defer(self, action: Callable[[], Any]) -> None:
        """Run ``action`` now (what was put is visible at once)."""
        action()

    def take(self, now: float) -> list[tuple[str, str, float]]:
        """Remove and return the due entries, soonest first (each key remembered as taken)."""
        with self._lock:
            due = sorted((due, key, url) for key, (url, due) in self._pending.items() if due <= now)
            for _, key, _ in due:
                del self._pending[key]
                self._fired[key] = None
            while len(self._fired) > self._remembered:
                self._fired.popitem(last=False)
        return [(key, url, at) for at, key, url in due]

    def size(self) -> int:
        """How many entries wait."""
        return len(self._pending)

    def soonest(self) -> float | None:
        """The earliest due time, or None."""
        with self._lock:
            return min((due for _, due in self._pending.values()), default=None)

    def discard(self) -> None:
        """Forget everything pending."""
        with self._lock:
            self._pending.clear()


class _Borrowed(httpx.BaseTransport):
    """An injected transport, lent to one delivery's client: closing the client leaves it open."""

    def __init__(self, transport: httpx.BaseTransport) -> None:
        self._transport = transport

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        """Carry ``request`` over the lent transport."""
        return self._transport.handle_request(request)


@dataclass
class _Ready:
    key: str
    url: str
    body: Any


class CallbackDispatcher:
    """Knows the records still to call back and their due times; delivers each once.

    ``render(key)`` returns the JSON body of a record (None if it is gone) and is called when the
    callback falls due. ``alive()`` tells a dispatcher that a reset replaced it: its thread stops and
    what it still held is dropped.
    """

    def __init__(
        self,
        *,
        now: Callable[[], float],
        render: Callable[[str], Any],
        allow: Iterable[str] = (),
        realtime: bool = False,
        alive: Callable[[], bool] = lambda: True,
        timeout: float = 2.0,
        attempts: int = 2,
        history: int = 100,
        transport: httpx.BaseTransport | None = None,
        resolve: Resolver = resolve_host,
        retry_delay: float = 0.2,
        own: tuple[str, int] | None = None,
        schedule: Schedule | None = None,
    ) -> None:
        self._now = now
        self._render = render
        self.allow = tuple(allow)
        self.realtime = realtime
        self._alive = alive
        self.timeout = timeout
        self.attempts = max(1, attempts)
        self._transport = transport
        self._resolve = resolve
        self.retry_delay = retry_delay
        #: The mock's own ``(host, port)``: never called back.
        self.own = own
        self._cond = threading.Condition()
        #: Pending callbacks: this process's own, or (a shared store) every process's.
        self._pending: Schedule = schedule if schedule is not None else MemorySchedule()
        self._ready: deque[_Ready] = deque()
        self._busy = 0
        self._thread: threading.Thread | None = None
        self._closed = False
        self.recent: deque[dict[str, Any]] = deque(maxlen=history)
        self.totals = {"delivered": 0, "refused": 0, "failed": 0, "dropped": 0}

    # -- what vendors call (cheap, never blocking, never raising) --------------------------------

    def schedule(self, key: str, url: str | None, due: float) -> None:
        """Call ``url`` back with record ``key`` once it finishes at ``due`` (again: reschedule)."""
        if not url:
            return
        with self._cond:
            if self._closed:
                return
            self._pending.put(key, url, due)
            self._cond.notify_all()
        if self.realtime:
            self._ensure_thread()
        if due <= self._now():
            self._pending.defer(self.tick)

    def forget(self, key: str) -> None:
        """Drop the callback of a record that will never finish (deleted before it did)."""
        self._pending.drop(key)

    def tick(self) -> int:
        """Queue every callback due at the current time; return how many.

        The schedule hands each due callback to one caller only (with a shared store, to one
        process), so rendering happens outside the lock.
        """
        with self._cond:
            if self._closed or not self._alive():
                self._shut()
                return 0
        due = self._pending.take(self._now())
        ready = []
        for key, url, _ in due:
            body = self._safe_render(key)
            if body is None:
                self._record(key, url, "dropped", "the record is no longer stored", 0)
            else:
                ready.append(_Ready(key, url, body))
        if ready:
            with self._cond:
                self._ready.extend(ready)
                self._cond.notify_all()
            self._ensure_thread()
        return len(due)

    def close(self) -> None:
        """Stop: nothing more is queued or delivered."""
        with self._cond:
            self._shut()

    def _shut(self) -> None:
        with self._cond:
            self._closed = True
            self._pending.discard()
            self._ready.clear()
            self._cond.notify_all()

    def drain(self, timeout: float = 10.0) -> bool:
        """Block until every queued delivery is done (tests drive the worker with this, no sleeping);
        False on timeout."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while self._ready or self._busy:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._cond.wait(left)
        return True

    def describe(self) -> dict[str, Any]:
        """Counts and the latest deliveries, for the control API's state."""
        pending = self._pending.size()
        with self._cond:
            return {
                "allow": ["localhost", "127.0.0.0/8", "::1", *self.allow],
                "pending": pending,
                "queued": len(self._ready),
                **self.totals,
                "recent": list(self.recent),
            }

    # -- the background side ---------------------------------------------------------------------

    def _safe_render(self, key: str) -> Any:
        try:
            return self._render(key)
        except Exception:  # a callback must never break a request
            log.exception("callback %s: could not render the record", key)
            return None

    def _record(
        self,
        key: str,
        url: str,
        outcome: str,
        detail: str,
        attempts: int,
        status: int | None = None,
    ) -> None:
        entry = {"key": key, "url": url, "outcome": outcome, "detail": detail, "attempts": attempts,
                 "httpStatus": status, "at": self._now()}  # fmt: skip
        with self._cond:
            self.recent.append(entry)
            self.totals[outcome] = self.totals.get(outcome, 0) + 1
        level = logging.INFO if outcome == "delivered" else logging.WARNING
        log.log(level, "callback %s to %s %s: %s", key, url, outcome, detail)

    def _ensure_thread(self) -> None:
        with self._cond:
            if self._closed or (self._thread is not None and self._thread.is_alive()):
                return
            self._thread = threading.Thread(
                target=self._run, name="buildmock-callbacks", daemon=True
            )
            self._thread.start()

    def _next_wait(self) -> float:
        soonest = self._pending.soonest() if self.realtime else None
        if soonest is not None:
            return max(0.01, min(1.0, soonest - self._now()))
        return 1.0

    def _run(self) -> None:
        idle = 0.0
        while True:
            with self._cond:
                if self._closed or not self._alive():
                    self._shut()
                    return
            if self.realtime:
                self.tick()
            with self._cond:
                if not self._ready:
                    waiting = self.realtime and self._pending.soonest() is not None
                    if not waiting and idle > 30.0:
                        self._thread = None
                        return
                    wait = self._next_wait()
                    self._cond.wait(wait)
                    idle = idle + wait if not waiting else 0.0
                    continue
                idle = 0.0
                item = self._ready.popleft()
                self._busy += 1
            try:
                self._deliver(item)
            except Exception as exc:  # the worker must survive anything a URL or a server does
                self._record(item.key, item.url, "failed", f"{type(exc).__name__}: {exc}", 0)
            finally:
                with self._cond:
                    self._busy -= 1
                    self._cond.notify_all()

    def _deliver(self, item: _Ready) -> None:
        reason = refusal(item.url, self.allow)
        target = (
            pinned_target(item.url, self.allow, self.own, self._resolve)
            if reason is None
            else reason
        )
        if isinstance(target, str):
            self._record(item.key, item.url, "refused", target, 0)
            return
        content = orjson.dumps(item.body)
        detail = ""
        status: int | None = None
        lent = _Borrowed(self._transport) if self._transport is not None else None
        with httpx.Client(
            timeout=self.timeout, follow_redirects=False, trust_env=False, transport=lent
        ) as client:
            for attempt in range(1, self.attempts + 1):
                if self._closed or not self._alive():
                    self._record(item.key, item.url, "dropped", "the mock was reset", attempt - 1)
                    return
                try:
                    response = client.post(
                        target.url,
                        content=content,
                        headers={"Content-Type": "application/json", "Host": target.host_header},
                        extensions={"sni_hostname": target.server_name},
                    )
                except httpx.HTTPError as exc:
                    detail, status = f"{type(exc).__name__}: {exc}", None
                else:
                    status = response.status_code
                    if status < 500:
                        outcome = "delivered" if status < 400 else "failed"
                        self._record(item.key, item.url, outcome, f"HTTP {status}", attempt, status)
                        return
                    detail = f"HTTP {status}"
                if attempt < self.attempts:
                    with self._cond:  # close() ends the wait: the next attempt sees it
                        self._cond.wait_for(lambda: self._closed, self.retry_delay)
        self._record(item.key, item.url, "failed", detail, self.attempts, status)
