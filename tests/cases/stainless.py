"""Stainless in the shared tests."""

from __future__ import annotations

from typing import Any

from tests.cases.base import TOKEN, VendorCase


def _create(client: Any, headers: dict[str, str], prefer: str | None) -> Any:
    extra = {"Prefer": f"outcome={prefer}"} if prefer else {}
    return client.post(
        "/stainless/v0/builds",
        json={"project": "acme-api", "revision": "main", "targets": ["python", "go"]},
        headers={**headers, **extra},
    )


def _status(build: dict[str, Any]) -> str:
    targets = build["targets"].values()
    if any(t["status"] != "completed" for t in targets):
        return "running"
    conclusions = {
        t[step]["conclusion"]
        for t in targets
        for step in ("commit", "lint", "build", "test")
        if step in t
    }
    return "success" if conclusions == {"success"} else "failure"


def _is_error(body: Any) -> bool:
    return isinstance(body, dict) and set(body) == {"error"} and isinstance(body["error"], str)


CASE = VendorCase(
    name="stainless",
    headers={"Authorization": f"Bearer {TOKEN}"},
    anonymous={},
    create=_create,
    create_status=200,
    get_path=lambda b: f"/stainless/v0/builds/{b['id']}",
    list_path=lambda b: f"/stainless/v0/builds?project={b['project']}",
    list_items=lambda body: body["data"],
    identity=lambda b: b["id"],
    status=_status,
    success="success",
    failure="failure",
    failure_outcome="failure",
    unknown_path="/stainless/v0/builds/bui_aaaaaaaaaaaaaaaaaaaaaaaaaa",
    json_endpoint=("POST", "/stainless/v0/builds"),
    wrong_method=("DELETE", "/stainless/v0/builds"),
    is_error=_is_error,
    settle=120.0,
    contract_headers={"Authorization": f"Bearer {TOKEN}"},
)
