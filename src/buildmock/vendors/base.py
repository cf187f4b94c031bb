"""What a vendor is to the server, what its handlers get, and the helpers they share."""

from __future__ import annotations

import hmac
from collections import OrderedDict
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, NamedTuple, TypeVar

import orjson
from starlette.datastructures import URL
from starlette.responses import Response
from starlette.types import Scope

from buildmock.core import prefer
from buildmock.core.errors import ApiError
from buildmock.core.headers import HeaderView
from buildmock.core.lifecycle import span_at
from buildmock.synth.factory import REQUEST_SYNTH

if TYPE_CHECKING:
    from buildmock.core.clock import Clock
    from buildmock.fixtures import FixtureContext
    from buildmock.settings import Settings, VendorOption
    from buildmock.store.base import Record, Store
    from buildmock.store.forms import Forms
    from buildmock.synth.factory import Synth

Headers = Mapping[str, str]


@dataclass
class Runtime:
    """Everything a vendor's handlers need, bound to them per app: no module-level state."""

    vendor: Vendor
    settings: Settings
    clock: Clock
    store: Store
    #: The vendor's stream for new records (see :attr:`synth`).
    base_synth: Synth
    services: dict[str, Any] = field(default_factory=dict)
    #: An outcome pinned for the next create (control API ``/next-outcome``, the dashboard).
    next_outcome: NextOutcome = field(default_factory=lambda: NextOutcome())

    def now(self) -> float:
        """The injected clock's time."""
        return self.clock.now()

    @property
    def synth(self) -> Synth:
        """Where new records draw their data: the request's own synth when the server gave it one
        (a shared store: drawn from the seed and the request's sequence number), else the vendor's
        stream."""
        return REQUEST_SYNTH.get() or self.base_synth

    @synth.setter
    def synth(self, value: Synth) -> None:
        self.base_synth = value


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
    #: When set, makes the error renderer from the settings (instead of ``render_error``).
    error_renderer: Callable[[Settings], Callable[[ApiError], Response]] | None = None
    #: Headers this vendor's mock accepts, given a token (what a contract run sends it); None: the
    #: spec's first security requirement says (``contract.auth.headers_from_spec``).
    credentials: Callable[[str], dict[str, str]] | None = None
    #: Request headers carrying this vendor's secret credential, masked wherever the mock shows a
    #: request (the journal). Named here, not read from the spec's ``securitySchemes``: those also
    #: list identity headers that are no secret (Cocktail's gateway ``user-id``, Nuon's org id).
    credential_headers: tuple[str, ...] = ("Authorization",)

    def renderer(self, settings: Settings) -> Callable[[ApiError], Response]:
        """The error renderer this vendor uses under ``settings``."""
        return self.error_renderer(settings) if self.error_renderer else self.render_error

    #: How the dashboard shows this vendor's records, one entry per kind worth showing.
    views: tuple[View, ...] = ()
    #: The settings this vendor's mock takes (``--<flag>``, ``BUILDMOCK_<FLAG>``), read with
    #: ``option.of(settings)``; ``buildmock serve`` offers every vendor's.
    options: tuple[VendorOption, ...] = ()
    #: Kinds of record held in another form than state documents write (``store/forms.py``).
    forms: Forms = field(default_factory=dict)


@dataclass(frozen=True)
class View:
    """How the dashboard shows one kind of a vendor's records.

    ``key`` is the record's store key (what its API calls its id), ``render`` the vendor's own
    rendering (the JSON its API answers for the record at ``now``), ``status`` reads the status a
    client sees from that rendering, and ``timeline`` lists the record's planned transitions as
    ``(label, unix time)``, past and coming.
    """

    kind: str
    label: str
    key: Callable[[Record], str]
    render: Callable[[Runtime, Record, float], Any]
    status: Callable[[Any], str]
    timeline: Callable[[Record], Sequence[tuple[str, float]]]


def stored_marks(record: Record) -> list[tuple[str, float]]:
    """A record's stored timeline (``record["marks"]``) as ``(state, unix time)`` pairs."""
    return [(str(state), float(at)) for state, at in record["marks"]]


def build_view(
    render: Callable[[Record, float], Any],
    status: Callable[[Any], str] = lambda body: str(body["status"]),
    timeline: Callable[[Record], Sequence[tuple[str, float]]] = stored_marks,
) -> View:
    """The dashboard's view of a vendor's ``build`` records, keyed by their ``id``."""
    return View(
        kind="build",
        label="builds",
        key=lambda r: str(r["id"]),
        render=lambda rt, r, now: render(r, now),
        status=status,
        timeline=timeline,
    )


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
    return raw_json_response(orjson.dumps(body), status, headers)


_JSON = (b"content-type", b"application/json")


def raw_json_response(
    body: bytes, status: int = 200, headers: Mapping[str, str] | None = None
) -> Response:
    """A JSON response whose body is already encoded (e.g. by :class:`RenderCache`)."""
    if headers or not 200 <= status < 300 or status == 204:
        return Response(body, status, headers=dict(headers or {}), media_type="application/json")
    return _plain_json(Response.__new__(Response), body, status)


