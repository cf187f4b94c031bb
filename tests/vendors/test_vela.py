"""Vela-specific behaviour: per-repo numbers, lifecycle and actions, the admin update, paging, fixtures."""

from __future__ import annotations

import base64
import random
from collections.abc import Iterator
from typing import Any

import pytest
from starlette.testclient import TestClient

from buildmock import vendors
from buildmock.settings import FIXTURES_DIR, Settings
from tests.conftest import advance, make_app

H = {"Authorization": "Bearer test-token"}
REPO = "/vela/api/v1/repos/github/octocat"


#: A token listed as a non-admin user (the built-in ``vela-user`` is refused once --token is pinned).
USER = "reader-token"


@pytest.fixture
def client() -> Iterator[TestClient]:
    with TestClient(make_app("vela", options={"vela_non_admin_tokens": USER})) as c:
        yield c


def create(
    client: TestClient,
    prefer: str | None = None,
    repo: str = REPO,
    approval: bool = False,
    **body: Any,
) -> dict[str, Any]:
    wanted = [f"outcome={prefer}"] if prefer else []
    wanted += ["approval=required"] if approval else []
    headers = {**H, **({"Prefer": ", ".join(wanted)} if wanted else {})}
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
    # Create answers before publishing to the queue (v0.23): not yet enqueued, no host.
    assert build["status"] == "pending" and build["enqueued"] == 0 and build["created"] > 0
    assert build["started"] == build["finished"] == 0 and build["host"] == ""
    queued = get(client, 1)
    assert queued["enqueued"] == build["created"] and queued["host"] == "vela"
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


def test_approval_required_waits_for_approval_then_runs(client: TestClient) -> None:
    build = create(client, "success", event="pull_request", approval=True, sender="someone-else")
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
    create(client, event="pull_request", approval=True)
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


def test_non_admin_tokens_get_vela_401() -> None:
    env = {"BUILDMOCK_VELA_NON_ADMIN_TOKENS": "alice-token, bob-token"}
    listed = Settings.from_env(env, vendors.options()).options
    with TestClient(make_app("vela", token=None, options=listed)) as c:
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


def test_pinned_token_binds_vela_but_listed_non_admin_tokens_stay_valid() -> None:
    with TestClient(make_app("vela", options={"vela_non_admin_tokens": "bob-token"})) as c:
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
    create(client, event="pull_request", approval=True)
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


def _read(client: TestClient, path: str, status: int = 200) -> Any:
    response = client.get(f"{REPO}/builds/{path}", headers=H)
    assert response.status_code == status, response.text
    return response.json()


def _by_pipeline(client: TestClient) -> dict[bool, int]:
    """Build numbers of a staged pipeline (True) and of one without stages (False)."""
    found: dict[bool, int] = {}
    for _ in range(20):
        build = create(client, "success")
        steps = _read(client, f"{build['number']}/steps")
        found.setdefault(bool(steps[0]["stage"]), build["number"])
        if len(found) == 2:
            return found
    raise AssertionError("the seed never drew both pipelines")


def test_steps_are_numbered_by_the_compiler_and_listed_newest_id_first(client: TestClient) -> None:
    build = create(client, "success")
    assert build["parent"] == 1  # Vela's parent for a first build
    steps = _read(client, "1/steps")
    assert [s["number"] for s in steps] == list(range(len(steps), 0, -1))
    assert [s["id"] for s in steps] == sorted((s["id"] for s in steps), reverse=True)
    assert (steps[-1]["name"], steps[-1]["image"]) == ("init", "#init")
    assert steps[-2]["name"] == "clone" and steps[-2]["image"].startswith("target/vela-git:")
    assert _read(client, "1/steps/1") == steps[-1]
    assert _read(client, f"1/steps/{len(steps) + 1}", 404) == {
        "error": f"unable to read step github/octocat/1/{len(steps) + 1}: record not found"
    }
    assert _read(client, "1/services/99", 404)["error"].startswith("unable to read service")


def test_a_step_log_grows_while_it_runs_and_freezes_with_the_clock(client: TestClient) -> None:
    create(client, "success")
    sizes, done = [], False
    for _ in range(300):
        step = _read(client, "1/steps/2")
        log = base64.b64decode(_read(client, "1/steps/2/logs")["data"]).decode()
        assert _read(client, "1/steps/2/logs") == _read(
            client, "1/steps/2/logs"
        )  # clock stands still
        if step["status"] == "running":
            sizes.append(len(log))
        if step["status"] == "success":
            assert log.startswith("$ git init\n") and log.endswith("\n")
            done = True
            break
        advance(client, 0.5)
    assert done and sizes and sizes == sorted(sizes) and sizes[0] < sizes[-1]


