"""Nuon in the shared tests."""

from __future__ import annotations

from typing import Any

from tests.cases.base import TOKEN, VendorCase

ORG = "orgdf0nnt8u8ob9jefcazcou5q"
APP = "apppqd0hj1dbp629dsg0lio445"
COMPONENT = "cmpwi146p6io410dd3uopq4chl"


def _create(client: Any, headers: dict[str, str], prefer: str | None) -> Any:
    extra = {"Prefer": f"outcome={prefer}"} if prefer else {}
    return client.post(
        f"/nuon/v1/apps/{APP}/components/{COMPONENT}/builds",
        json={"git_ref": "main"},
        headers={**headers, **extra},
    )


def _status(build: dict[str, Any]) -> str:
    return {"active": "success", "error": "failure"}.get(build["status"], "running")


def _is_error(body: Any) -> bool:
    return (
        isinstance(body, dict)
        and set(body) == {"error", "user_error", "description"}
        and isinstance(body["error"], str)
        and isinstance(body["user_error"], bool)
        and isinstance(body["description"], str)
    )


HEADERS = {"Authorization": f"Bearer {TOKEN}", "X-Nuon-Org-ID": ORG}

CASE = VendorCase(
    name="nuon",
    headers=HEADERS,
    anonymous={"X-Nuon-Org-ID": ORG},
    create=_create,
    create_status=201,
    get_path=lambda b: f"/nuon/v1/apps/{APP}/components/{b['component_id']}/builds/{b['id']}",
    list_path=lambda b: f"/nuon/v1/builds?component_id={b['component_id']}",
    list_items=lambda body: body,
    identity=lambda b: b["id"],
    status=_status,
    success="success",
    failure="failure",
    failure_outcome="error",
    unknown_path="/nuon/v1/components/builds/bld00000000000000000000000",
    json_endpoint=("POST", f"/nuon/v1/components/{COMPONENT}/builds"),
    wrong_method=("DELETE", "/nuon/v1/builds"),
    is_error=_is_error,
    settle=600.0,
    contract_headers=HEADERS,
)
