"""A store shared by every buildmock process through Redis (or Valkey): ``--store redis://…``.

Each vendor's records live under ``buildmock:f<FORMAT>:<generation>:<vendor>:``; a reset builds the next
generation completely and then switches to it in one write, so no request ever sees half a reset.
Every change that touches several keys (a record, its order, its recency, its indexes, the cap) is one
Lua script, so a lost connection never leaves a half-written record. Calls are made with the
``redis`` client's asyncio API from synchronous handler code through :mod:`buildmock.store.bridge`.
"""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import Callable, Iterator, Mapping
from contextvars import ContextVar
from typing import Any
from urllib.parse import urlsplit

import orjson
import redis
import redis.asyncio as aioredis

from buildmock.core.clock import checked_advance
from buildmock.store.base import Record
from buildmock.store.bridge import wait

#: The version of the forms records are held in (a vendor's compact forms, ``Vendor.forms``, and
#: every other record as its handlers write it). A release that changes one bumps it, so that it
#: never reads records of another layout from a Redis an older (or newer) buildmock wrote: it starts
#: on keys of its own instead (state moves between versions as a state document).
#: ``tests/store/test_held_format.py`` fails when a held form changes and this does not.
FORMAT = 2
#: Prefix of every key buildmock writes.
ROOT = f"buildmock:f{FORMAT}"
#: Records fetched per round trip while scanning.
_BATCH = 100

#: The generation the current request works in (read once at its start, see ``SharedState``).
GENERATION: ContextVar[int] = ContextVar("buildmock_generation", default=0)

_CANON = """
local function canon(v)
  if v == nil or v == cjson.null then return 'null' end
  local t = type(v)
  if t == 'string' then return 's' .. v end
  if t == 'boolean' then return v and 'true' or 'false' end
  if t == 'number' then return 'n' .. string.format('%.17g', v) end
  return nil
end
local function index(base, key, rec, seq, add)
  local fields = redis.call('SMEMBERS', base .. ':indexed')
  if #fields == 0 then return end
  local data = cjson.decode(rec)
  for _, field in ipairs(fields) do
    local value = canon(data[field])
    if value then
      local idx = base .. ':idx:' .. field .. ':' .. value
      if add then redis.call('ZADD', idx, seq, key) else redis.call('ZREM', idx, key) end
    end
  end
end
"""

# KEYS: none (one Redis, every key under ARGV[1]); ARGV: base, counters, kind, key, record, cap, seq
_INSERT = (
    _CANON
    + """
local base, ctr, kind, key, rec, cap = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5], tonumber(ARGV[6])
local seq = tonumber(ARGV[7])
local use = redis.call('HINCRBY', ctr, 'use', 1)
local old = redis.call('HGET', base .. ':rec', key)
if old then index(base, key, old, 0, false) end
redis.call('HSET', base .. ':rec', key, rec)
redis.call('ZADD', base .. ':order', seq, key)
redis.call('ZADD', base .. ':lru', use, key)
redis.call('SADD', ctr .. ':kinds', kind)
index(base, key, rec, seq, true)
local n = redis.call('HLEN', base .. ':rec')
while n > cap do
  local gone = redis.call('ZRANGE', base .. ':lru', 0, 0)[1]
  local dropped = redis.call('HGET', base .. ':rec', gone)
  redis.call('HDEL', base .. ':rec', gone)
  redis.call('ZREM', base .. ':order', gone)
  redis.call('ZREM', base .. ':lru', gone)
  index(base, gone, dropped, 0, false)
  redis.call('HINCRBY', ctr .. ':evicted', kind, 1)
  n = n - 1
end
return seq
"""
)

# ARGV: base, counters, key, record
_REPLACE = (
    _CANON
    + """
local base, ctr, key, rec = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
local old = redis.call('HGET', base .. ':rec', key)
if not old then return 0 end
local seq = redis.call('ZSCORE', base .. ':order', key)
index(base, key, old, 0, false)
redis.call('HSET', base .. ':rec', key, rec)
redis.call('ZADD', base .. ':lru', redis.call('HINCRBY', ctr, 'use', 1), key)
index(base, key, rec, seq, true)
return 1
"""
)

# ARGV: base, counters, key -> the record, which becomes the most recently used
_GET = """
local base, ctr, key = ARGV[1], ARGV[2], ARGV[3]
local rec = redis.call('HGET', base .. ':rec', key)
if rec then redis.call('ZADD', base .. ':lru', redis.call('HINCRBY', ctr, 'use', 1), key) end
return rec
"""

