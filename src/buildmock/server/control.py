"""Handlers of the control API (``/__buildmock``); each gets the :class:`BuildMock` first."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

from starlette.responses import Response

from buildmock import __version__
from buildmock.core.errors import ApiError
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
    """Reset to the seeded initial state (off the event loop: a large fixture takes a while)."""
    mock.install(await asyncio.to_thread(mock.prepare))
    return json_response(_state(mock))


async def advance_clock(mock: BuildMock, body: dict[str, Any]) -> Response:
    """Advance the clock by ``body.seconds``; a non-finite amount or one past the clock's last
    representable time is a 400 and changes nothing."""
    try:
        mock.advance(float(body["seconds"]))
    except (ValueError, OverflowError) as exc:
        raise ApiError(400, str(exc)) from exc
    return json_response(_clock(mock))


async def state(mock: BuildMock) -> Response:
    """Counts per vendor and kind."""
    return json_response(_state(mock))
