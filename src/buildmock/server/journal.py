"""The request journal: what every vendor request asked and got, in a bounded ring.

Recording keeps references to what the server already holds (the scope's header list, the body
bytes) while they are recent, and formats nothing: :class:`MemoryJournal` marshals every 64
answered requests into one bytes object; redaction, decoding and matching happen only when a
record is read through the control API. :class:`Journal` is the interface; :class:`MemoryJournal` the
in-process ring, :class:`RedisJournal` one ring shared by every process of a ``--store redis://``.
"""

from __future__ import annotations

import fnmatch
import logging
import marshal
import time
from collections import deque
from collections.abc import Awaitable, Collection, Iterable, Iterator, Mapping
from contextvars import ContextVar
from dataclasses import dataclass
from operator import itemgetter
from typing import TYPE_CHECKING, Any, NamedTuple, Protocol
from urllib.parse import parse_qsl

import orjson
from redis.exceptions import RedisError

from buildmock.store.bridge import wait
from buildmock.store.redis import ROOT, Connection, UnitOfWork
from buildmock.synth.factory import iso

if TYPE_CHECKING:
    from buildmock.server.operations import OperationTable

#: Requests the journal keeps by default (``--journal``); the oldest go first.
DEFAULT_SIZE = 5000
#: Bytes of a request body kept per record (longer bodies are cut and marked so).
MAX_BODY = 8192
#: Records a list returns by default, and at most.
DEFAULT_LIMIT, MAX_LIMIT = 100, 1000
#: Closest mismatches a failed verify reports.
CLOSEST = 3

REDACTED = "[REDACTED]"
#: Headers any client may carry a credential in, masked whatever the vendor; each vendor adds the
#: headers of its own credential (``Vendor.credential_headers``), and a name with one of the words
#: is masked too.
_HTTP_CREDENTIALS = frozenset({"authorization", "proxy-authorization", "cookie"})
_SECRET_WORDS = ("token", "secret", "password", "api-key", "apikey")


#: A request as recorded while it is served: a plain list (the cheapest thing to build on the
#: hot path), set when it arrives and completed when its answer (or fault) is sent. These are
#: the indexes the server writes; readers get an :class:`Entry`.
Row = list[Any]
HEADERS, BODY, STATUS, APPLIED, DELAY, DURATION, ANSWERED = 7, 8, 9, 10, 11, 12, 13


class Entry(NamedTuple):
    """A recorded request, as the control API reads it."""

    seq: int
    wall: float
    clock: float
    vendor: str
    method: str
    path: str
    query: bytes
    headers: list[tuple[bytes, bytes]]
    body: bytes
    status: int
    applied: list[str]
    delay: float
    duration: float


class Journal(Protocol):
    """Where requests are recorded."""

    def record(self, scope: Mapping[str, Any], vendor: str, clock: float) -> Row:
        """Keep a new row for the request in ``scope`` (the oldest may go) and return it."""
        ...

    def finish(self, row: Row) -> Awaitable[None] | None:
        """The request of ``row`` has been answered; what to await (if anything) to keep it."""
        ...

    def entries(self) -> Iterable[Entry]:
        """Every kept entry, oldest first."""
        ...

    def clear(self) -> int:
        """Forget everything; return how many entries there were."""
        ...