# ARGV: base, key
_DELETE = (
    _CANON
    + """
local base, key = ARGV[1], ARGV[2]
local old = redis.call('HGET', base .. ':rec', key)
if not old then return 0 end
index(base, key, old, 0, false)
redis.call('HDEL', base .. ':rec', key)
redis.call('ZREM', base .. ':order', key)
redis.call('ZREM', base .. ':lru', key)
return 1
"""
)

# ARGV: base, field: index every record of the kind on ``field`` (once; writes keep it up to date)
_BUILD_INDEX = (
    _CANON
    + """
local base, field = ARGV[1], ARGV[2]
if redis.call('SISMEMBER', base .. ':indexed', field) == 1 then return 0 end
redis.call('SADD', base .. ':indexed', field)
local all = redis.call('HGETALL', base .. ':rec')
for i = 1, #all, 2 do
  local key, rec = all[i], all[i + 1]
  local value = canon(cjson.decode(rec)[field])
  if value then
    redis.call('ZADD', base .. ':idx:' .. field .. ':' .. value,
      redis.call('ZSCORE', base .. ':order', key), key)
  end
end
return 1
"""
)


def canon(value: Any) -> str | None:
    """The index key of a field value, as the scripts compute it (None: not indexable)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return "s" + value
    if isinstance(value, int | float):
        return "n" + format(float(value), ".17g")
    return None


def check_reachable(url: str, timeout: float = 2.0) -> None:
    """Raise OSError, in one line, unless the Redis at ``url`` answers a PING (checked at start)."""
    secret = urlsplit(url).password

    def masked(text: str) -> str:  # never print a password from the URL
        return text.replace(secret, "***") if secret else text

    try:
        client = redis.Redis.from_url(url, socket_timeout=timeout, socket_connect_timeout=timeout)
        try:
            client.ping()
        finally:
            client.close()
    except (redis.RedisError, ValueError) as exc:
        raise OSError(f"cannot use --store {masked(url)}: {masked(str(exc))}") from exc


class Connection:
    """One ``redis.asyncio`` client per event loop (a test client runs its own loop per use)."""

    def __init__(self, url: str) -> None:
        self.url = url
        self._clients: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, aioredis.Redis] = (
            weakref.WeakKeyDictionary()
        )
        self._scripts: dict[str, Any] = {}

    def client(self) -> aioredis.Redis:
        """The client of the running loop."""
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            raise RuntimeError(
                "an asynchronous store was called outside a bridged request"
            ) from None
        found = self._clients.get(loop)
        if found is None:
            found = self._clients[loop] = aioredis.Redis.from_url(
                self.url, socket_timeout=5, socket_connect_timeout=2
            )
        return found

    def script(self, source: str) -> Any:
        """A script, sent by its hash (and loaded on first use) by whichever client runs it."""
        found = self._scripts.get(source)
        if found is None:
            found = self._scripts[source] = self.client().register_script(source)
        return found


class UnitOfWork:
    """The writes of one request, applied together at its end (one ``MULTI``/``EXEC``).

    Reads in the same request see them (a record it inserted, replaced or deleted); other processes
    see all of them or none. A request that fails, or loses Redis, writes nothing.
    """

    def __init__(self) -> None:
        # (vendor, kind, key) -> (seq, record or None for a delete); in the order they were made
        self.changes: dict[tuple[str, str, str], tuple[int, Record | None]] = {}
        self.scripts: list[tuple[str, list[Any]]] = []
        #: What to run (bridged) once the writes are in (a callback that fell due at once).
        self.after: list[Callable[[], Any]] = []

    def write(
        self,
        identity: tuple[str, str, str],
        seq: int,
        record: Record | None,
        script: str,
        args: list[Any],
    ) -> None:
        """Remember a change and the script that makes it."""
        self.changes[identity] = (seq, record)
        self.scripts.append((script, args))

    def also(self, script: str, args: list[Any]) -> None:
        """Apply one more script with the request's writes (not a record: a schedule entry)."""
        self.scripts.append((script, args))

    def touches(self, vendor: str, kind: str) -> bool:
        """Whether this request changed any record of ``vendor``'s ``kind``."""
        return any(v == vendor and k == kind for v, k, _ in self.changes)

    def seen(self, vendor: str, kind: str, key: str) -> tuple[int, Record | None] | None:
        """The request's own latest change of a record, if it made one."""
        return self.changes.get((vendor, kind, key))

    def inserted(self, vendor: str, kind: str) -> list[tuple[int, Record]]:
        """Records this request added to ``kind``, newest first."""
        found = [
            (seq, record)
            for (v, k, _), (seq, record) in self.changes.items()
            if v == vendor and k == kind and record is not None and seq > 0
        ]
        return sorted(found, key=lambda entry: entry[0], reverse=True)

    async def commit(self, connection: Connection) -> list[Any]:
        """Apply every change atomically (one ``MULTI``/``EXEC``; scripts loaded first if new);
        what each script returned."""
        if not self.scripts:
            return []
        pipe = connection.client().pipeline(transaction=True)
        for source, args in self.scripts:
            await connection.script(source)(keys=[], args=args, client=pipe)
        results: list[Any] = await pipe.execute()
        self.changes.clear()
        self.scripts.clear()
        return results


