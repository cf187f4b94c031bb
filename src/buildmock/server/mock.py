"""The mock's state: the clock, and per vendor its spec, store, synth and fixtures."""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from buildmock import fixtures
from buildmock.core.clock import MANUAL_EPOCH, Clock, make_clock
from buildmock.server import scenarios, snapshot
from buildmock.server.journal import Journal, MemoryJournal, RedisJournal
from buildmock.server.operations import OperationTable
from buildmock.server.specfile import load_spec
from buildmock.settings import Settings
from buildmock.store import is_redis, open_store
from buildmock.store.bridge import bridged
from buildmock.store.redis import Cluster, Connection, RedisStore, SharedClock
from buildmock.synth import Synth
from buildmock.vendors import Runtime, available, load

log = logging.getLogger("buildmock")


def _clock_base(kind: str) -> Callable[[], float]:
    if kind == "manual":
        return lambda: MANUAL_EPOCH
    if kind == "real":
        return time.time
    raise ValueError(f"unknown clock {kind!r}: expected 'real' or 'manual'")


class BuildMock:
    """Holds every vendor's runtime; ``reset`` returns all of it to the seeded initial state."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.clock: Clock = make_clock(settings.clock)
        names = available(settings.specs)
        if settings.apis:
            unknown = sorted(set(settings.apis) - set(names))
            if unknown:
                raise ValueError(
                    f"unknown --api (BUILDMOCK_APIS) {', '.join(unknown)}; "
                    f"available: {', '.join(names) or 'none'}"
                )
            names = [n for n in names if n in settings.apis]
        #: Set when the state is shared between processes (``--store redis://…``).
        self.cluster: Cluster | None = None
        if is_redis(settings.store):
            self.cluster = Cluster(Connection(settings.store), names)
            self.clock = SharedClock(self.cluster, _clock_base(settings.clock))
        self.specs: dict[str, dict[str, Any]] = {
            name: load_spec(settings.specs / f"{name}.yaml") for name in names
        }
        self.runtimes: dict[str, Runtime] = {
            name: Runtime(
                vendor=load(name),
                settings=settings,
                clock=self.clock,
                store=RedisStore(self.cluster.connection, name, settings.cap)
                if self.cluster is not None
                else open_store(settings.store, name, settings.cap),
                base_synth=Synth(settings.seed, name),
            )
            for name in names
        }
        self._lock = threading.RLock()
        #: Routes of the specs, the request journal (None with ``--journal 0``), scenario rules.
        self.operations = OperationTable(self.specs)
        self.journal: Journal | None = None
        if settings.journal:
            self.journal = (
                MemoryJournal(settings.journal)
                if self.cluster is None
                else RedisJournal(self.cluster.connection, settings.journal)
            )
        self.scenarios = scenarios.Scenarios(settings.seed, self.operations, list(self.runtimes))
        self.on_reset: list[Callable[[], None]] = []
        if self.cluster is None:
            self.reset()  # a shared store is set up once the server runs (``start``)

    async def start(self) -> None:
        """Set a shared store up on first use: one process loads the fixtures, the rest wait."""
        if self.cluster is None:
            return
        deadline = time.monotonic() + 60
        while not await self.cluster.live():
            if await self.cluster.claim_setup():
                await bridged(self.reset)
                return
            if time.monotonic() > deadline:
                raise RuntimeError(
                    "another process claimed the shared store's set-up but never finished it"
                )
            await asyncio.sleep(0.05)

    @property
    def lock(self) -> threading.RLock:
        """Held while the state is replaced (reset, state import)."""
        return self._lock

    def use_clock(self, clock: Clock) -> None:
        """Make ``clock`` the time of every vendor."""
        self.clock = clock
        for runtime in self.runtimes.values():
            runtime.clock = clock

    def reset(self) -> None:
        """Forget everything, re-seed, restart the clock and load the fixtures again.

        With a shared store the new state is built in a generation of its own and then switched
        to in one write, so no process serves half a reset.
        """
        if self.cluster is None:
            self.install(self.prepare())
            return
        generation = self.cluster.next_generation()
        with self._lock:
            for name, runtime in self.runtimes.items():
                runtime.store.clear()
                runtime.synth = Synth(self.settings.seed, name)
                self.forget(runtime)
                self._load_fixtures(name, runtime)
            self._restart_controls()
        self.cluster.switch(generation)

    def prepare(self) -> tuple[Clock, dict[str, Runtime]]:
        """A fresh clock and runtimes with the fixtures loaded, not yet in use: safe to build on
        another thread while the current state keeps serving."""
        clock = make_clock(self.settings.clock)
        fresh: dict[str, Runtime] = {}
        for name, runtime in self.runtimes.items():
            new = Runtime(
                vendor=runtime.vendor,
                settings=self.settings,
                clock=clock,
                store=open_store(self.settings.store, name, self.settings.cap),
                base_synth=Synth(self.settings.seed, name),
            )
            if new.vendor.on_start is not None:
                new.vendor.on_start(new)
            self._load_fixtures(name, new)
            fresh[name] = new
        return clock, fresh

    def install(self, prepared: tuple[Clock, dict[str, Runtime]]) -> None:
        """Switch every runtime to a prepared state at once; what the old one ran is closed."""
        clock, fresh = prepared
        old: list[Any] = []
        with self._lock:
            self.clock = clock
            for name, runtime in self.runtimes.items():
                new = fresh[name]
                old.extend(runtime.services.values())
                runtime.clock, runtime.store = new.clock, new.store
                runtime.synth, runtime.services = new.synth, new.services
            self._restart_controls()
        for service in old:
            close = getattr(service, "close", None)
            if callable(close):
                close()

    def _restart_controls(self) -> None:
        """Pins, scenario rules, the journal and a ``--state`` document as at start (lock held)."""
        for runtime in self.runtimes.values():
            runtime.next_outcome.value = None
        self.scenarios.clear()
        if self.settings.scenarios is not None:
            scenarios.load_file(self.settings.scenarios, self.scenarios)
        if self.journal is not None:
            self.journal.clear()
        if self.settings.state is not None:
            snapshot.load_file(self, self.settings.state)
        for hook in self.on_reset:
            hook()

    def forget(self, runtime: Runtime) -> None:
        """Drop what a runtime keeps in this process only (caches, dispatchers) and start it again."""
        for service in runtime.services.values():
            close = getattr(service, "close", None)
            if callable(close):
                close()
        runtime.services.clear()
        if runtime.vendor.on_start is not None:
            runtime.vendor.on_start(runtime)

    def _load_fixtures(self, name: str, runtime: Runtime) -> None:
        directory = self.settings.fixtures
        if directory is None or runtime.vendor.load_fixtures is None:
            return
        path = directory / f"{name}.yaml"
        if not path.is_file():
            return
        context = fixtures.read(path, self.specs[name], self.settings.speed)
        runtime.vendor.load_fixtures(runtime, context)
        context.finish()

    def advance(self, seconds: float) -> float:
        """Move the clock forward and let vendors act on what became due (callbacks)."""
        now = self.clock.advance(seconds)
        self.tick()
        return now

    def tick(self) -> None:
        """Let each vendor act on what is due at the current time."""
        for runtime in self.runtimes.values():
            if runtime.vendor.on_tick is not None:
                runtime.vendor.on_tick(runtime)

    def state(self) -> dict[str, Any]:
        """Record counts per vendor and kind, and vendor diagnostics."""
        services = {
            name: rt.vendor.describe(rt) for name, rt in self.runtimes.items() if rt.vendor.describe
        }
        return {
            "vendors": {name: rt.store.counts() for name, rt in self.runtimes.items()},
            "services": services,
        }
