"""The whole state as one JSON document: export it, load it back (control API, ``--state``).

The document holds every vendor's records and counters, each vendor's random streams (so what
is created next is what would have been), the clock and the scenario rules in force. Caches
and pending Cocktail callbacks are not state: caches refill, callbacks of imported runs are not
re-sent.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import orjson

from buildmock.core.clock import ManualClock, RealClock
from buildmock.server.scenarios import ScenarioError
from buildmock.store import forms

if TYPE_CHECKING:
    from buildmock.server.mock import BuildMock
    from buildmock.synth.factory import Synth

#: The document format; a document of another version is refused.
VERSION = 1
#: Latest time the clock can be set to or loaded at: 2100-01-01T00:00:00Z.
LATEST = 4_102_444_800.0


class SnapshotError(ValueError):
    """A state document that cannot be loaded."""


def _random_state(state: Any) -> list[Any]:
    version, internal, gauss = state
    return [version, list(internal), gauss]


def _synth(synth: Synth) -> dict[str, Any]:
    return {
        "rng": _random_state(synth.rng.getstate()),
        "faker": _random_state(synth.faker.random.getstate()),
    }


def export(mock: BuildMock) -> dict[str, Any]:
    """The state document of ``mock``."""
    return {
        "version": VERSION,
        "seed": mock.settings.seed,
        "clock": {"mode": mock.settings.clock, "now": mock.clock.now()},
        "vendors": {
            name: {
                "store": forms.documented(rt.vendor.forms, rt.store.dump()),
                "synth": _synth(rt.synth),
            }
            for name, rt in mock.runtimes.items()
        },
        "scenarios": mock.scenarios.export(),
    }


def _restore_random(target: Any, state: Any, where: str) -> None:
    try:
        version, internal, gauss = state
        target.setstate((version, tuple(internal), gauss))
    except (TypeError, ValueError) as exc:
        raise SnapshotError(f"{where}: not a random state ({exc})") from None


def _check_store(store: Mapping[str, Any], where: str) -> None:
    records = store.get("records", {})
    counters = store.get("counters", {})
    if not isinstance(records, Mapping) or not isinstance(counters, Mapping):
        raise SnapshotError(f"{where}: must be {{records, counters}}")
    for kind, rows in records.items():
        if not isinstance(rows, list) or not all(
            isinstance(row, list)
            and len(row) == 3
            and isinstance(row[0], str)
            and isinstance(row[1], int)
            and isinstance(row[2], dict)
            for row in rows
        ):
            raise SnapshotError(f"{where}.records.{kind}: must be a list of [key, seq, record]")
    if not all(isinstance(v, int) and not isinstance(v, bool) for v in counters.values()):
        raise SnapshotError(f"{where}.counters: must map names to integers")


def load(mock: BuildMock, document: Any) -> None:
    """Replace ``mock``'s state with ``document``; nothing changes if it is refused."""
    if not isinstance(document, Mapping) or document.get("version") != VERSION:
        raise SnapshotError(f"not a buildmock state document of version {VERSION}")
    vendors = document.get("vendors")
    if not isinstance(vendors, Mapping):
        raise SnapshotError("vendors: must be an object of vendor -> state")
    unknown = sorted(set(vendors) - set(mock.runtimes))
    if unknown:
        raise SnapshotError(f"vendors: {', '.join(unknown)} not served here")
    clock = document.get("clock")
    now = clock.get("now") if isinstance(clock, Mapping) else None
    if not isinstance(now, int | float) or isinstance(now, bool) or not 0 <= now <= LATEST:
        raise SnapshotError("clock: must be {mode, now} with now in unix seconds up to 2100")
    rules = document.get("scenarios", [])
    if not isinstance(rules, list):
        raise SnapshotError("scenarios: must be a list of rules")
    stores = {}
    for name, state in vendors.items():
        if not isinstance(state, Mapping) or not isinstance(state.get("store"), Mapping):
            raise SnapshotError(f"vendors.{name}: must be {{store, synth}}")
        _check_store(state["store"], f"vendors.{name}.store")
        try:
            stores[name] = forms.held(mock.runtimes[name].vendor.forms, state["store"])
            # What a store cannot write back out (an integer beyond 64 bits, say) is refused
            # here, before anything is replaced: the Redis store writes records as JSON.
            orjson.dumps(stores[name])
        except (AttributeError, KeyError, TypeError, ValueError) as exc:
            raise SnapshotError(
                f"vendors.{name}.store: a record not as exported ({exc!r})"
            ) from None
    with mock.lock:
        previous = mock.scenarios.export()
        mock.scenarios.clear()
        try:
            for index, rule in enumerate(rules):
                mock.scenarios.add(rule, source="state", where=f"scenarios[{index}]: ")
        except ScenarioError:
            mock.scenarios.clear()
            for rule in previous:
                mock.scenarios.add(rule)
            raise
        now = float(now)
        use = ManualClock(now) if mock.settings.clock == "manual" else RealClock()
        if isinstance(use, RealClock) and now > time.time():
            use.advance(now - time.time())
        mock.use_clock(use)
        for name, state in vendors.items():
            runtime = mock.runtimes[name]
            runtime.store.load(stores[name])
            runtime.services.clear()
            if runtime.vendor.on_start is not None:
                runtime.vendor.on_start(runtime)
            synth = state.get("synth") or {}
            if "rng" in synth:
                _restore_random(runtime.synth.rng, synth["rng"], f"vendors.{name}.synth.rng")
            if "faker" in synth:
                _restore_random(
                    runtime.synth.faker.random, synth["faker"], f"vendors.{name}.synth.faker"
                )


def load_file(mock: BuildMock, path: Path) -> None:
    """Load a state document saved to a file (``--state``)."""
    try:
        document = orjson.loads(path.read_bytes())
    except OSError as exc:
        raise SnapshotError(f"{path}: cannot read ({exc.strerror})") from None
    except orjson.JSONDecodeError as exc:
        raise SnapshotError(f"{path}: not JSON ({exc})") from None
    try:
        load(mock, document)
    except SnapshotError as exc:
        raise SnapshotError(f"{path}: {exc}") from None