#: The unit of work of the current request (None outside a request: writes go straight through).
WORK: ContextVar[UnitOfWork | None] = ContextVar("buildmock_unit_of_work", default=None)


class RedisStore:
    """The :class:`~buildmock.store.base.Store` protocol over Redis, for one vendor."""

    def __init__(self, connection: Connection, vendor: str, cap: int) -> None:
        if cap < 1:
            raise ValueError("cap must be at least 1")
        self.connection = connection
        self.vendor = vendor
        self.cap = cap

    def _prefix(self) -> str:
        return f"{ROOT}:{GENERATION.get()}:{self.vendor}"

    def schedule(self, name: str) -> SharedSchedule:
        """A schedule of due times shared by every process (see :class:`SharedSchedule`)."""
        return SharedSchedule(self, name)

    def _base(self, kind: str) -> str:
        return f"{self._prefix()}:k:{kind}"

    def _counters(self) -> str:
        return f"{self._prefix()}:ctr"

    def _run(self, source: str, *args: Any) -> Any:
        script = self.connection.script(source)
        return wait(script(keys=[], args=list(args), client=self.connection.client()))

    def _write(
        self, kind: str, key: str, seq: int, record: Record | None, script: str, args: list[Any]
    ) -> None:
        work = WORK.get()
        if work is None:
            self._run(script, *args)
        else:
            work.write((self.vendor, kind, key), seq, record, script, args)

    def insert(self, kind: str, key: str, record: Record) -> int:
        """Add a record and return its sequence number (evicting the least recently used)."""
        counters = self._counters()
        seq = int(wait(self.connection.client().hincrby(counters, f"seq:{kind}", 1)))
        args = [self._base(kind), counters, kind, key, orjson.dumps(record), self.cap, seq]
        self._write(kind, key, seq, record, _INSERT, args)
        return seq

    def replace(self, kind: str, key: str, record: Record) -> bool:
        """Replace an existing record, keeping its place."""
        exists, seq = self._exists(kind, key)
        if not exists:
            return False
        args = [self._base(kind), self._counters(), key, orjson.dumps(record)]
        self._write(kind, key, seq, record, _REPLACE, args)
        return True

    def _exists(self, kind: str, key: str) -> tuple[bool, int]:
        """Whether the record is there as this request sees it, and the sequence number of the
        request's own insert of it (0 when it did not insert it)."""
        work = WORK.get()
        mine = work.seen(self.vendor, kind, key) if work is not None else None
        if mine is not None:
            return mine[1] is not None, mine[0]
        stored = wait(self.connection.client().hget(f"{self._base(kind)}:rec", key))
        return stored is not None, 0

    def get(self, kind: str, key: str) -> Record | None:
        """The record under ``key`` (now the most recently used), or None."""
        work = WORK.get()
        mine = work.seen(self.vendor, kind, key) if work is not None else None
        if mine is not None:
            return mine[1]
        raw = self._run(_GET, self._base(kind), self._counters(), key)
        return None if raw is None else orjson.loads(raw)

    def delete(self, kind: str, key: str) -> bool:
        """Remove a record."""
        if not self._exists(kind, key)[0]:
            return False
        self._write(kind, key, 0, None, _DELETE, [self._base(kind), key])
        return True

    def scan(
        self,
        kind: str,
        *,
        newest_first: bool = True,
        before: int | None = None,
        where: Mapping[str, Any] | None = None,
    ) -> Iterator[tuple[int, Record]]:
        """Records in sequence order, fetched a batch per round trip as the caller iterates."""
        base = self._base(kind)
        source = f"{base}:order"
        rest = dict(where or {})
        for field, value in (where or {}).items():
            key = canon(value)
            if key is not None:
                self._run(_BUILD_INDEX, base, field)
                source = f"{base}:idx:{field}:{key}"
                del rest[field]
                break
        stored = self._stored(source, base, rest, newest_first, before)
        work = WORK.get()
        if work is None or not work.touches(self.vendor, kind):
            yield from ((seq, record) for seq, _, record in stored)
            return
        # This request changed the kind: its own changes count, in sequence order.
        merged: list[tuple[int, Record]] = []
        for seq, key, record in stored:
            change = work.seen(self.vendor, kind, key)
            if change is None:
                merged.append((seq, record))
            elif change[1] is not None and change[0] == 0:
                merged.append((seq, change[1]))  # replaced in place
        for seq, record in work.inserted(self.vendor, kind):
            if (before is None or seq < before) and all(
                record.get(f) == v for f, v in (where or {}).items()
            ):
                merged.append((seq, record))
        merged.sort(key=lambda entry: entry[0], reverse=newest_first)
        yield from merged

    def _stored(
        self,
        source: str,
        base: str,
        rest: dict[str, Any],
        newest_first: bool,
        before: int | None,
    ) -> Iterator[tuple[int, str, Record]]:
        client = self.connection.client()
        high: float = float("inf") if before is None else before - 1
        low: float = float("-inf")
        chunk: list[Any]
        while True:
            if newest_first:
                chunk = wait(
                    client.zrevrangebyscore(
                        source, high, "-inf", start=0, num=_BATCH, withscores=True
                    )
                )
            else:
                chunk = wait(
                    client.zrangebyscore(source, low, high, start=0, num=_BATCH, withscores=True)
                )
            if not chunk:
                return
            keys = [member for member, _ in chunk]
            records = wait(client.hmget(f"{base}:rec", keys))
            for (member, score), raw in zip(chunk, records, strict=True):
                if raw is None:
                    continue  # deleted between the two reads
                record = orjson.loads(raw)
                if all(record.get(f) == v for f, v in rest.items()):
                    yield int(score), _text(member), record
            last = int(chunk[-1][1])
            if newest_first:
                high = last - 1
            else:
                low = last + 1
            if len(chunk) < _BATCH:
                return

    def next_value(self, counter: str) -> int:
        """The next value of a named counter (atomic across processes)."""
        return self.next_values(counter, 1)

    def next_values(self, counter: str, count: int) -> int:
        """Take the next ``count`` (>= 1) values of a named counter at once (atomically: no other
        process's value falls among them); the first of them."""
        if count < 1:
            raise ValueError("next_values() takes at least one value")
        client = self.connection.client()
        return int(wait(client.hincrby(self._counters(), f"n:{counter}", count))) - count + 1

    def counts(self) -> dict[str, int]:
        """How many records each kind holds."""
        client = self.connection.client()
        kinds = sorted(_text(k) for k in wait(client.smembers(f"{self._counters()}:kinds")))
        if not kinds:
            return {}
        pipe = client.pipeline(transaction=False)
        for kind in kinds:
            pipe.hlen(f"{self._base(kind)}:rec")
        sizes = wait(pipe.execute())
        return dict(zip(kinds, map(int, sizes), strict=True))

    def evictions(self) -> dict[str, int]:
        """Records evicted per kind."""
        raw = wait(self.connection.client().hgetall(f"{self._counters()}:evicted"))
        return {_text(k): int(v) for k, v in raw.items()}

    def dump(self) -> dict[str, Any]:
        """Every record (in sequence order) and counter, as :class:`MemoryStore` dumps them."""
        client = self.connection.client()
        kinds = sorted(_text(k) for k in wait(client.smembers(f"{self._counters()}:kinds")))
        records: dict[str, list[list[Any]]] = {}
        for kind in kinds:
            order: list[Any] = wait(
                client.zrange(f"{self._base(kind)}:order", 0, -1, withscores=True)
            )
            raws = (
                wait(client.hmget(f"{self._base(kind)}:rec", [m for m, _ in order]))
                if order
                else []
            )
            records[kind] = [
                [_text(member), int(seq), orjson.loads(raw)]
                for (member, seq), raw in zip(order, raws, strict=True)
                if raw is not None
            ]
        counters: dict[str, int] = {}
        for name, value in wait(client.hgetall(self._counters())).items():
            text = _text(name)
            if text.startswith("seq:"):
                counters[text] = int(value)
            elif text.startswith("n:"):
                counters[text[2:]] = int(value)
        return {"records": records, "counters": counters}

    def load(self, data: Mapping[str, Any]) -> None:
        """Replace everything with what :meth:`dump` gave (the cap still applies)."""
        self.clear()
        counters = self._counters()
        for kind, rows in data.get("records", {}).items():
            for key, seq, record in sorted(rows, key=lambda row: row[1])[-self.cap :]:
                self._run(
                    _INSERT,
                    self._base(kind),
                    counters,
                    kind,
                    key,
                    orjson.dumps(record),
                    self.cap,
                    seq,
                )
        values = {
            (name if name.startswith("seq:") else f"n:{name}"): int(value)
            for name, value in data.get("counters", {}).items()
        }
        if values:
            wait(self.connection.client().hset(counters, mapping=values))

    def clear(self) -> None:
        """Forget this generation's records and counters of this vendor."""
        client = self.connection.client()
        pattern = f"{self._prefix()}:*"
        keys = [key for key in wait(_collect(client, pattern))]
        for start in range(0, len(keys), 500):
            wait(client.unlink(*keys[start : start + 500]))