_R = TypeVar("_R", bound=Response)


class Lasting(Response):
    """A 200 JSON answer the request path may give again to the same request while its vendor's
    store is unwritten and the clock is within ``[low, high)``, as ``at(now)``, without asking the
    handler (``server/request_path.py``, the answer memo)."""

    low: float
    high: float

    def at(self, now: float) -> Lasting:
        """This answer at ``now`` (within its span): itself."""
        return self


class Following(Lasting):
    """A lasting answer one value of which follows the clock (a running job's elapsed time):
    ``at(now)`` writes it for ``now`` into the kept bytes."""

    encode: Callable[[float], bytes]

    def at(self, now: float) -> Following:
        """This answer at ``now``: its body encoded afresh for that time."""
        return following_json_response(self.encode, self.low, self.high, now)


def lasting_json_response(body: bytes, low: float, high: float) -> Lasting:
    """``raw_json_response(body)`` marked :class:`Lasting` from ``low`` until ``high``: only for an
    answer that depends on nothing but the store's records and the clock, and on the clock only
    through times ``low`` and ``high`` (a rendering's change times)."""
    response = _plain_json(Lasting.__new__(Lasting), body, 200)
    response.low, response.high = low, high
    return response


def following_json_response(
    encode: Callable[[float], bytes], low: float, high: float, now: float
) -> Following:
    """The 200 JSON answer ``encode(now)``, marked :class:`Following` from ``low`` until ``high``
    (``encode`` gives the answer's bytes at any time of that span)."""
    response = _plain_json(Following.__new__(Following), encode(now), 200)
    response.low, response.high, response.encode = low, high, encode
    return response


def _plain_json(response: _R, body: bytes, status: int) -> _R:
    # Most answers: the two headers Starlette would compute, built directly (its header
    # bookkeeping was a tenth of a GET's time in the app).
    response.status_code = status
    response.body = body
    response.background = None
    response.media_type = "application/json"
    response.raw_headers = [(b"content-length", str(len(body)).encode()), _JSON]
    return response


class RenderCache:
    """Encoded renderings of stored records, reused while a rendering cannot have changed.

    A record's rendering depends on ``now`` only through its timelines, so it is constant between
    two consecutive change times; ``changes(record)`` lists those times. ``live(record)``, if
    given, names a window ``[start, end)`` (both change times) in which the rendering follows
    ``now`` itself (a running job's elapsed time): there it is rendered afresh every time, or,
    with ``follow``, encoded from the rendering kept for the interval (``follow(kept, window)``
    gives the rendering's bytes at any ``now`` of the window). An entry is reused while the same
    record object is asked for within the same interval, so the bytes are exactly what rendering
    afresh would give. At most ``size`` entries are kept (oldest dropped first). Its answers are
    :class:`Lasting` (:class:`Following` in a live window) for the span of their entry.
    """

    def __init__(
        self,
        render: Callable[[Record, float], Any],
        changes: Callable[[Record], Sequence[float]],
        size: int = 4096,
        live: Callable[[Record], tuple[float, float] | None] | None = None,
        follow: Follow | None = None,
        envelope: tuple[bytes, bytes] = (b"", b""),
    ) -> None:
        self._render = render
        self._envelope = envelope
        self._changes = changes
        self._live = live
        self._follow = follow
        self._size = size
        self._entries: OrderedDict[str, _Entry] = OrderedDict()

    def encoded(self, key: str, record: Record, now: float) -> bytes:
        """``orjson.dumps(render(record, now))``, from the cache when still valid."""
        entry = self._entries.get(key)
        if entry is not None and entry.record is record and entry.low <= now < entry.high:
            return entry.body if entry.kept is None else entry.kept(now)
        if entry is not None and entry.record is record:
            times, live = entry.times, entry.live
        else:
            times, live = self._changes(record), self._live(record) if self._live else None
        low, high = span_at(times, now)
        rendering = self._render(record, now)
        body, kept = orjson.dumps(rendering), None
        if live is not None and live[0] <= now < live[1]:
            if self._follow is None:
                low = high = now  # valid nowhere: rendered afresh while live
            else:
                low, high = max(low, live[0]), min(high, live[1])
                kept = self._follow(rendering, live)
        self._entries[key] = _Entry(record, times, live, low, high, body, kept)
        if entry is None and len(self._entries) > self._size:
            self._entries.popitem(last=False)
        return body

    def fragment(self, key: str, record: Record, now: float) -> orjson.Fragment:
        """The encoded rendering, to embed in a larger body with ``orjson.dumps``."""
        return orjson.Fragment(self.encoded(key, record, now))

    def response(self, key: str, record: Record, now: float) -> Response:
        """The encoded rendering as a plain 200 JSON answer (inside the cache's ``envelope``, the
        bytes before and after it): one kept with the entry, sent again while the entry is valid
        (the server never changes a handler's answer)."""
        entry = self._entries.get(key)
        if (
            entry is not None
            and entry.answer is not None
            and entry.record is record
            and entry.low <= now < entry.high
        ):
            return entry.answer.at(now)
        body = self.encoded(key, record, now)
        before, after = self._envelope
        entry = self._entries.get(key)
        if entry is None or entry.record is not record or not entry.low <= now < entry.high:
            return raw_json_response(before + body + after)  # live, with nothing to follow from
        if entry.answer is None:
            if entry.kept is None:
                answer: Lasting = lasting_json_response(
                    before + body + after, entry.low, entry.high
                )
            else:
                encode = (
                    entry.kept if before == after == b"" else _enveloped(entry.kept, before, after)
                )
                answer = following_json_response(encode, entry.low, entry.high, now)
            entry = self._entries[key] = entry._replace(answer=answer)
        assert entry.answer is not None
        return entry.answer.at(now)

    def clear(self) -> None:
        """Forget every entry."""
        self._entries.clear()


