"""Vela-specific behaviour: per-repo numbers, lifecycle and actions, the admin update, paging, fixtures."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from starlette.testclient import TestClient

from buildmock.settings import FIXTURES_DIR
from tests.conftest import advance, make_app

H = {"Authorization": "Bearer test-token"}
REPO = "/vela/api/v1/repos/github/octocat"


@pytest.fixture
def client() -> Iterator[TestClient]:
    with TestClient(make_app("vela")) as c:
        yield c


def create(
    client: TestClient, prefer: str | None = None, repo: str = REPO, **body: Any
) -> dict[str, Any]:
    headers = {**H, **({"Prefer": f"outcome={prefer}"} if prefer else {})}
    response = client.post(f"{repo}/builds", json={"event": "push", **body}, headers=headers)
    assert response.status_code == 201, response.text
    return response.json()


def get(client: TestClient, number: int, repo: str = REPO) -> dict[str, Any]:
    response = client.get(f"{repo}/builds/{number}", headers=H)
    assert response.status_code == 200, response.text
    return response.json()


def test_numbers_count_per_repo_and_ids_are_integers(client: TestClient) -> None:
    a1, a2 = create(client), create(client)
    b1 = create(client, repo="/vela/api/v1/repos/go-vela/server")
    assert (a1["number"], a2["number"], b1["number"]) == (1, 2, 1)
    assert [b["id"] for b in (a1, a2, b1)] == [1, 2, 3]
    assert a1["repo_id"] == a2["repo_id"] != b1["repo_id"]
    assert a2["parent"] == 1 and a1["link"].endswith("/github/octocat/1")


def test_lifecycle_timestamps_are_unix_seconds_zero_until_reached(client: TestClient) -> None:
    build = create(client, "failure")
    assert build["status"] == "pending" and build["enqueued"] == build["created"] > 0
    assert build["started"] == build["finished"] == 0 and build["host"] == ""
    advance(client, 20)
    running = get(client, 1)
    assert running["status"] == "running" and running["started"] > 0 and running["finished"] == 0
    assert running["host"] and running["runtime"] in ("docker", "kubernetes")
    advance(client, 600)
    done = get(client, 1)
    assert done["status"] == "failure" and done["finished"] >= done["started"]


@pytest.mark.parametrize("outcome", ["success", "failure", "error", "killed"])
def test_prefer_forces_each_outcome(client: TestClient, outcome: str) -> None:
    create(client, outcome)
    advance(client, 600)
    assert get(client, 1)["status"] == outcome


def test_fork_pull_request_waits_for_approval_then_runs(client: TestClient) -> None:
    build = create(client, "success", event="pull_request", fork=True, sender="someone-else")
    assert build["status"] == "pending approval" and build["enqueued"] == 0
    advance(client, 600)
    assert get(client, 1)["status"] == "pending approval"
    restart = client.post(f"{REPO}/builds/1", headers=H)
    assert restart.status_code == 400
    assert restart.json() == {
        "error": "unable to restart build github/octocat/1: cannot restart a build pending approval"
    }
    approved = client.post(f"{REPO}/builds/1/approve", headers=H)
    assert (
        approved.status_code == 200
        and approved.json() == "Successfully approved build github/octocat/1"
    )
    after = get(client, 1)
    assert after["status"] == "pending" and after["approved_at"] > 0 and after["approved_by"]
    again = client.post(f"{REPO}/builds/1/approve", headers=H)
    assert again.status_code == 400
    assert again.json() == {
        "error": "unable to approve build github/octocat/1: build not in pending approval state"
    }
    advance(client, 600)
    assert get(client, 1)["status"] == "success"


def test_cancel_from_pending_running_and_approval_then_refused(client: TestClient) -> None:
    create(client)
    create(client)
    create(client, event="pull_request", fork=True)
    advance(client, 20)  # builds 1 and 2 running now
    for number in (1, 3):
        response = client.delete(f"{REPO}/builds/{number}/cancel", headers=H)
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["status"] == "canceled" and body["error"].startswith("build was canceled by ")
    assert get(client, 1)["finished"] > 0 and get(client, 3)["finished"] == 0
    refused = client.delete(f"{REPO}/builds/1/cancel", headers=H)
    assert refused.status_code == 400
    assert refused.json() == {"error": "found build github/octocat/1 but its status was canceled"}
    advance(client, 600)
    assert get(client, 1)["status"] == "canceled"
    done = client.delete(f"{REPO}/builds/2/cancel", headers=H)
    assert done.status_code == 400 and "but its status was" in done.json()["error"]


def test_restart_creates_a_new_number(client: TestClient) -> None:
    first = create(client, "failure", message="Fix it")
    advance(client, 600)
    response = client.post(f"{REPO}/builds/1", headers={**H, "Prefer": "outcome=success"})
    assert response.status_code == 201
    restarted = response.json()
    assert restarted["number"] == 2 and restarted["parent"] == 1 and restarted["id"] != first["id"]
    assert restarted["status"] == "pending" and restarted["commit"] == first["commit"]
    assert restarted["message"] == "Fix it" and restarted["error"] == ""


def test_admin_update_round_trip(client: TestClient) -> None:
    build = create(client)
    change = {
        **build,
        "status": "failure",
        "message": "this is an updated message",
        "finished": 1563474204,
    }
    response = client.put("/vela/api/v1/admin/build", json=change, headers=H)
    assert response.status_code == 200, response.text
    assert response.json()["status"] == "failure"
    advance(client, 600)
    read = get(client, build["number"])
    assert read["status"] == "failure" and read["message"] == "this is an updated message"
    assert read["finished"] == 1563474204
    listed = client.get(f"{REPO}/builds", headers=H).json()
    assert listed[0]["message"] == "this is an updated message"


def test_admin_update_keeps_the_address_and_validates(client: TestClient) -> None:
    build = create(client)
    create(client)
    for change in ({"number": 7}, {"repo_id": build["repo_id"] + 1}):
        moved = client.put(
            "/vela/api/v1/admin/build",
            json={"id": 1, "repo_id": build["repo_id"], "number": 1, **change},
            headers=H,
        )
        assert moved.status_code == 409
        assert moved.json() == {
            "error": "unable to update build 1: repo_id and number cannot be changed"
        }
    assert get(client, 1)["id"] == 1
    for field in ("repo_id", "number"):
        body = {"id": 1, "repo_id": 1, "number": 1, field: 0}
        bad = client.put("/vela/api/v1/admin/build", json=body, headers=H)
        assert bad.status_code == 400
        assert bad.json() == {"error": f"unable to update build 1: empty build {field} provided"}
    missing = client.put(
        "/vela/api/v1/admin/build", json={"id": 99, "repo_id": 1, "number": 1}, headers=H
    )
    assert missing.status_code == 404
    assert missing.json() == {"error": "unable to update build 99: record not found"}


def test_non_admin_tokens_get_vela_401(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BUILDMOCK_VELA_NON_ADMIN_TOKENS", "alice-token, bob-token")
    with TestClient(make_app("vela", token=None)) as c:
        build = create(c)
        for token in ("vela-user", "bob-token"):
            user = {"Authorization": f"Bearer {token}"}
            denied = c.put("/vela/api/v1/admin/build", json=build, headers=user)
            assert denied.status_code == 401
            assert denied.json()["error"].endswith(" is not a platform admin")
            assert c.get("/vela/api/v1/admin/builds/queue", headers=user).status_code == 401
            assert c.delete(f"{REPO}/builds/1", headers=user).status_code == 401
            assert c.get(f"{REPO}/builds/1", headers=user).status_code == 200
        assert c.put("/vela/api/v1/admin/build", json=build, headers=H).status_code == 200


def test_pinned_token_binds_vela_but_listed_non_admin_tokens_stay_valid(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("BUILDMOCK_VELA_NON_ADMIN_TOKENS", "bob-token")
    with TestClient(make_app("vela")) as c:
        # --token binds every caller: the built-in non-admin token is no longer accepted.
        assert c.get(f"{REPO}/builds", headers={"Authorization": "Bearer vela-user"}).json() == {
            "error": "invalid token"
        }
        user = {"Authorization": "Bearer bob-token"}
        assert c.get(f"{REPO}/builds", headers=user).status_code == 200
        assert c.get("/vela/api/v1/admin/builds/queue", headers=user).status_code == 401
        assert c.get(f"{REPO}/builds", headers={"Authorization": "Bearer other"}).json() == {
            "error": "invalid token"
        }


def test_delete_answers_a_string_and_forgets(client: TestClient) -> None:
    create(client)
    response = client.delete(f"{REPO}/builds/1", headers=H)
    assert response.status_code == 200 and response.json() == "build github/octocat/1 deleted"
    missing = client.get(f"{REPO}/builds/1", headers=H)
    assert missing.status_code == 404
    assert missing.json() == {"error": "unable to read build github/octocat/1: record not found"}


def test_queue_lists_pending_and_running_only(client: TestClient) -> None:
    create(client)
    advance(client, 600)
    create(client)
    create(client, event="pull_request", fork=True)
    queue = client.get("/vela/api/v1/admin/builds/queue", headers=H).json()
    assert queue == [{"status": "pending", "number": 2, "created": get(client, 2)["created"],
                      "full_name": "github/octocat"}]  # fmt: skip


def test_list_filters_and_paging_headers(client: TestClient) -> None:
    for _ in range(12):
        create(client, branch="main")
    create(client, event="tag")
    first = client.get(f"{REPO}/builds", headers=H)
    assert [b["number"] for b in first.json()] == list(range(13, 3, -1))
    assert first.headers["x-total-count"] == "13"
    assert first.headers["link"] == (
        f'<http://testserver{REPO}/builds?per_page=10&page=2>; rel="next", '
        f'<http://testserver{REPO}/builds?per_page=10&page=2>; rel="last"'
    )
    second = client.get(f"{REPO}/builds?page=2", headers=H)
    assert [b["number"] for b in second.json()] == [3, 2, 1]
    assert 'rel="first"' in second.headers["link"] and 'rel="next"' not in second.headers["link"]
    tags = client.get(f"{REPO}/builds?event=tag", headers=H)
    assert [b["number"] for b in tags.json()] == [13] and "link" not in tags.headers
    assert client.get(f"{REPO}/builds?per_page=101", headers=H).status_code == 400
    assert client.get(f"{REPO}/builds?status=created", headers=H).status_code == 400


def test_ill_formed_repo_is_404_and_well_formed_is_implicit(client: TestClient) -> None:
    response = client.get("/vela/api/v1/repos/bad%20org/octocat/builds", headers=H)
    assert response.status_code == 404
    assert response.json() == {"error": "unable to read repo bad org/octocat: record not found"}
    assert client.get("/vela/api/v1/repos/never/seen/builds", headers=H).json() == []


def test_worker_update_takes_only_progress_fields(client: TestClient) -> None:
    build = create(client)
    body = {"status": "running", "host": "worker-9", "commit": "0" * 40, "title": "", "started": 5}
    updated = client.put(f"{REPO}/builds/1", json=body, headers=H).json()
    assert (
        updated["status"] == "running" and updated["host"] == "worker-9" and updated["started"] == 5
    )
    assert updated["commit"] == build["commit"] and updated["title"] == build["title"]


def test_fixtures_load_repos_and_builds_in_several_states() -> None:
    with TestClient(make_app("vela", fixtures=FIXTURES_DIR)) as c:
        builds = c.get(f"{REPO}/builds?per_page=100", headers=H).json()
        statuses = {b["status"] for b in builds}
        assert {"success", "failure", "pending approval", "running", "pending"} <= statuses
        server = c.get("/vela/api/v1/repos/go-vela/server/builds", headers=H).json()
        assert {b["status"] for b in server} == {"error", "killed", "canceled"}
        assert any(b["error"] == "build was canceled by OctoKitty" for b in server)
