"""The route table: OpenAPI's ranking, 404 / 405 with the methods allowed, typed segments."""

from __future__ import annotations

import pytest

from buildmock.server.router import SEEN_PATH_LENGTH, SEEN_PATHS, Router


@pytest.fixture
def router() -> Router[str]:
    table: Router[str] = Router()
    table.add("/run/{a}/{b}", {"GET": "run-a-b"})
    table.add("/run/cancel/{id}", {"PUT": "cancel"})
    table.add("/builds", {"GET": "list", "POST": "create"})
    table.add("/builds/{id}", {"GET": "get", "DELETE": "delete"}, {"id": "integer"})
    table.add("/files/{path}", {"GET": "file"}, {"path": "path"})
    table.add("/v{n}.json", {"GET": "versioned"})
    return table


@pytest.mark.parametrize(
    ("method", "path", "status", "target", "params", "allow"),
    [
        ("GET", "/builds", 200, "list", {}, ()),
        ("POST", "/builds", 200, "create", {}, ()),
        ("PATCH", "/builds", 405, None, {}, ("GET", "POST")),
        ("HEAD", "/builds", 200, "list", {}, ()),
        ("GET", "/builds/42", 200, "get", {"id": "42"}, ()),
        ("GET", "/builds/-7", 200, "get", {"id": "-7"}, ()),
        ("GET", "/builds/x", 404, None, {}, ()),
        ("GET", "/builds/", 404, None, {}, ()),
        # The template with more concrete segments wins, and answers 405 for its own methods.
        ("PUT", "/run/cancel/9", 200, "cancel", {"id": "9"}, ()),
        ("GET", "/run/cancel/9", 405, None, {}, ("PUT",)),
        ("GET", "/run/other/9", 200, "run-a-b", {"a": "other", "b": "9"}, ()),
        ("GET", "/files/a/b/c", 200, "file", {"path": "a/b/c"}, ()),
        ("GET", "/v3.json", 200, "versioned", {"n": "3"}, ()),
        ("GET", "/nowhere", 404, None, {}, ()),
    ],
)
def test_match(
    router: Router[str],
    method: str,
    path: str,
    status: int,
    target: str | None,
    params: dict[str, str],
    allow: tuple[str, ...],
) -> None:
    found = router.match(method, path)
    assert (found.status, found.target, dict(found.params), found.allow) == (
        status,
        target,
        params,
        allow,
    )


def test_answers_are_remembered_per_path_bounded_and_forgotten_on_add(
    router: Router[str],
) -> None:
    first = router.match("GET", "/builds/42")
    assert router.match("GET", "/builds/42") is first  # the walk is not repeated
    router.add("/builds/{id}/logs", {"GET": "logs"})
    assert router.match("GET", "/builds/42/logs").target == "logs"
    router.add("/builds/42", {"GET": "the-answer"})  # a concrete route added later wins
    assert router.match("GET", "/builds/42").target == "the-answer"
    for n in range(SEEN_PATHS + 10):
        assert router.match("GET", f"/builds/{n}").status == 200
    assert len(router._seen) <= SEEN_PATHS
    long = "/files/" + "a/" * SEEN_PATH_LENGTH
    assert router.match("GET", long).target == "file"
    assert ("GET", long) not in router._seen
