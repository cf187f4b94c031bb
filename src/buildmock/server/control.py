"""Handlers of the control API (``/__buildmock``); each gets the :class:`BuildMock` first."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from starlette.responses import Response

from buildmock import __version__
from buildmock.server import inspect
from buildmock.synth.factory import iso
from buildmock.vendors.base import json_response

if TYPE_CHECKING:
    from buildmock.server.mock import BuildMock


def _clock(mock: BuildMock) -> dict[str, Any]:
    now = mock.clock.now()
    return {"mode": mock.settings.clock, "now": now, "iso": iso(now)}


def _state(mock: BuildMock) -> dict[str, Any]:
    state = mock.state()
    state["clock"] = _clock(mock)
    return state


async def health(mock: BuildMock) -> Response:
    """Liveness."""
    return json_response({"status": "ok", "version": __version__, "apis": list(mock.runtimes)})


async def reset(mock: BuildMock) -> Response:
    """Reset to the seeded initial state."""
    mock.reset()
    return json_response(_state(mock))


async def advance_clock(mock: BuildMock, body: dict[str, Any]) -> Response:
    """Advance the clock by ``body.seconds``."""
    mock.advance(float(body["seconds"]))
    return json_response(_clock(mock))


async def state(mock: BuildMock) -> Response:
    """Counts per vendor and kind."""
    return json_response(_state(mock))


async def list_apis(mock: BuildMock) -> Response:
    """The vendors served, with what the dashboard shows of each."""
    return json_response(inspect.catalogue(mock))


async def list_records(
    mock: BuildMock, vendor: str, kind: str | None = None, limit: int = 20, offset: int = 0
) -> Response:
    """A page of a vendor's records with their current status."""
    return json_response(inspect.records(mock, vendor, kind, limit, offset))


async def get_record(mock: BuildMock, vendor: str, id_: str, kind: str | None = None) -> Response:
    """One record as its vendor renders it, with its timeline."""
    return json_response(inspect.record(mock, vendor, kind, id_))


async def get_next_outcomes(mock: BuildMock) -> Response:
    """Pinned outcomes per vendor."""
    return json_response(inspect.pinned(mock))


async def pin_next_outcome(mock: BuildMock, body: dict[str, Any]) -> Response:
    """Pin or unpin the outcome of a vendor's next create."""
    return json_response(inspect.pin_outcome(mock, body["vendor"], body["outcome"]))