class _Entry(NamedTuple):
    """A record's cached rendering, valid from ``low`` until ``high``."""

    record: Record
    times: Sequence[float]
    live: tuple[float, float] | None
    low: float
    high: float
    body: bytes
    kept: Callable[[float], bytes] | None  # in a live window with ``follow``: the bytes at a time
    answer: Lasting | None = None  # ``body`` as a 200 answer, made on the first ``response``


#: ``follow(kept, window)``: the bytes of the rendering at any time of the live ``window``, from
#: the rendering ``kept`` made in it.
Follow = Callable[[Any, tuple[float, float]], Callable[[float], bytes]]


def _enveloped(
    encode: Callable[[float], bytes], before: bytes, after: bytes
) -> Callable[[float], bytes]:
    return lambda now: before + encode(now) + after


#: Where a runtime keeps its :class:`RenderCache` (``Runtime.services``, emptied by a reset and a
#: state load, so a cache never outlives the records it was filled from).
RENDERINGS = "renderings"


def render_cache(
    rt: Runtime,
    render: Callable[[Record, float], Any],
    changes: Callable[[Record], Sequence[float]],
    live: Callable[[Record], tuple[float, float] | None] | None = None,
    follow: Follow | None = None,
    envelope: tuple[bytes, bytes] = (b"", b""),
) -> RenderCache:
    """The runtime's cache of encoded renderings (made on first use after a reset)."""
    cache = rt.services.get(RENDERINGS)
    if cache is None:
        cache = rt.services[RENDERINGS] = RenderCache(
            render, changes, live=live, follow=follow, envelope=envelope
        )
    return cache


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


def same_token(given: str, expected: str) -> bool:
    """Whether a presented credential is the configured one, compared in constant time."""
    return hmac.compare_digest(given.encode("utf-8", "surrogateescape"), expected.encode())


def check_bearer(headers: Headers, settings: Settings, message: str = "Unauthorized") -> str:
    """Require a bearer token (``settings.token`` if one is set) or raise a 401."""
    token = bearer_token(headers)
    if token is None or (settings.token is not None and not same_token(token, settings.token)):
        raise ApiError(401, message, headers={"WWW-Authenticate": "Bearer"})
    return token


# -- request helpers -------------------------------------------------------------------------


#: The ASGI scope of the request being handled (set by the server's request path).
REQUEST_SCOPE: ContextVar[Scope] = ContextVar("buildmock_request_scope")


def request_headers() -> Headers:
    """The headers of the request being handled."""
    return HeaderView(REQUEST_SCOPE.get()["headers"])


def request_url() -> URL:
    """The URL of the request being handled."""
    return URL(scope=REQUEST_SCOPE.get())


class NextOutcome:
    """An outcome pinned for a vendor's next create (from the control API or the dashboard).

    The request path makes the pin of the vendor being called current (:data:`NEXT_OUTCOME`); the
    first create that asks for an outcome without a ``Prefer`` of its own takes it.
    """

    def __init__(self) -> None:
        self.value: str | None = None

    def take(self, allowed: tuple[str, ...]) -> str | None:
        """The pinned outcome, consumed, if this vendor's create accepts it."""
        value = self.value
        if value is None or value not in allowed:
            return None
        self.value = None
        return value


#: The pin of the vendor handling the current request (set by the server's request path).
NEXT_OUTCOME: ContextVar[NextOutcome | None] = ContextVar("buildmock_next_outcome", default=None)


def preferred_outcome(headers: Headers, allowed: tuple[str, ...]) -> str | None:
    """The outcome forced with ``Prefer: outcome=<name>`` (Prism-style) or pinned, if any.

    An unknown outcome is a 400, so a typo in a test does not silently fall back to chance. A
    ``Prefer`` header wins over a pinned outcome, which is then left for the next create.
    """
    given = headers.get("prefer")
    for name, wanted, _ in prefer.tokens([given]) if given else ():
        if name == "outcome":
            if wanted not in allowed:
                raise ApiError(400, f"Prefer: outcome={wanted} is not one of {', '.join(allowed)}")
            return wanted
    pinned = NEXT_OUTCOME.get()
    return pinned.take(allowed) if pinned is not None else None


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