# ARGV: base, key, url, due: schedule unless that key was already called back
_SCHEDULE = """
local base, key = ARGV[1], ARGV[2]
if redis.call('SISMEMBER', base .. ':fired', key) == 1 then return 0 end
redis.call('ZADD', base, ARGV[4], key)
redis.call('HSET', base .. ':url', key, ARGV[3])
return 1
"""

# ARGV: base, key
_UNSCHEDULE = """
redis.call('ZREM', ARGV[1], ARGV[2])
return redis.call('HDEL', ARGV[1] .. ':url', ARGV[2])
"""

# ARGV: base, now, limit -> {key, url, due, …}: the due entries, each taken by one caller only
_CLAIM = """
local base = ARGV[1]
local due = redis.call('ZRANGEBYSCORE', base, '-inf', ARGV[2], 'WITHSCORES', 'LIMIT', 0, ARGV[3])
local out = {}
for i = 1, #due, 2 do
  local key = due[i]
  redis.call('ZREM', base, key)
  local url = redis.call('HGET', base .. ':url', key)
  redis.call('HDEL', base .. ':url', key)
  redis.call('SADD', base .. ':fired', key)
  if url then
    out[#out + 1] = key
    out[#out + 1] = url
    out[#out + 1] = due[i + 1]
  end
end
return out
"""

