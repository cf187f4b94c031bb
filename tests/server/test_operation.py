"""What the request path reads from a request: numbers no JSON document can hold are a 400."""

from __future__ import annotations

import pytest
from starlette.testclient import TestClient

from buildmock.core.errors import ApiError
from buildmock.server.operation import Body, Schema, parse_body
from tests.cases import CASES
from tests.conftest import make_app

STAINLESS = CASES["stainless"]


@pytest.fixture(scope="module")
def client() -> TestClient:
    return TestClient(make_app("stainless"))


@pytest.mark.parametrize("value", ["nan", "NaN", "inf", "-inf", "Infinity", "1e999"])
def test_a_number_parameter_that_is_not_finite_is_a_400(client: TestClient, value: str) -> None:
    response = client.get(
        "/stainless/v0/builds",
        params={"project": "acme-api", "limit": value},
        headers=STAINLESS.headers,
    )
    assert response.status_code == 400, response.text
    assert "is not of type 'number'" in response.json()["error"]


def test_finite_numbers_still_read(client: TestClient) -> None:
    response = client.get(
        "/stainless/v0/builds",
        params={"project": "acme-api", "limit": "2.5"},
        headers=STAINLESS.headers,
    )
    assert response.status_code == 200, response.text


@pytest.mark.parametrize(
    ("body", "says"),
    [
        (b'{"project": "acme-api", "revision": NaN}', "NaN is not a JSON number"),
        (b'{"project": "acme-api", "revision": -Infinity}', "-Infinity is not a JSON number"),
        (b'{"project": "acme-api", "revision": 1e999}', "1e999 is out of range"),
    ],
)
def test_a_body_with_a_number_json_lacks_is_a_400(
    client: TestClient, body: bytes, says: str
) -> None:
    response = client.post(
        "/stainless/v0/builds",
        content=body,
        headers={**STAINLESS.headers, "Content-Type": "application/json"},
    )
    assert response.status_code == 400, response.text
    assert says in response.json()["error"]


def test_a_media_type_matches_as_fnmatch_matches_it() -> None:
    # Media types without glob characters are looked up; the rest (and anything not found) still
    # go through ``fnmatch``, so a listed ``[x]`` stays a character class.
    check = Schema({"type": "object"}, None, request_body=True)
    body = Body(
        ("application/json", "application/*+json", "text/[xy]"), check, True, False, "b", None
    )
    assert body.literal_types == frozenset({"application/json"})
    for given in ("application/json", "Application/JSON; charset=utf-8", "application/vnd.a+json",
                  "text/x"):  # fmt: skip
        assert parse_body(body, given, b"{}") == {}
    for refused in ("text/plain", "text/[xy]", "application/jsonx"):
        with pytest.raises(ApiError, match="Invalid Content-type"):
            parse_body(body, refused, b"{}")
