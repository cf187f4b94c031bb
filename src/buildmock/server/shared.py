"""Serving from a shared store (``--store redis://…``): every handler call made consistent across
processes.

Each request reads the live generation and the clock once (one round trip), runs its handler in a
bridge so that store calls are awaited on the event loop, and commits its writes in one transaction.
A write request draws its data from a synth seeded by the seed, the vendor and the next number of a
sequence shared in Redis, so the same requests give the same bytes whichever process answers.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from redis.exceptions import RedisError

from buildmock.core.errors import ApiError
from buildmock.server.journal import RedisJournal
from buildmock.store.bridge import bridged, run_coroutine
from buildmock.store.redis import WORK, UnitOfWork, Unready
from buildmock.synth.factory import REQUEST_SYNTH, Synth

if TYPE_CHECKING:
    from buildmock.server.mock import BuildMock

#: Methods whose operations only read.
READS = frozenset({"get", "head", "options"})
#: Seconds between two looks for due callbacks under the real clock (every process looks).
TICK_INTERVAL = 0.5

log = logging.getLogger("buildmock")


#: Control operations served without the shared store: health reaches Redis itself, to say whether
#: it can (a 503 in health's own shape, not the store's error).
UNSHARED = frozenset({"health"})


def unavailable(exc: RedisError) -> str:
    """What a request that could not reach the shared store is told."""
    return f"the mock's shared store is unavailable: {type(exc).__name__}"


class SharedServing:
    """Wraps the handlers of an app whose mock has a :class:`~buildmock.store.redis.Cluster`."""

    def __init__(self, mock: BuildMock) -> None:
        assert mock.cluster is not None
        self.mock = mock
        self.cluster = mock.cluster
        self._idle: list[Synth] = []

    def wrap(
        self, bound: Callable[..., Any], vendor: str | None, method: str
    ) -> Callable[..., Any]:
        """``bound`` (a handler with its first argument bound) served from the shared store."""
        writes = vendor is not None and method not in READS

        @functools.wraps(bound)
        async def call(*args: Any, **kwargs: Any) -> Any:
            return await self.serve(lambda: run_coroutine(bound(*args, **kwargs)), vendor, writes)

        return call

    async def serve(self, invoke: Callable[[], Any], vendor: str | None, writes: bool) -> Any:
        """Run one handler call against the shared state."""
        synth = None
        work = UnitOfWork() if writes else None
        work_token = WORK.set(work)
        synth_token = REQUEST_SYNTH.set(None)
        try:
            draw = await self._enter(vendor if writes else None)
            if draw is not None:
                synth = self._idle.pop() if self._idle else Synth(self.mock.settings.seed, "")
                synth.reseed(f"{vendor}#{draw}")
                REQUEST_SYNTH.set(synth)
            result = await bridged(invoke)
            if work is not None:
                await self._commit(work, result)
            return result
        except RedisError as exc:
            raise ApiError(503, unavailable(exc)) from exc
        finally:
            WORK.reset(work_token)
            REQUEST_SYNTH.reset(synth_token)
            if synth is not None:
                self._idle.append(synth)

    async def _commit(self, work: UnitOfWork, result: Any) -> None:
        """Apply a request's writes (with its journal entry), then what waited for them."""
        journal, status = self.mock.journal, getattr(result, "status_code", None)
        row = journal.enlist(work, status) if isinstance(journal, RedisJournal) and status else None
        done = await work.commit(self.cluster.connection)
        if row is not None:
            row[0] = int(done[-1])
        WORK.set(None)  # what runs now writes straight through
        for action in work.after:
            await bridged(action)

    async def _enter(self, draw_for: str | None) -> int | None:
        """Read the live generation and the clock (set up an emptied Redis again; drop what
        this process kept of a generation another process replaced); the draw, if asked for."""
        try:
            changed, draw = await self.cluster.begin(draw_for)
        except Unready:
            await self.mock.start()  # Redis came back empty: set the mock up again
            changed, draw = await self.cluster.begin(draw_for)
        if changed:
            for runtime in self.mock.runtimes.values():
                self.mock.forget(runtime)
        return draw

    def start_ticker(self) -> asyncio.Task[None] | None:
        """Under the real clock, look for due callbacks every ``TICK_INTERVAL`` seconds in the
        serving loop (each due one is claimed by one process only); None under the manual clock,
        where a clock advance ticks."""
        if self.mock.settings.clock != "real":
            return None
        return asyncio.get_running_loop().create_task(self._tick_forever())

    async def _tick_forever(self) -> None:
        while True:
            await asyncio.sleep(TICK_INTERVAL)
            try:
                await self._enter(None)
                await bridged(self.mock.tick)
            except (RedisError, Unready) as exc:
                log.debug("callback tick skipped: %s", exc)  # Redis is away; the next tick retries
            except Exception:  # the ticker must outlive anything one tick runs into
                log.exception("callback tick failed")
