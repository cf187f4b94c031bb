"""The helpers every vendor's handlers share."""

from __future__ import annotations

import pytest
from starlette.datastructures import Headers
from starlette.responses import Response

from buildmock.vendors.base import (
    REQUEST_SCOPE,
    json_response,
    raw_json_response,
    request_headers,
)


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


def test_request_headers_read_as_starlettes_headers_do() -> None:
    raw = [(b"prefer", b"outcome=failure"), (b"x-a", b"1"), (b"x-a", b"2"), (b"caf\xe9", b"\xe9")]
    token = REQUEST_SCOPE.set({"type": "http", "headers": raw})
    try:
        ours, theirs = request_headers(), Headers(raw=list(raw))
        for key in ("prefer", "Prefer", "X-A", "x-missing", "caf\xe9", ""):
            assert ours.get(key) == theirs.get(key)
            assert ours.get(key, "d") == theirs.get(key, "d")
        assert list(ours) == list(dict.fromkeys(theirs.keys()))  # each name once, in order
    finally:
        REQUEST_SCOPE.reset(token)
