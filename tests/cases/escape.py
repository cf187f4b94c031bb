"""Escape in the shared tests: a "build" there is a build added, triggered and read as its execution."""

from __future__ import annotations

from typing import Any

from tests.cases.base import TOKEN, VendorCase

BASE = "/escape/api/v1/state/acme/environments/production/builds/"


def _create(client: Any, headers: dict[str, str], prefer: str | None) -> Any:
    """Add a build with a fresh name (per client), trigger it and answer its execution."""
    number = getattr(client, "_escape_builds", 0) + 1
    client._escape_builds = number
    name = f"api-server-{number}"
    added = client.post(
        BASE, json={"name": name, "repo": "git@github.com:acme/api.git"}, headers=headers
    )
    if added.status_code != 200:
        return added
    extra = {"Prefer": f"outcome={prefer}"} if prefer else {}
    triggered = client.post(f"{BASE}by-name/{name}/trigger", headers={**headers, **extra})
    if triggered.status_code != 200:
        return triggered
    return client.get(f"{BASE}by-name/{name}/executions/{triggered.json()['id']}/", headers=headers)


def _execution_path(execution: dict[str, Any]) -> str:
    return (
        f"/escape/api/v1/state/{execution['project']}/environments/{execution['environment']}"
        f"/builds/by-name/{execution['build']}/executions/{execution['id']}/"
    )


def _is_error(body: Any) -> bool:
    """Escape's errors are plain text: a message (400, 409) or nothing at all (401, 404, 405)."""
    return isinstance(body, str)


CASE = VendorCase(
    name="escape",
    headers={"X-Escape-Token": TOKEN},
    anonymous={},
    create=_create,
    create_status=200,
    get_path=_execution_path,
    list_path=lambda e: _execution_path(e).rsplit("/", 2)[0] + "/",
    list_items=lambda body: body,
    identity=lambda e: e["id"],
    status=lambda e: e["status"],
    success="ok",
    failure="failed",
    failure_outcome="failed",
    unknown_path=f"{BASE}by-name/no-such-build/",
    json_endpoint=("POST", BASE),
    wrong_method=("PATCH", BASE),
    is_error=_is_error,
    settle=600.0,
    contract_headers={"X-Escape-Token": TOKEN},
)
