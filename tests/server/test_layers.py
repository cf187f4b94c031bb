"""The dispatch in front of the request path: control guard, limits, CORS, access log."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest
from starlette.testclient import TestClient

from buildmock.server.accesslog import line, redact_query
from buildmock.server.cors import origin_matcher
from buildmock.server.limits import json_depth_exceeds
from tests.cases.base import TOKEN
from tests.conftest import CONTROL, make_app

AUTH = {"Authorization": f"Bearer {TOKEN}"}
CREATE = {"project": "acme-api", "revision": "main"}


@pytest.fixture
def client() -> Iterator[TestClient]:
    with TestClient(make_app("stainless")) as c:
        yield c


# -- control guard ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("headers", "status"),
    [
        ({"Content-Type": "application/json"}, 401),
        ({**CONTROL, "Authorization": "Bearer wrong"}, 401),
        ({**CONTROL, "Content-Type": "text/plain"}, 415),
        ({**CONTROL, "Content-Type": "Application/JSON; charset=utf-8"}, 200),
        ({"X-Buildmock-Token": TOKEN, "Content-Type": "application/json"}, 200),
        ({**CONTROL, "Origin": "http://evil.example"}, 403),
        ({**CONTROL, "Origin": "http://testserver"}, 200),
        ({**CONTROL, "Sec-Fetch-Site": "cross-site"}, 403),
    ],
)
def test_control_writes_need_token_json_and_same_origin(
    client: TestClient, headers: dict[str, str], status: int
) -> None:
    response = client.post("/__buildmock/reset", headers=headers)
    assert response.status_code == status, response.text
    if status != 200:
        assert set(response.json()) == {"error"}


def test_control_token_overrides_token_and_health_stays_open() -> None:
    with TestClient(make_app("stainless", control_token="ctl")) as c:
        assert c.get("/__buildmock/state", headers=AUTH).status_code == 401
        assert c.get("/__buildmock/state", headers={"X-Buildmock-Token": "ctl"}).status_code == 200
        assert c.get("/__buildmock/health").status_code == 200
        # The vendor APIs still take --token.
        assert c.get("/stainless/v0/builds?project=acme-api", headers=AUTH).status_code == 200


def test_open_control_api_still_refuses_cross_site_requests() -> None:
    with TestClient(make_app("stainless", token=None)) as c:
        assert c.get("/__buildmock/state").status_code == 200
        simple = c.post("/__buildmock/reset", content=b"{}", headers={"Content-Type": "text/plain"})
        assert simple.status_code == 415


# -- limits ----------------------------------------------------------------------------------


def test_body_over_the_limit_is_413_in_the_vendor_shape() -> None:
    with TestClient(make_app("stainless", max_body_bytes=1000)) as c:
        big = {**CREATE, "revision": "a" * 2000}
        response = c.post("/stainless/v0/builds", json=big, headers=AUTH)
        assert response.status_code == 413
        assert "1000 bytes" in response.json()["error"]
        assert c.post("/stainless/v0/builds", json=CREATE, headers=AUTH).status_code == 200


@pytest.mark.parametrize("depth", [63, 64, 5000])
def test_json_depth(client: TestClient, depth: int) -> None:
    body = b'{"project": "acme-api", "revision": "main", "x": ' + b"[" * depth + b"]" * depth + b"}"
    response = client.post(
        "/stainless/v0/builds", content=body, headers={**AUTH, "Content-Type": "application/json"}
    )
    # The object is a level: 63 arrays inside it are within the limit and the request is served.
    refused = response.status_code == 400 and "deeper than 64" in response.json()["error"]
    assert refused == (depth > 63)
    assert response.status_code == (400 if depth > 63 else 200)


def test_depth_scan_ignores_brackets_in_strings() -> None:
    assert not json_depth_exceeds(b'{"a": "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[["}', 3)
    assert json_depth_exceeds(b'{"a": [[[["\\"]"]]]]}', 4)
    assert not json_depth_exceeds(b'{"a": [[["\\"]"]]]}', 4)


def test_header_count_and_size_are_431(client: TestClient) -> None:
    many = [(f"x-h{i}", "1") for i in range(101)]
    url = "/stainless/v0/builds?project=acme-api"
    assert client.get(url, headers=[*AUTH.items(), *many]).status_code == 431
    assert client.get(url, headers={**AUTH, "X-Big": "a" * 17_000}).status_code == 431
    assert client.get(url, headers=AUTH).status_code == 200


def test_media_type_is_case_insensitive_on_both_paths(client: TestClient) -> None:
    shouted = {**AUTH, "Content-Type": "APPLICATION/JSON"}
    assert (
        client.post("/stainless/v0/builds", content=b'{"project": 5}', headers=shouted).status_code
        == 400
    )
    ok = client.post("/stainless/v0/builds", content=b'{"project": "acme-api", "revision": "main"}',
                     headers=shouted)  # fmt: skip
    assert ok.status_code == 200


# -- CORS ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("patterns", "origin", "allowed"),
    [
        (("http://localhost:*",), "http://localhost:3000", True),
        (("http://localhost:*",), "http://localhost", True),
        (("http://localhost:*",), "http://localhost.evil.example:3000", False),
        (("http://localhost:*",), "https://localhost:3000", False),
        (("https://app.example",), "https://app.example", True),
        (("https://*.example",), "https://a.example", True),
        (("*",), "https://anything.example:8443", True),
        ((), "http://localhost:3000", False),
    ],
)
def test_origin_patterns(patterns: tuple[str, ...], origin: str, allowed: bool) -> None:
    assert bool(origin_matcher(patterns).fullmatch(origin)) is allowed


def test_preflight_and_response_headers_for_an_allowed_origin(client: TestClient) -> None:
    origin = {"Origin": "http://localhost:5173"}
    preflight = client.options(
        "/stainless/v0/builds",
        headers={**origin, "Access-Control-Request-Method": "POST",
                 "Access-Control-Request-Headers": "authorization, content-type"},
    )  # fmt: skip
    assert preflight.status_code == 204
    assert preflight.headers["access-control-allow-origin"] == "http://localhost:5173"
    assert "authorization" in preflight.headers["access-control-allow-headers"]
    made = client.post("/stainless/v0/builds", json=CREATE, headers={**AUTH, **origin})
    assert made.headers["access-control-allow-origin"] == "http://localhost:5173"
    foreign = client.get(
        "/stainless/v0/builds?project=a", headers={**AUTH, "Origin": "http://evil.example"}
    )
    assert "access-control-allow-origin" not in foreign.headers


def test_marking_an_answer_for_one_origin_leaves_the_next_answer_unmarked(
    client: TestClient,
) -> None:
    """A GET by id answers with a kept answer (``RenderCache.response``): the CORS headers of one
    request must not stay on it for the next."""
    made = client.post("/stainless/v0/builds", json=CREATE, headers=AUTH).json()
    path = f"/stainless/v0/builds/{made['id']}"
    plain = client.get(path, headers=AUTH)
    marked = client.get(path, headers={**AUTH, "Origin": "http://localhost:5173"})
    again = client.get(path, headers=AUTH)
    assert marked.headers["access-control-allow-origin"] == "http://localhost:5173"
    assert marked.content == plain.content == again.content
    assert dict(again.headers) == dict(plain.headers)
    assert "access-control-allow-origin" not in again.headers


def test_cors_can_be_turned_off() -> None:
    with TestClient(make_app("stainless", cors_origins=())) as c:
        preflight = c.options("/stainless/v0/builds", headers={
            "Origin": "http://localhost:3000", "Access-Control-Request-Method": "POST"})  # fmt: skip
        assert preflight.status_code == 405


# -- access log ------------------------------------------------------------------------------


def test_query_secrets_are_redacted() -> None:
    assert redact_query("project=a&api_key=k&token=t&x=1") == "project=a&api_key=***&token=***&x=1"


def test_access_log_writes_one_redacted_line_per_request(caplog: pytest.LogCaptureFixture) -> None:
    with TestClient(make_app("stainless", access_log=True)) as c:
        logger = logging.getLogger("buildmock.access")
        logger.addHandler(caplog.handler)
        try:
            c.get("/stainless/v0/builds?project=acme-api&token=hunter2", headers=AUTH)
        finally:
            logger.removeHandler(caplog.handler)
    lines = [r.getMessage() for r in caplog.records if r.name == "buildmock.access"]
    assert len(lines) == 1
    assert '"GET /stainless/v0/builds?project=acme-api&token=***" 200' in lines[0]
    assert "hunter2" not in lines[0] and TOKEN not in lines[0]


def test_log_line_escapes_control_characters() -> None:
    scope = {"method": "GET", "path": "/a\nb", "query_string": b"", "client": ("127.0.0.1", 1)}
    assert "\n" not in line(scope, 404, 3, 0.001)