def test_graph_follows_the_servers_rules_for_both_pipelines(client: TestClient) -> None:
    found = _by_pipeline(client)
    advance(client, 600)
    staged = _read(client, f"{found[True]}/graph")
    names = {n["name"]: n for n in staged["nodes"].values()}
    assert list(staged["nodes"]) == [str(i) for i in range(len(staged["nodes"]))]
    assert names["postgres"]["cluster"] == 0 and names["postgres"]["steps"] == []
    assert names["init"]["cluster"] == names["clone"]["cluster"] == 2
    assert {names[n]["cluster"] for n in ("test", "build", "publish")} == {1}
    edges = {(e["source"], e["destination"], e["cluster"]) for e in staged["edges"]}
    ids = {name: node["id"] for name, node in names.items()}
    # init -> clone (built-in), test -> build and build -> publish ("needs"); clone is never an edge.
    assert edges == {
        (ids["init"], ids["clone"], 2),
        (ids["test"], ids["build"], 1),
        (ids["build"], ids["publish"], 1),
    }
    assert all(n["status"] == "success" for n in staged["nodes"].values())
    flat = _read(client, f"{found[False]}/graph")
    assert {n["cluster"] for n in flat["nodes"].values()} == {1}
    # Without stages, v0.23 links every node to the one after each other node: n * (n - 1) edges.
    count = len(flat["nodes"])
    assert len(flat["edges"]) == count * (count - 1)


def test_services_and_logs_of_a_canceled_running_build(client: TestClient) -> None:
    found = _by_pipeline(client)
    number = found[True]
    advance(client, 40)
    assert get(client, number)["status"] == "running"
    assert client.delete(f"{REPO}/builds/{number}/cancel", headers=H).status_code == 200
    advance(client, 600)
    service = _read(client, f"{number}/services/1")
    assert service["status"] == "canceled" and service["finished"] >= service["started"] > 0
    logs = _read(client, f"{number}/logs?per_page=100")
    assert logs[0]["service_id"] == service["id"] and logs[0]["step_id"] == 0
    assert all(log["service_id"] == 0 and log["step_id"] > 0 for log in logs[1:])


def test_org_list_search_by_id_and_prefer_approval(client: TestClient) -> None:
    create(client)
    other = create(client, repo="/vela/api/v1/repos/github/hello")
    create(client, repo="/vela/api/v1/repos/acme/payments")
    listed = client.get("/vela/api/v1/repos/github/builds", headers=H)
    assert listed.status_code == 200 and len(listed.json()) == 2
    found = client.get(f"/vela/api/v1/search/builds/{other['id']}", headers=H)
    assert found.status_code == 200 and found.json() == {
        **other,
        "enqueued": 1735689600,
        "host": "vela",
    }
    missing = client.get("/vela/api/v1/search/builds/999", headers=H)
    assert missing.status_code == 404 and "record not found" in missing.json()["error"]
    bad = client.post(
        f"{REPO}/builds", json={"event": "push"}, headers={**H, "Prefer": "approval=maybe"}
    )
    assert bad.status_code == 400 and bad.json() == {
        "error": "Prefer: approval=maybe is not one of required"
    }


def test_worker_update_ignores_the_bodys_id_repo_id_and_number(client: TestClient) -> None:
    first, second = create(client), create(client)
    for body in ({"id": first["id"]}, {"id": 424242, "repo_id": 77, "number": 9}):
        response = client.put(
            f"{REPO}/builds/2", json={**body, "title": "from a worker"}, headers=H
        )
        assert response.status_code == 200, response.text
        assert (response.json()["id"], response.json()["number"]) == (second["id"], 2)
    assert get(client, 1)["title"] == first["title"]
    assert get(client, 2)["title"] == "from a worker"


def test_build_token_needs_a_worker_and_a_pending_build(client: TestClient) -> None:
    create(client)
    user = client.get(f"{REPO}/builds/1/token", headers={"Authorization": f"Bearer {USER}"})
    assert user.status_code == 401 and user.json() == {
        "error": "invalid token type: must provide a worker auth token"
    }
    first = client.get(f"{REPO}/builds/1/token", headers=H).json()["token"]
    assert first == client.get(f"{REPO}/builds/1/token", headers=H).json()["token"]
    assert client.get(f"{REPO}/builds/9/token", headers=H).status_code == 404


