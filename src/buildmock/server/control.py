"""Handlers of the control API (``/__buildmock``); each gets the :class:`BuildMock` first."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from redis.exceptions import RedisError
from starlette.responses import Response

from buildmock import __version__
from buildmock.core.errors import ApiError
from buildmock.server import inspect, snapshot
from buildmock.server import journal as journals
from buildmock.server.scenarios import ScenarioError
from buildmock.server.shared import unavailable
from buildmock.synth.factory import iso
from buildmock.vendors.base import json_response

if TYPE_CHECKING:
    from buildmock.server.mock import BuildMock
    from buildmock.vendors.base import Runtime


def _clock(mock: BuildMock) -> dict[str, Any]:
    now = mock.clock.now()
    return {"mode": mock.settings.clock, "now": now, "iso": iso(now)}


def _state(mock: BuildMock) -> dict[str, Any]:
    state = mock.state()
    state["clock"] = _clock(mock)
    return state


async def health(mock: BuildMock) -> Response:
    """Liveness, the vendors served, and which of them answer every failure with one status; 503
    (``status: unavailable``) while a shared store cannot be reached."""
    body: dict[str, Any] = {"status": "ok", "version": __version__, "apis": list(mock.runtimes)}
    fixed = {
        name: status
        for name, rt in mock.runtimes.items()
        if (status := _error_status(rt)) is not None
    }
    if fixed:
        body["error_status"] = fixed
    if mock.cluster is not None:
        try:
            await mock.cluster.ping()
        except RedisError as exc:
            return json_response({**body, "status": "unavailable", "error": unavailable(exc)}, 503)
    return json_response(body)


def _error_status(rt: Runtime) -> int | None:
    """The status every failure of ``rt``'s vendor is answered with, when it is one for all (Cocktail's
    ``--cocktail-errors vendor``: 200); None when a failure carries its own status. Asked of the renderer
    itself, so a contract run judges the errors the server really sends."""
    render = rt.vendor.renderer(rt.settings)
    statuses = {render(ApiError(status, "probe")).status_code for status in (400, 404)}
    return statuses.pop() if len(statuses) == 1 else None


async def reset(mock: BuildMock) -> Response:
    """Reset to the seeded initial state (off the event loop: a large fixture takes a while)."""
    if mock.cluster is not None:
        mock.reset()  # a shared store builds its next generation aside and switches to it at once
    else:
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


# -- clock -----------------------------------------------------------------------------------


async def set_clock(mock: BuildMock, body: dict[str, Any]) -> Response:
    """Set the clock to ``body.now`` (ISO 8601 or unix seconds); it never goes back."""
    target = _instant(body["now"])
    now = mock.clock.now()
    if target < now:
        raise ApiError(400, f"the clock is at {iso(now)}; it cannot go back to {iso(target)}")
    mock.advance(target - now)
    return json_response(_clock(mock))


def _instant(value: Any, bounded: bool = True) -> float:
    """Unix seconds from a number or an ISO 8601 date-time (``bounded``: 1970 to 2100)."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        seconds = float(value)
    else:
        try:
            parsed = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
        except ValueError:
            raise ApiError(400, f"{value!r} is not an ISO 8601 date-time") from None
        if parsed.tzinfo is None:
            parsed = parsed.replace(tzinfo=UTC)
        seconds = parsed.timestamp()
    if bounded and not 0 <= seconds <= snapshot.LATEST:
        raise ApiError(400, f"{value!r} is not between 1970 and 2100")
    return seconds


# -- journal ---------------------------------------------------------------------------------


def _journal(mock: BuildMock) -> journals.Journal:
    if mock.journal is None:
        raise ApiError(409, "the request journal is off (--journal 0)")
    return mock.journal


def _filter(
    vendor: str | None = None,
    method: str | None = None,
    path: str | None = None,
    status: int | None = None,
    since: str | None = None,
    after: int | None = None,
    body: Any = None,
) -> journals.Filter:
    return journals.Filter(
        vendor=vendor,
        method=method,
        path=path,
        status=status,
        since=_instant(since, bounded=False) if since is not None else None,
        after=after,
        body=body,
    )


