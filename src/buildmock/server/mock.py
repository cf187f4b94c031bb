"""The mock's state: the clock, and per vendor its spec, store, synth and fixtures."""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Callable
from typing import Any

import yaml

from buildmock.core.clock import MANUAL_EPOCH, Clock, make_clock
from buildmock.server import fixtures
from buildmock.settings import Settings
from buildmock.store import is_redis, open_store
from buildmock.store.bridge import bridged
from buildmock.store.redis import Cluster, Connection, RedisStore, SharedClock
from buildmock.synth import Synth
from buildmock.vendors import Runtime, available, load

log = logging.getLogger("buildmock")

#: libyaml's loader when PyYAML has it (ten times faster on the specs: start-up), else PyYAML's.
_YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


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
                    f"unknown --api {', '.join(unknown)}; available: {', '.join(names) or 'none'}"
                )
            names = [n for n in names if n in settings.apis]
        #: Set when the state is shared between processes (``--store redis://…``).
        self.cluster: Cluster | None = None
        if is_redis(settings.store):
            self.cluster = Cluster(Connection(settings.store), names)
            self.clock = SharedClock(self.cluster, _clock_base(settings.clock))
        self.specs: dict[str, dict[str, Any]] = {
            name: yaml.load((settings.specs / f"{name}.yaml").read_text(), Loader=_YAML_LOADER)
            for name in names
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
        self._lock = threading.Lock()
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

    def reset(self) -> None:
        """Forget everything, re-seed, restart the clock and load the fixtures again.

        With a shared store the new state is built in a generation of its own and then switched
        to in one write, so no process serves half a reset.
        """
        if self.cluster is not None:
            generation = self.cluster.next_generation()
            self._rebuild()
            self.cluster.switch(generation)
            return
        with self._lock:
            self.clock = make_clock(self.settings.clock)
            self._rebuild()

    def _rebuild(self) -> None:
        for name, runtime in self.runtimes.items():
            runtime.clock = self.clock
            runtime.store.clear()
            runtime.synth = Synth(self.settings.seed, name)
            self.forget(runtime)
            self._load_fixtures(name, runtime)

    def forget(self, runtime: Runtime) -> None:
        """Drop what a runtime keeps in this process only (caches, dispatchers) and start it again."""
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
        context = fixtures.read(path, self.specs[name])
        runtime.vendor.load_fixtures(runtime, context)

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
