"""Handlers of the control API (``/__buildmock``); each gets the :class:`BuildMock` first."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from starlette.responses import Response

from buildmock import __version__
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
