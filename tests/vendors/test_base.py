"""The helpers every vendor's handlers share."""

from __future__ import annotations

import pytest
from starlette.responses import Response

from buildmock.vendors.base import json_response, raw_json_response


@pytest.mark.parametrize(
    ("status", "headers"),
    [(200, None), (201, None), (202, None), (204, None), (404, None), (200, {"Link": "<x>"})],
)
def test_json_answers_are_what_starlette_would_build(
    status: int, headers: dict[str, str] | None
) -> None:
    # The common case skips Starlette's header bookkeeping: it must build the same response.
    ours = raw_json_response(b'{"a":1}', status, headers)
    theirs = Response(b'{"a":1}', status, headers=headers or {}, media_type="application/json")
    assert vars(ours) == vars(theirs)
    assert vars(json_response({"a": 1}, status, headers)) == vars(theirs)
