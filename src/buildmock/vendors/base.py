"""What a vendor is to the server, what its handlers get, and the helpers they share."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import orjson
from starlette.responses import Response

from buildmock.core.errors import ApiError

if TYPE_CHECKING:
    from buildmock.core.clock import Clock
    from buildmock.server.fixtures import FixtureContext
    from buildmock.settings import Settings
    from buildmock.store.base import Record, Store
    from buildmock.synth.factory import Synth

Headers = Mapping[str, str]


@dataclass
class Runtime:
    """Everything a vendor's handlers need, bound to them per app: no module-level state."""

    vendor: Vendor
    settings: Settings
    clock: Clock
    store: Store
    synth: Synth
    services: dict[str, Any] = field(default_factory=dict)

    def now(self) -> float:
        """The injected clock's time."""
        return self.clock.now()


@dataclass(frozen=True)
class Vendor:
    """A vendor's registration: how it renders errors, checks auth and loads fixtures."""

    name: str
    title: str
    render_error: Callable[[ApiError], Response]
    authenticate: Callable[[Headers, Settings], None]
    load_fixtures: Callable[[Runtime, FixtureContext], None] | None = None
    on_start: Callable[[Runtime], None] | None = None
    on_tick: Callable[[Runtime], None] | None = None
    describe: Callable[[Runtime], dict[str, Any]] | None = None


REGISTRY: dict[str, Vendor] = {}


def register(vendor: Vendor) -> Vendor:
    """Add a vendor to the registry (called once at the bottom of each vendor module)."""
    REGISTRY[vendor.name] = vendor
    return vendor


# -- responses -------------------------------------------------------------------------------


def json_response(
    body: Any, status: int = 200, headers: Mapping[str, str] | None = None
) -> Response:
    """A compact JSON response encoded with orjson."""
    return Response(
        orjson.dumps(body), status, headers=dict(headers or {}), media_type="application/json"
    )


def text_response(
    body: str, status: int = 200, headers: Mapping[str, str] | None = None
) -> Response:
    """A plain-text response."""
    return Response(body, status, headers=dict(headers or {}), media_type="text/plain")


# -- auth ------------------------------------------------------------------------------------


def bearer_token(headers: Headers) -> str | None:
    """The token of an ``Authorization: Bearer`` header, or None."""
    value = headers.get("authorization", "")
    scheme, _, token = value.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


def check_bearer(headers: Headers, settings: Settings, message: str = "Unauthorized") -> str:
    """Require a bearer token (``settings.token`` if one is set) or raise a 401."""
    token = bearer_token(headers)
    if token is None or (settings.token is not None and token != settings.token):
        raise ApiError(401, message, headers={"WWW-Authenticate": "Bearer"})
    return token


# -- request helpers -------------------------------------------------------------------------


def preferred_outcome(headers: Headers, allowed: tuple[str, ...]) -> str | None:
    """The outcome forced with ``Prefer: outcome=<name>`` (Prism-style), if any.

    An unknown outcome is a 400, so a typo in a test does not silently fall back to chance.
    """
    for part in headers.get("prefer", "").split(","):
        key, _, value = part.strip().partition("=")
        if key.strip().lower() == "outcome":
            wanted = value.strip().strip('"')
            if wanted not in allowed:
                raise ApiError(400, f"Prefer: outcome={wanted} is not one of {', '.join(allowed)}")
            return wanted
    return None


def encode_cursor(seq: int) -> str:
    """The cursor of the page that starts below sequence number ``seq`` (``cur_<seq>``)."""
    return f"cur_{seq}"


def decode_cursor(cursor: str) -> int:
    """Inverse of :func:`encode_cursor`; a malformed cursor is a 400."""
    prefix, _, seq = cursor.partition("_")
    if prefix != "cur" or not seq.isdigit():
        raise ApiError(400, f"invalid cursor {cursor!r}")
    return int(seq)


def page(
    entries: Iterator[tuple[int, Record]],
    limit: int,
    keep: Callable[[Record], bool] = lambda r: True,
) -> tuple[list[Record], int | None]:
    """Take up to ``limit`` matching records; also return the sequence to continue below, if more."""
    taken: list[Record] = []
    last_seq = 0
    for seq, record in entries:
        if not keep(record):
            continue
        if len(taken) == limit:
            return taken, last_seq
        taken.append(record)
        last_seq = seq
    return taken, None