#: Due entries one claim takes (the rest are taken by the next claim).
CLAIM_BATCH = 500


class SharedSchedule:
    """Due times of keys (a vendor's pending callbacks) kept in Redis with the vendor's records.

    Whichever process claims a due entry (one script: read, remove, mark fired) is the only one
    that gets it, so each is acted on once. Inside a request, changes are written with its unit of
    work (a request that fails schedules nothing).
    """

    def __init__(self, store: RedisStore, name: str) -> None:
        self._store = store
        self._name = name

    def _base(self) -> str:
        return f"{self._store._prefix()}:sched:{self._name}"

    def _apply(self, script: str, args: list[Any]) -> None:
        work = WORK.get()
        if work is None:
            self._store._run(script, *args)
        else:
            work.also(script, args)

    def put(self, key: str, url: str, due: float) -> None:
        """Schedule ``key`` at ``due`` (again: move it), unless it was already taken."""
        self._apply(_SCHEDULE, [self._base(), key, url, repr(float(due))])

    def drop(self, key: str) -> None:
        """Unschedule ``key``."""
        self._apply(_UNSCHEDULE, [self._base(), key])

    def defer(self, action: Callable[[], Any]) -> None:
        """Run ``action`` once this request's writes are in (now, outside a request)."""
        work = WORK.get()
        if work is None:
            action()
        else:
            work.after.append(action)

    def take(self, now: float) -> list[tuple[str, str, float]]:
        """Claim the entries due at ``now``, soonest first: ``(key, url, due)``."""
        taken: list[tuple[str, str, float]] = []
        while True:
            raw = self._store._run(_CLAIM, self._base(), repr(float(now)), CLAIM_BATCH)
            taken.extend(
                (_text(raw[i]), _text(raw[i + 1]), float(raw[i + 2])) for i in range(0, len(raw), 3)
            )
            if len(raw) < 3 * CLAIM_BATCH:
                return taken

    def size(self) -> int:
        """How many entries wait."""
        return int(wait(self._store.connection.client().zcard(self._base())))

    def soonest(self) -> float | None:
        """Not known without a round trip: the serving loop's ticker polls instead."""
        return None

    def discard(self) -> None:
        """Nothing is held in this process."""


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