class MemoryJournal:
    """The default journal: the last ``size`` requests, kept in batches of marshalled bytes.

    A row is an object only while it is recent: served (listed then, with status 0) or among the
    last BATCH answered. Every BATCH answered rows are marshalled into one bytes object, so the
    journal holds no object of the server's for long. Holding the server's header lists and bodies
    for thousands of requests cost more than recording them: their memory is freed cold, thousands
    of requests later (bench/RESULTS.md).
    """

    def __init__(self, size: int = DEFAULT_SIZE) -> None:
        self.size = size
        self._seq = 0  # the last id given
        self._pending: list[Row] = []  # the rows not batched yet, answered or being served
        self._answered = 0  # how many of them are answered
        self._batches: deque[tuple[bytes, int]] = deque()  # (marshalled rows, how many)
        self._batched = 0  # rows in the batches

    def record(self, scope: Mapping[str, Any], vendor: str, clock: float) -> Row:
        """A row for the request under the next id, listed as it is from now on."""
        self._seq = seq = self._seq + 1
        row = [seq, time.time(), clock, vendor, scope["method"], scope["path"],
               scope["query_string"], scope["headers"], b"", 0, (), 0.0, 0.0, False]  # fmt: skip
        self._pending.append(row)
        return row

    def finish(self, row: Row) -> None:
        """The request of ``row`` is answered; every BATCH of them are marshalled together."""
        row[ANSWERED] = True
        self._answered += 1
        if self._answered >= BATCH:
            self._flush()

    def _flush(self) -> None:
        pending = self._pending
        answered = [row for row in pending if row[ANSWERED]]
        self._pending = [row for row in pending if not row[ANSWERED]]
        self._answered = 0
        try:
            # Version 2: no back-references, the fastest for rows that share no objects.
            data = marshal.dumps(answered, 2)
        except ValueError:  # a server whose header list is not a plain list of bytes pairs
            for row in answered:
                row[HEADERS] = [(bytes(name), bytes(value)) for name, value in row[HEADERS]]
            data = marshal.dumps(answered, 2)
        self._batches.append((data, len(answered)))
        self._batched += len(answered)
        while self._batches and self._batched - self._batches[0][1] >= self.size:
            self._batched -= self._batches.popleft()[1]

    def entries(self) -> Iterable[Entry]:
        """A snapshot, oldest first."""
        batches, pending = list(self._batches), list(self._pending)  # copies: one step each
        rows = [row for data, _ in batches for row in marshal.loads(data)]
        rows += pending
        rows.sort(key=itemgetter(0))
        return [Entry(*row[:ANSWERED]) for row in rows[-self.size :]]

    def clear(self) -> int:
        """Forget every record (ids keep growing, so ``after=`` stays meaningful)."""
        count = len(self.entries())  # type: ignore[arg-type]
        self._pending, self._answered = [], 0
        self._batches.clear()
        self._batched = 0
        return count


#: Answered rows marshalled together; a row stays an object for at most this many requests.
BATCH = 64


# ARGV: list key, id key, size, row without its id (a JSON array) -> the row's id
_PUSH = """
local id = redis.call('INCR', ARGV[2])
redis.call('RPUSH', ARGV[1], '[' .. id .. ',' .. string.sub(ARGV[4], 2))
redis.call('LTRIM', ARGV[1], -tonumber(ARGV[3]), -1)
return id
"""

# ARGV: list key -> how many entries it held
_CLEAR = """
local n = redis.call('LLEN', ARGV[1])
redis.call('DEL', ARGV[1])
return n
"""

log = logging.getLogger("buildmock")

#: The row of the request being served (a :class:`RedisJournal` pushes it with the request's writes).
_OPEN: ContextVar[Row | None] = ContextVar("buildmock_journal_row", default=None)


