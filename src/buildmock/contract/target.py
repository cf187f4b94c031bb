"""Recognising a buildmock server as the target, from its unauthenticated ``GET /__buildmock/health``."""

from __future__ import annotations

import json
import re
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

#: Where a buildmock server answers its liveness probe, relative to its root.
HEALTH = "/__buildmock/health"


@dataclass(frozen=True)
class Buildmock:
    """A buildmock server found at ``root``, serving ``apis``."""

    root: str
    apis: tuple[str, ...]
    #: APIs that answer every failure with one status, and that status (health's ``error_status``).
    error_status: Mapping[str, int] = field(default_factory=dict)


#: Called before each probe request (the run's budget counts them); may raise to refuse it.
Admit = Callable[[], None]


def _no_budget() -> None:
    return None


def _health(root: str, timeout: float, admit: Admit) -> Buildmock | None:
    admit()
    request = urllib.request.Request(
        root.rstrip("/") + HEALTH, headers={"Accept": "application/json"}
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            body = json.loads(response.read(65536))
    except (OSError, ValueError, urllib.error.URLError):
        return None
    if (
        not isinstance(body, dict)
        or body.get("status") != "ok"
        or not isinstance(body.get("apis"), list)
    ):
        return None
    fixed = body.get("error_status")
    error_status = {
        str(api): status
        for api, status in (fixed.items() if isinstance(fixed, dict) else ())
        if isinstance(status, int) and not isinstance(status, bool)
    }
    return Buildmock(root.rstrip("/"), tuple(str(api) for api in body["apis"]), error_status)


def find_buildmock(
    url: str, api: str, timeout: float = 3.0, admit: Admit = _no_budget
) -> tuple[Buildmock, bool] | None:
    """The buildmock server behind ``url`` and whether ``url`` is its root (not ``/<api>``), or None."""
    found = _health(url, timeout, admit)
    if found is not None:
        return found, True
    suffix = f"/{api}"
    trimmed = url.rstrip("/")
    if trimmed.endswith(suffix):
        found = _health(trimmed[: -len(suffix)], timeout, admit)
        if found is not None and api in found.apis:
            return found, False
    return None


#: A credential no buildmock server started with ``--token`` accepts.
PROBE_TOKEN = "buildmock-contract-probe-not-a-token"


def accepts_any_credential(
    url: str, spec: Mapping[str, Any], timeout: float = 3.0, admit: Admit = _no_budget
) -> bool:
    """Whether the server at ``url`` answers a request carrying a made-up credential with anything but 401/403.

    The request is the spec's first GET, path parameters filled with a placeholder, credentials built from
    the spec's security schemes around :data:`PROBE_TOKEN`.
    """
    from buildmock.contract.auth import headers_from_spec

    path = next(
        (
            p
            for p, item in (spec.get("paths") or {}).items()
            if isinstance(item, dict) and "get" in item
        ),
        None,
    )
    if path is None:
        return False
    filled = re.sub(r"\{[^}]+\}", "probe", path)
    headers = {"Accept": "application/json", **headers_from_spec(spec, PROBE_TOKEN)}
    admit()
    request = urllib.request.Request(url.rstrip("/") + filled, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            status = int(response.status)
    except urllib.error.HTTPError as exc:
        status = exc.code
    except (OSError, ValueError):
        return False
    return status not in (401, 403)
