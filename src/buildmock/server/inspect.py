"""What the dashboard reads of the mock: records per vendor and kind, one record with its timeline."""

from __future__ import annotations

from itertools import islice
from typing import TYPE_CHECKING, Any

from buildmock.core.errors import ApiError
from buildmock.synth.factory import iso

if TYPE_CHECKING:
    from buildmock.server.mock import BuildMock
    from buildmock.vendors.base import Runtime, View

#: Generic outcome names a pin accepts; every vendor maps them onto its own final states.
PIN_OUTCOMES = ("success", "failure")


def _view(mock: BuildMock, vendor: str, kind: str | None) -> tuple[Runtime, View]:
    runtime = mock.runtimes.get(vendor)
    if runtime is None:
        raise ApiError(404, f"vendor {vendor!r} is not served; served: {', '.join(mock.runtimes)}")
    views = runtime.vendor.views
    if not views:
        raise ApiError(404, f"vendor {vendor!r} has no records to show")
    if kind is None:
        return runtime, views[0]
    for view in views:
        if view.kind == kind:
            return runtime, view
    kinds = ", ".join(v.kind for v in views)
    raise ApiError(404, f"{vendor} has no record kind {kind!r}; kinds: {kinds}")


def catalogue(mock: BuildMock) -> list[dict[str, Any]]:
    """Every served vendor with the record kinds the dashboard shows and where its docs live."""
    return [
        {
            "name": name,
            "title": rt.vendor.title,
            "kinds": [{"kind": v.kind, "label": v.label} for v in rt.vendor.views],
            "ui": f"/{name}/ui/",
            "spec": f"/{name}/openapi.json",
            "next_outcome": rt.next_outcome.value,
        }
        for name, rt in mock.runtimes.items()
    ]


def records(
    mock: BuildMock, vendor: str, kind: str | None, limit: int, offset: int
) -> dict[str, Any]:
    """A page of one kind of a vendor's records, newest first, each with its current status."""
    runtime, view = _view(mock, vendor, kind)
    now = runtime.now()
    total = runtime.store.counts().get(view.kind, 0)
    items = []
    for seq, record in islice(runtime.store.scan(view.kind), offset, offset + limit):
        body = view.render(runtime, record, now)
        marks = view.timeline(record)
        items.append(
            {
                "seq": seq,
                "id": view.key(record),
                "status": view.status(body),
                "created": iso(marks[0][1]) if marks else None,
            }
        )
    return {
        "vendor": vendor,
        "kind": view.kind,
        "now": now,
        "total": total,
        "offset": offset,
        "limit": limit,
        "items": items,
    }


def record(mock: BuildMock, vendor: str, kind: str | None, key: str) -> dict[str, Any]:
    """One record as the vendor's API renders it now, with its past and coming transitions."""
    runtime, view = _view(mock, vendor, kind)
    found = runtime.store.get(view.kind, key)
    if found is None:
        raise ApiError(404, f"{vendor} has no {view.kind} {key!r}")
    now = runtime.now()
    body = view.render(runtime, found, now)
    return {
        "vendor": vendor,
        "kind": view.kind,
        "id": key,
        "status": view.status(body),
        "now": now,
        "body": body,
        "timeline": [
            {"state": state, "at": at, "iso": iso(at), "passed": at <= now}
            for state, at in view.timeline(found)
        ],
    }


def pin_outcome(mock: BuildMock, vendor: str, outcome: str | None) -> dict[str, str | None]:
    """Pin (or, with None, unpin) the outcome of ``vendor``'s next create."""
    if vendor not in mock.runtimes:
        raise ApiError(404, f"vendor {vendor!r} is not served; served: {', '.join(mock.runtimes)}")
    if outcome is not None and outcome not in PIN_OUTCOMES:
        raise ApiError(400, f"outcome must be one of {', '.join(PIN_OUTCOMES)} or null")
    mock.runtimes[vendor].next_outcome.value = outcome
    return pinned(mock)


def pinned(mock: BuildMock) -> dict[str, str | None]:
    """Each vendor's pinned next outcome (None where nothing is pinned)."""
    return {name: rt.next_outcome.value for name, rt in mock.runtimes.items()}
