"""Safety rails for runs against real servers: read-only off loopback, a request budget, a rate limit."""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import requests

from buildmock.core.net import is_loopback_host

#: Methods that do not change server state; the only ones sent off loopback without ``--allow-writes``.
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})

#: Classifies a host name as loopback (True) or not; injectable so tests never leave the machine.
HostClassifier = Callable[[str], bool]


def url_host(url: str) -> str:
    """The host part of ``url`` (no port, no brackets); raises ValueError if there is none."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"--base-url {url!r}: expected an http(s) URL with a host")
    return parts.hostname


def writes_allowed(
    url: str, allow_writes: bool, classify: HostClassifier = is_loopback_host
) -> bool:
    """Whether methods other than GET/HEAD/OPTIONS may be sent to ``url``."""
    return allow_writes or classify(url_host(url))


def allowed_methods(
    url: str | None, allow_writes: bool, classify: HostClassifier = is_loopback_host
) -> frozenset[str] | None:
    """The methods a run may send: None (any) for the in-process mock or a writable target."""
    if url is None or writes_allowed(url, allow_writes, classify):
        return None
    return SAFE_METHODS


def check_reachable(url: str, timeout: float = 5.0) -> str | None:
    """None if a TCP connection to ``url``'s host and port opens, else a one-line reason."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return None
    except OSError as exc:
        return f"cannot reach {host}:{port}: {exc.strerror or exc}"


class RequestRefused(Exception):
    """A request the run's policy did not let out (a write off loopback, or past ``--max-requests``)."""


@dataclass
class RequestGuard:
    """Counts and vets every HTTP request a run makes; refuses writes and requests past the budget."""

    methods: frozenset[str] | None = None
    max_requests: int | None = None
    on_exhausted: Callable[[], None] | None = None
    sent: int = 0
    refused_writes: int = 0
    exhausted: bool = False
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def admit(self, method: str) -> None:
        """Let a request with ``method`` out, or raise :class:`RequestRefused`."""
        method = method.upper()
        with self._lock:
            if self.methods is not None and method not in self.methods:
                self.refused_writes += 1
                raise RequestRefused(
                    f"{method} not sent: the target is not loopback (use --allow-writes)"
                )
            over = self.max_requests is not None and self.sent >= self.max_requests
            first = over and not self.exhausted
            if over:
                self.exhausted = True
            else:
                self.sent += 1
        if first and self.on_exhausted is not None:
            self.on_exhausted()
        if over:
            raise RequestRefused(f"--max-requests {self.max_requests} reached")


def run_sessions() -> tuple[type[requests.Session], ...]:
    """The session classes Schemathesis sends a run's requests with: over the network (cases, checks'
    extra requests, probes, auth retries; ``ManagedCookiesSession`` is a subclass) and in-process ASGI."""
    from schemathesis.python.asgi import ASGIClient
    from schemathesis.transport.requests import SameHostRedirectsSession

    return SameHostRedirectsSession, ASGIClient


#: Held for a whole run: one run at a time in a process (a nested run in the same thread is let in).
_RUNS = threading.RLock()
#: The guards of the runs in progress, outermost first; every request is admitted by each.
_ACTIVE: list[RequestGuard] = []
#: ``(class, its own send or None)`` for each wrapped class, to put back when the last run ends.
_SAVED: list[tuple[type[requests.Session], Any]] = []


def _admitting(inner: Callable[..., Any]) -> Callable[..., Any]:
    def send(self: requests.Session, request: Any, **kwargs: Any) -> Any:
        for guard in tuple(_ACTIVE):
            guard.admit(str(request.method or "GET"))
        return inner(self, request, **kwargs)

    return send


@contextlib.contextmanager
def guarded(guard: RequestGuard) -> Iterator[RequestGuard]:
    """Vet every request of the run in this block through ``guard``.

    Schemathesis 4 takes no session or transport per run: a run's requests go through sessions it
    makes itself (one per worker thread, per probe, per extra request of a check, per in-process call),
    and its worker threads do not inherit a context variable. So for the duration of the block the
    ``send`` of those session classes (:func:`run_sessions`) is wrapped — not ``requests.Session``'s:
    any other session in the process is left alone. Runs in other threads wait for the block to end.
    """
    with _RUNS:
        if not _ACTIVE:
            for cls in run_sessions():
                _SAVED.append((cls, cls.__dict__.get("send")))
                cls.send = _admitting(cls.send)  # type: ignore[method-assign]
        _ACTIVE.append(guard)
        try:
            yield guard
        finally:
            _ACTIVE.pop()
            if not _ACTIVE:
                for cls, own in reversed(_SAVED):
                    if own is None:
                        delattr(cls, "send")
                    else:
                        cls.send = own
                _SAVED.clear()
