"""Vela in the shared tests."""

from __future__ import annotations

from typing import Any

from tests.cases.base import TOKEN, VendorCase

REPO = "/vela/api/v1/repos/github/octocat"


def _create(client: Any, headers: dict[str, str], prefer: str | None) -> Any:
    extra = {"Prefer": f"outcome={prefer}"} if prefer else {}
    return client.post(
        f"{REPO}/builds", json={"event": "push", "branch": "main"}, headers={**headers, **extra}
    )


def _is_error(body: Any) -> bool:
    return isinstance(body, dict) and set(body) == {"error"} and isinstance(body["error"], str)


CASE = VendorCase(
    name="vela",
    headers={"Authorization": f"Bearer {TOKEN}"},
    anonymous={},
    create=_create,
    create_status=201,
    get_path=lambda b: f"{REPO}/builds/{b['number']}",
    list_path=lambda b: f"{REPO}/builds",
    list_items=lambda body: body,
    identity=lambda b: b["id"],
    status=lambda b: b["status"],
    success="success",
    failure="failure",
    failure_outcome="failure",
    unknown_path=f"{REPO}/builds/999999",
    json_endpoint=("POST", f"{REPO}/builds"),
    wrong_method=("PATCH", f"{REPO}/builds"),
    is_error=_is_error,
    settle=600.0,
    contract_headers={"Authorization": f"Bearer {TOKEN}"},
)