async def list_requests(
    mock: BuildMock,
    vendor: str | None = None,
    method: str | None = None,
    path: str | None = None,
    status: int | None = None,
    since: str | None = None,
    after: int | None = None,
    limit: int = journals.DEFAULT_LIMIT,
) -> Response:
    """Recorded requests matching the filters, newest last (at most ``limit``, the newest)."""
    journal = _journal(mock)
    where = _filter(vendor, method, path, status, since, after)
    found = list(journals.select(journal, where))
    shown = _shown(mock, found[-limit:])
    return json_response({"total": len(found), "requests": shown})


async def count_requests(
    mock: BuildMock,
    vendor: str | None = None,
    method: str | None = None,
    path: str | None = None,
    status: int | None = None,
    since: str | None = None,
    after: int | None = None,
) -> Response:
    """How many recorded requests match the filters."""
    where = _filter(vendor, method, path, status, since, after)
    return json_response({"count": sum(1 for _ in journals.select(_journal(mock), where))})


async def verify_requests(mock: BuildMock, body: dict[str, Any]) -> Response:
    """Whether the journal holds ``count`` (or at least one) requests matching ``body``."""
    criteria = {k: v for k, v in body.items() if k != "count"}
    where = _filter(**criteria)
    result = journals.verify(
        _journal(mock), where, body.get("count"), mock.operations, _credentials(mock)
    )
    return json_response(result)


async def unmatched_requests(mock: BuildMock, limit: int = journals.DEFAULT_LIMIT) -> Response:
    """Recorded requests no operation of the vendor's spec serves."""
    found = list(journals.unmatched(_journal(mock), mock.operations))
    shown = _shown(mock, found[-limit:])
    return json_response({"total": len(found), "requests": shown})


def _shown(mock: BuildMock, entries: list[journals.Entry]) -> list[dict[str, Any]]:
    """Journal entries as the control API shows them."""
    credentials = _credentials(mock)
    return [journals.render(entry, mock.operations, credentials) for entry in entries]


def _credentials(mock: BuildMock) -> journals.Credentials:
    """Each vendor's credential headers, as the journal masks them."""
    return {
        name: frozenset(header.lower() for header in rt.vendor.credential_headers)
        for name, rt in mock.runtimes.items()
    }


async def clear_requests(mock: BuildMock) -> Response:
    """Forget every recorded request."""
    return json_response({"cleared": _journal(mock).clear()})


# -- scenarios -------------------------------------------------------------------------------


async def list_scenarios(mock: BuildMock) -> Response:
    """The rules in force, in the order they apply, with their counters."""
    return json_response({"rules": [rule.describe() for rule in mock.scenarios.rules]})


async def add_scenario(mock: BuildMock, body: dict[str, Any]) -> Response:
    """Add a rule (latency, fault, pinned answer or rate limit) after those in force."""
    try:
        rule = mock.scenarios.add(body)
    except ScenarioError as exc:
        raise ApiError(400, str(exc)) from None
    return json_response(rule.describe(), 201)


async def clear_scenarios(mock: BuildMock) -> Response:
    """Remove every rule (those of ``--scenarios`` come back on reset)."""
    return json_response({"cleared": mock.scenarios.clear()})


async def delete_scenario(mock: BuildMock, rule_id: str) -> Response:
    """Remove one rule."""
    if not mock.scenarios.remove(rule_id):
        raise ApiError(404, f"no rule {rule_id!r}")
    return json_response({"cleared": 1})


# -- state document --------------------------------------------------------------------------


async def export_state(mock: BuildMock) -> Response:
    """The whole state as one document."""
    return json_response(snapshot.export(mock))


async def import_state(mock: BuildMock, body: dict[str, Any]) -> Response:
    """Replace the state with a document from :func:`export_state`."""
    try:
        snapshot.load(mock, body)
    except (snapshot.SnapshotError, ScenarioError) as exc:
        raise ApiError(400, str(exc)) from None
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