async def _collect(client: aioredis.Redis, pattern: str) -> list[bytes]:
    return [key async for key in client.scan_iter(match=pattern, count=1000)]


# -- what the processes share besides records ----------------------------------------------------

#: The clock offset (seconds advanced) the current request sees, read once at its start.
OFFSET: ContextVar[float | None] = ContextVar("buildmock_clock_offset", default=None)


class SharedClock:
    """The ``--clock`` of every process: its own base (wall time or the manual epoch) plus one
    offset kept in Redis, read once per request so a request sees one consistent time."""

    def __init__(self, cluster: Cluster, base: Any) -> None:
        self._cluster = cluster
        self._base = base
        self._last = 0.0

    def now(self) -> float:
        """Base time plus the shared offset."""
        offset = OFFSET.get()
        return self._base() + (self._last if offset is None else offset)

    def advance(self, seconds: float) -> float:
        """Move every process's clock forward (one atomic increment)."""
        checked_advance(self.now(), seconds)
        client = self._cluster.connection.client()
        offset = float(wait(client.incrbyfloat(self._cluster.key("clock"), seconds)))
        OFFSET.set(offset)
        self._last = offset
        return self.now()


# ARGV: root, vendor whose draw sequence to advance ("" for none) -> generation, clock, draw
_BEGIN = """
local root, vendor = ARGV[1], ARGV[2]
local draw = false
if vendor ~= '' then draw = redis.call('INCR', root .. ':draw:' .. vendor) end
return {redis.call('GET', root .. ':gen'), redis.call('GET', root .. ':clock'), draw}
"""


class Unready(Exception):
    """The shared store has not been set up (a new Redis, or one that lost its data)."""


class Cluster:
    """The coordination every process goes through: the live generation, the clock, sequences."""

    def __init__(self, connection: Connection, vendors: list[str]) -> None:
        self.connection = connection
        self.vendors = vendors
        self.generation = 0  # the generation this process last served

    def key(self, name: str) -> str:
        """A shared key that belongs to no generation."""
        return f"{ROOT}:{name}"

    async def begin(self, draw_for: str | None) -> tuple[bool, int | None]:
        """Read the live generation and the clock (and take the next draw of ``draw_for``'s
        sequence) in one round trip; True when another process reset the mock since last time."""
        script = self.connection.script(_BEGIN)
        gen, clock, draw = await script(
            keys=[], args=[ROOT, draw_for or ""], client=self.connection.client()
        )
        if gen is None:
            raise Unready("the shared store holds no mock (new or emptied Redis)")
        generation = int(gen)
        GENERATION.set(generation)
        OFFSET.set(float(clock or 0.0))
        changed = generation != self.generation
        self.generation = generation
        return changed, (int(draw) if draw_for else None)

    async def ping(self) -> None:
        """Nothing if Redis answers; ``RedisError`` if it cannot be reached."""
        await self.connection.client().ping()

    async def live(self) -> bool:
        """Whether some process has already set the mock up."""
        return bool(await self.connection.client().exists(self.key("gen")))

    async def claim_setup(self) -> bool:
        """True for the one process that should load the fixtures of a fresh Redis."""
        return bool(await self.connection.client().set(self.key("setup"), 1, nx=True, ex=120))

    def next_generation(self) -> int:
        """A new generation number to build a reset into (not live until :meth:`switch`)."""
        generation = int(wait(self.connection.client().incr(self.key("generations"))))
        GENERATION.set(generation)
        OFFSET.set(0.0)  # the new state is built at the restarted clock's time
        return generation

    def switch(self, generation: int) -> None:
        """Make ``generation`` live for every process, with the clock and draws restarted; the
        previous generation's keys are dropped afterwards."""
        client = self.connection.client()
        old = wait(client.get(self.key("gen")))
        pipe = client.pipeline(transaction=True)
        pipe.set(self.key("gen"), generation)
        pipe.set(self.key("clock"), 0)
        for vendor in self.vendors:
            pipe.delete(self.key(f"draw:{vendor}"))
        wait(pipe.execute())
        OFFSET.set(0.0)
        self.generation = generation
        if old is not None and int(old) != generation:
            keys = wait(_collect(client, f"{ROOT}:{int(old)}:*"))
            for start in range(0, len(keys), 500):
                wait(client.unlink(*keys[start : start + 500]))
