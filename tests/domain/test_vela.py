"""Vela's pure layer: the int64 decode error Vela's server (Go ``encoding/json``) answers."""

from __future__ import annotations

from typing import Any

import pytest

from buildmock.core.errors import ApiError
from buildmock.domain.vela import check_int64

TOO_BIG = 2**63


@pytest.mark.parametrize(
    ("body", "named"),
    [
        ({"parent": TOO_BIG, "deploy_number": -TOO_BIG - 1}, "parent"),
        ({"deploy_number": -TOO_BIG - 1, "parent": TOO_BIG}, "deploy_number"),
        ({"message": "x", "approved_at": TOO_BIG, "number": TOO_BIG}, "approved_at"),
    ],
)
def test_the_earliest_out_of_range_number_in_the_body_is_named(
    body: dict[str, Any], named: str
) -> None:
    with pytest.raises(ApiError) as refused:
        check_int64(body)
    assert refused.value.status == 400
    assert f"Go struct field Build.{named} of type int64" in refused.value.message
    assert str(body[named]) in refused.value.message


def test_numbers_in_range_and_other_fields_pass() -> None:
    check_int64({"parent": 2**63 - 1, "number": -(2**63), "message": TOO_BIG, "approved_by": True})