def test_any_sequence_of_step_service_and_log_writes_answers_without_a_server_error(
    client: TestClient,
) -> None:
    # Vela's worker and admin writes in a seeded random order: every answer is documented, none a 500.
    rng = random.Random(7)
    create(client, "success")
    create(client, "failure", approval=True)
    allowed = {200, 201, 404, 409}
    seen: set[int] = set()
    for _ in range(400):
        kind = rng.choice(("steps", "services"))
        build, number = rng.choice((1, 2)), rng.choice((1, 2, 3, 42))
        one = f"{REPO}/builds/{build}/{kind}/{number}"
        method, path, body = rng.choice(
            (
                ("POST", f"{REPO}/builds/{build}/{kind}", {"number": number, "name": "x"}),
                ("PUT", one, {"status": rng.choice(("running", "success")), "started": 5}),
                ("DELETE", one, None),
                ("POST", f"{one}/logs", {"data": "eA=="}),
                ("PUT", f"{one}/logs", {"data": rng.choice(("", "eQ=="))}),
                ("DELETE", f"{one}/logs", None),
                ("GET", f"{one}/logs", None),
                ("GET", f"{REPO}/builds/{build}/logs?per_page=100", None),
                ("GET", f"{REPO}/builds/{build}/graph", None),
            )
        )
        response = client.request(method, path, json=body, headers=H)
        assert response.status_code in allowed, f"{method} {path}: {response.text}"
        seen.add(response.status_code)
        if rng.random() < 0.2:
            advance(client, 15)
    assert {200, 201, 404, 409} <= seen


def test_step_writes_need_vela_permissions_and_a_worker_report_stays(client: TestClient) -> None:
    create(client, "success")
    user = {"Authorization": f"Bearer {USER}"}
    step = f"{REPO}/builds/1/steps/1"
    denied = {
        ("POST", f"{REPO}/builds/1/steps"): "user",
        ("PUT", step): "invalid token: must provide matching worker build token",
        ("DELETE", step): "user",
        ("PUT", f"{step}/logs"): "invalid token: must provide matching worker build token",
        ("DELETE", f"{step}/logs"): "user",
    }
    for (method, path), text in denied.items():
        response = client.request(method, path, json={"number": 9}, headers=user)
        assert response.status_code == 401 and response.json()["error"].startswith(text)
    duplicate = client.post(f"{REPO}/builds/1/steps", json={"number": 1}, headers=H)
    assert duplicate.status_code == 409 and "step 1 already exists" in duplicate.json()["error"]
    assert client.put(f"{step}/logs", json={"data": "ZG9uZQo="}, headers=H).status_code == 200
    advance(client, 600)  # the uploaded log no longer grows with the clock
    assert _read(client, "1/steps/1/logs")["data"] == "ZG9uZQo="
    assert client.post(f"{step}/logs", json={}, headers=H).status_code == 409


def test_the_org_list_shows_every_repo_build_as_its_get_does(client: TestClient) -> None:
    # The org-wide list filters stored builds and renders only its page: its entries must be what
    # each build's GET answers, newest first, and its filters must read the status at ``now``.
    other = "/vela/api/v1/repos/github/hello-world"
    made = [(REPO, create(client)), (other, create(client, repo=other)),
            (REPO, create(client, "failure", event="tag"))]  # fmt: skip
    create(client, repo="/vela/api/v1/repos/go-vela/server")  # another org: never listed
    advance(client, 20)
    made.append((other, create(client, repo=other)))
    builds = [get(client, b["number"], repo) for repo, b in made]
    builds.sort(key=lambda b: (-b["created"], b["id"]))
    assert len({b["status"] for b in builds}) > 1
    listed = client.get("/vela/api/v1/repos/github/builds", headers=H)
    assert listed.status_code == 200, listed.text
    assert listed.json() == builds
    for status in {b["status"] for b in builds}:
        filtered = client.get(f"/vela/api/v1/repos/github/builds?status={status}", headers=H)
        assert filtered.json() == [b for b in builds if b["status"] == status]
    tags = client.get("/vela/api/v1/repos/github/builds?event=tag", headers=H).json()
    assert tags == [b for b in builds if b["event"] == "tag"]
