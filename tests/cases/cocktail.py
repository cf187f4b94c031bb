"""Cocktail Cloud in the shared tests."""

from __future__ import annotations

from typing import Any

from tests.cases.base import VendorCase

#: The headers Cocktail's API gateway sets for an authenticated user.
GATEWAY = {"user-id": "1", "user-role": "ADMIN", "user-workspace": "1"}


def _create(client: Any, headers: dict[str, str], prefer: str | None) -> Any:
    extra = {"Prefer": f"outcome={prefer}"} if prefer else {}
    return client.post(
        "/cocktail/v1/build/run/1",
        params={"tagName": "8u292-rmsoft", "description": "Build run test"},
        headers={**headers, **extra},
    )


def _is_error(body: Any) -> bool:
    return (
        isinstance(body, dict)
        and body.get("status") == "error"
        and isinstance(body.get("code"), str)
        and len(body["code"]) == 11
        and isinstance(body.get("message"), str)
    )


CASE = VendorCase(
    name="cocktail",
    headers=dict(GATEWAY),
    anonymous={},
    create=_create,
    create_status=200,
    get_path=lambda b: f"/cocktail/v1/build/run/{b['result']['buildRunSeq']}",
    list_path=lambda b: f"/cocktail/v1/build/run?buildSeq={b['result']['buildSeq']}",
    list_items=lambda body: body["result"],
    identity=lambda b: b.get("result", b)["buildRunSeq"],
    status=lambda b: b["result"]["runState"],
    success="DONE",
    failure="ERROR",
    failure_outcome="ERROR",
    unknown_path="/cocktail/v1/build/run/999999",
    json_endpoint=None,
    wrong_method=("PATCH", "/cocktail/v1/build/run/1"),
    is_error=_is_error,
    settle=600.0,
    contract_headers=dict(GATEWAY),
    kind="run",
)