class RedisJournal:
    """One ring of at most ``size`` requests in Redis, written by every process that serves.

    A request is kept in this process only while it is served, then pushed in one script (id,
    append, trim), so any process's control API sees it: a request that writes is pushed in its
    writes' transaction (no round trip of its own, in the journal before it is answered); any other
    once it has been answered. Ids keep growing across clears and resets, as
    :class:`MemoryJournal`'s do.
    """

    def __init__(self, connection: Connection, size: int = DEFAULT_SIZE) -> None:
        self.connection = connection
        self.size = size
        self.key = f"{ROOT}:journal"

    def record(self, scope: Mapping[str, Any], vendor: str, clock: float) -> Row:
        """A new row, kept here until it is pushed (:meth:`enlist` or :meth:`finish`)."""
        row = [0, time.time(), clock, vendor, scope["method"], scope["path"],
               scope["query_string"], scope["headers"], b"", 0, (), 0.0, 0.0]  # fmt: skip
        _OPEN.set(row)
        return row

    def enlist(self, work: UnitOfWork, status: int) -> Row | None:
        """Push the current request's row with ``work`` (its last script answers the row's id,
        which the caller puts in ``row[0]``); None when there is no row to push."""
        row = _OPEN.get()
        if row is None or row[0] != 0:
            return None
        row[STATUS], row[DURATION] = status, time.time() - row[1]
        row[0] = -1  # on its way: finish() leaves it alone unless the commit fails
        work.also(_PUSH, self._args(row))
        return row

    async def finish(self, row: Row) -> None:
        """Push the answered request unless its commit did (a lost Redis loses the entry, never
        the answer)."""
        _OPEN.set(None)
        if row[0] > 0:
            return
        try:
            script = self.connection.script(_PUSH)
            row[0] = await script(keys=[], args=self._args(row), client=self.connection.client())
        except RedisError as exc:
            log.warning("request journal: could not record %s %s: %s", row[4], row[5], exc)

    def _args(self, row: Row) -> list[Any]:
        payload = orjson.dumps(
            [row[1], row[2], row[3], row[4], row[5], row[6].decode("latin-1"),
             [[k.decode("latin-1"), v.decode("latin-1")] for k, v in row[7]],
             row[8].decode("latin-1"), row[9], list(row[10]), row[11], row[12]]
        )  # fmt: skip
        return [self.key, f"{self.key}:id", self.size, payload]

    def entries(self) -> Iterable[Entry]:
        """Every process's kept requests, oldest first (called from a bridged control request)."""
        raws = wait(self.connection.client().lrange(self.key, 0, -1))
        return [_entry(orjson.loads(raw)) for raw in raws]

    def clear(self) -> int:
        """Empty the shared ring."""
        script = self.connection.script(_CLEAR)
        return int(wait(script(keys=[], args=[self.key], client=self.connection.client())))


def _entry(data: list[Any]) -> Entry:
    seq, wall, clock, vendor, method, path, query, headers, body, status, applied, delay, took = (
        data
    )
    return Entry(seq, wall, clock, vendor, method, path, query.encode("latin-1"),
                 [(k.encode("latin-1"), v.encode("latin-1")) for k, v in headers],
                 body.encode("latin-1"), status, applied, delay, took)  # fmt: skip


# -- reading ---------------------------------------------------------------------------------


def redact(name: str, value: str, credentials: Collection[str] = ()) -> str:
    """A header value fit to show: credentials replaced (an auth scheme name is kept).

    ``credentials`` are the vendor's own credential headers, lowercase.
    """
    lowered = name.lower()
    if (
        lowered in _HTTP_CREDENTIALS
        or lowered in credentials
        or any(word in lowered for word in _SECRET_WORDS)
    ):
        scheme, sep, _ = value.partition(" ")
        return f"{scheme} {REDACTED}" if sep and lowered.endswith("authorization") else REDACTED
    return value


def _body(raw: bytes) -> Any:
    if not raw:
        return None
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError:
        return raw[:MAX_BODY].decode("utf-8", "replace")


#: Vendor -> the lowercase names of its credential headers (``Vendor.credential_headers``).
Credentials = Mapping[str, Collection[str]]


def render(entry: Entry, operations: OperationTable, credentials: Credentials) -> dict[str, Any]:
    """The JSON form of an entry (what the control API shows), the vendor's credentials masked."""
    below = entry.path[len(entry.vendor) + 1 :]
    operation = operations.find(entry.vendor, entry.method, below)
    secret = credentials.get(entry.vendor, ())
    headers: dict[str, str] = {}
    for raw_name, raw_value in entry.headers:
        name = raw_name.decode("latin-1")
        value = redact(name, raw_value.decode("latin-1"), secret)
        headers[name] = f"{headers[name]}, {value}" if name in headers else value
    return {
        "id": entry.seq,
        "time": iso(entry.wall),
        "clock": iso(entry.clock),
        "vendor": entry.vendor,
        "method": entry.method,
        "path": entry.path,
        "query": dict(parse_qsl(entry.query.decode("latin-1"), keep_blank_values=True)),
        "headers": headers,
        "body": _body(entry.body),
        "body_truncated": len(entry.body) >= MAX_BODY,
        "status": entry.status,
        "operation": operation.operation_id if operation else None,
        "applied": list(entry.applied),
        "latency_ms": round(entry.delay * 1000, 3),
        "duration_ms": round(entry.duration * 1000, 3),
    }


@dataclass(frozen=True)
class Filter:
    """Criteria a recorded request is matched against; None matches anything."""

    vendor: str | None = None
    method: str | None = None
    path: str | None = None
    status: int | None = None
    since: float | None = None
    after: int | None = None
    body: Any = None

    def misses(self, entry: Entry) -> list[str]:
        """What about ``entry`` does not match (empty when it matches)."""
        found = []
        if self.vendor is not None and entry.vendor != self.vendor:
            found.append(f"vendor is {entry.vendor}, not {self.vendor}")
        if self.method is not None and entry.method != self.method.upper():
            found.append(f"method is {entry.method}, not {self.method.upper()}")
        if self.path is not None and not path_matches(self.path, entry.path):
            found.append(f"path {entry.path} does not match {self.path}")
        if self.status is not None and entry.status != self.status:
            found.append(f"status is {entry.status}, not {self.status}")
        if self.since is not None and entry.wall < self.since:
            found.append("recorded before since")
        if self.after is not None and entry.seq <= self.after:
            found.append(f"id {entry.seq} is not after {self.after}")
        if self.body is not None and not contains(_body(entry.body), self.body):
            found.append("body does not contain the expected fields")
        return found


def path_matches(pattern: str, path: str) -> bool:
    """A glob (``*`` any run of characters, ``?`` one) against the whole path."""
    return fnmatch.fnmatchcase(path, pattern)


def contains(actual: Any, expected: Any) -> bool:
    """``expected`` is part of ``actual``: objects by subset of keys, anything else by equality."""
    if isinstance(expected, dict):
        return isinstance(actual, dict) and all(
            key in actual and contains(actual[key], value) for key, value in expected.items()
        )
    return bool(actual == expected)


def select(journal: Journal, where: Filter) -> Iterator[Entry]:
    """The entries matching ``where``, oldest first."""
    return (entry for entry in journal.entries() if not where.misses(entry))


def unmatched(journal: Journal, operations: OperationTable) -> Iterator[Entry]:
    """Entries no operation of the vendor's spec serves (the route or method is not there)."""
    for entry in journal.entries():
        below = entry.path[len(entry.vendor) + 1 :]
        if operations.find(entry.vendor, entry.method, below) is None:
            yield entry


def verify(
    journal: Journal,
    where: Filter,
    count: int | None,
    operations: OperationTable,
    credentials: Credentials,
) -> dict[str, Any]:
    """Did exactly ``count`` (or, without a count, at least one) recorded requests match?"""
    entries = list(journal.entries())
    matching = [entry for entry in entries if not where.misses(entry)]
    matched = len(matching) == count if count is not None else bool(matching)
    result: dict[str, Any] = {"matched": matched, "count": len(matching), "expected": count}
    if not matched:
        scored = sorted(
            ((len(where.misses(entry)), -entry.seq, entry) for entry in entries if entry),
            key=lambda item: item[:2],
        )
        result["closest"] = [
            {"request": render(entry, operations, credentials), "differences": where.misses(entry)}
            for _, _, entry in scored[:CLOSEST]
            if where.misses(entry)
        ]
    return result
