"""Escape behaviour beyond the shared tests: builds, executions, logs, paging and the other resources."""

from __future__ import annotations

import inspect
from collections.abc import Iterator
from typing import Any

import pytest
import yaml
from starlette.testclient import TestClient

from buildmock.core import openapi
from buildmock.settings import FIXTURES_DIR, SPECS_DIR
from buildmock.vendors import escape
from tests.cases.base import TOKEN
from tests.conftest import advance, make_app

H = {"X-Escape-Token": TOKEN}
ENV = "/escape/api/v1/state/acme/environments/production"
BUILDS = f"{ENV}/builds/"


@pytest.fixture
def client() -> Iterator[TestClient]:
    """A fresh Escape mock with a manual clock and no fixtures."""
    with TestClient(make_app("escape")) as c:
        yield c


def _add(client: TestClient, name: str = "api-server", **fields: Any) -> Any:
    response = client.post(
        BUILDS, json={"name": name, "repo": "git@github.com:acme/api.git", **fields}, headers=H
    )
    assert response.status_code == 200, response.text
    return response.json()


def _trigger(client: TestClient, name: str = "api-server", prefer: str | None = None) -> str:
    extra = {"Prefer": f"outcome={prefer}"} if prefer else {}
    response = client.post(f"{BUILDS}by-name/{name}/trigger", headers={**H, **extra})
    assert response.status_code == 200, response.text
    assert set(response.json()) == {"id"}
    return str(response.json()["id"])


def _get(client: TestClient, path: str) -> Any:
    response = client.get(path, headers=H)
    assert response.status_code == 200, response.text
    return response.json()


def test_add_trigger_watch_finish_and_read_logs(client: TestClient) -> None:
    """The issue's scenario: add a build, trigger it, watch it finish under a manual clock, read its logs."""
    build = _add(client)
    assert (
        build["status"] == "new"
        and build["project"] == "acme"
        and build["environment"] == "production"
    )
    execution_id = _trigger(client)
    execution = f"{BUILDS}by-name/api-server/executions/{execution_id}/"
    seen, log_sizes = [], []
    for _ in range(40):
        status = _get(client, execution)["status"]
        if not seen or seen[-1] != status:
            seen.append(status)
        assert _get(client, f"{BUILDS}by-name/api-server/")["status"] == status
        log_sizes.append(len(_get(client, f"{execution}logs")))
        if status in ("ok", "failed"):
            break
        advance(client, 2)
    assert seen == ["new", "pending", "running", "ok"]
    assert log_sizes == sorted(log_sizes) and log_sizes[0] < log_sizes[-1]
    logs = _get(client, f"{execution}logs")
    assert logs[0].startswith(f"Build execution {execution_id} created")
    assert "Cloning git@github.com:acme/api.git at master" in logs
    assert logs[-1] == f"Build execution {execution_id} succeeded"
    assert _get(client, execution)["commit"]["branch"] == "master"


def test_errors_are_plain_text_or_empty(client: TestClient) -> None:
    _add(client)
    again = client.post(BUILDS, json={"name": "api-server"}, headers=H)
    assert (again.status_code, again.text) == (409, "Resource already exists")
    assert again.headers["content-type"].startswith("text/plain")
    anonymous = client.get(BUILDS)
    assert (anonymous.status_code, anonymous.text) == (401, "")
    missing = client.get(f"{BUILDS}by-name/nope/", headers=H)
    assert (missing.status_code, missing.text) == (404, "")
    ill_formed = client.get("/escape/api/v1/state/-bad/builds/", headers=H)
    assert ill_formed.status_code == 404
    bad = client.post(BUILDS, json={"name": "no spaces"}, headers=H)
    assert bad.status_code == 400 and bad.text


def test_trigger_while_unfinished_is_refused_until_done(client: TestClient) -> None:
    _add(client)
    _trigger(client)
    refused = client.post(f"{BUILDS}by-name/api-server/trigger", headers=H)
    assert (refused.status_code, refused.text) == (400, "Build is still running")
    advance(client, 600)
    assert _trigger(client) == "2"


def test_disabled_build_is_not_triggered(client: TestClient) -> None:
    _add(client, disabled=True)
    refused = client.post(f"{BUILDS}by-name/api-server/trigger", headers=H)
    assert (refused.status_code, refused.text) == (400, "Build is disabled")


def test_forced_failure_and_cancel_and_retry(client: TestClient) -> None:
    _add(client)
    first = _trigger(client, prefer="failed")
    advance(client, 600)
    path = f"{BUILDS}by-name/api-server/executions/"
    assert _get(client, f"{path}{first}/")["status"] == "failed"
    assert _get(client, f"{path}{first}/logs")[-1] == f"Build execution {first} failed"
    retried = client.post(f"{path}{first}/retry", headers=H).json()["id"]
    advance(client, 10)
    assert _get(client, f"{path}{retried}/")["status"] == "running"
    cancelled = client.post(f"{path}{retried}/cancel", headers=H)
    assert (cancelled.status_code, cancelled.content) == (200, b"")
    assert _get(client, f"{path}{retried}/")["status"] == "failed"
    assert _get(client, f"{BUILDS}by-name/api-server/")["status"] == "failed"
    assert _get(client, f"{path}{retried}/logs")[-1] == f"Build execution {retried} cancelled"
    assert client.post(f"{path}{retried}/cancel", headers=H).status_code == 200
    unknown = client.post(f"{path}999/retry", headers=H)
    assert unknown.status_code == 404


def test_update_changes_private_key_only_when_asked(client: TestClient) -> None:
    _add(client, private_key="old-key", branch="main")
    path = f"{BUILDS}by-name/api-server/"
    kept = client.put(path, json={"name": "other", "private_key": "new-key"}, headers=H).json()
    assert (
        kept["private_key"] == "old-key" and kept["branch"] == "" and kept["name"] == "api-server"
    )
    changed = client.put(path, json={"name": "api-server", "private_key": "new-key", "update_private_key": True},
                         headers=H).json()  # fmt: skip
    assert changed["private_key"] == "new-key" and changed["update_private_key"] is False


def test_paging_is_newest_first_below_page_from(client: TestClient) -> None:
    for name in ("a", "b", "c", "d"):
        _add(client, name)
        _trigger(client, name)
    ids = [e["id"] for e in _get(client, "/escape/api/v1/builds/executions/")]
    assert ids == ["4", "3", "2", "1"]
    assert [e["id"] for e in _get(client, "/escape/api/v1/builds/executions/?page_size=2")] == [
        "4",
        "3",
    ]
    assert [e["id"] for e in _get(client, "/escape/api/v1/builds/executions/?page_from=3")] == [
        "2",
        "1",
    ]
    assert [e["id"] for e in _get(client, f"{BUILDS}by-name/b/executions/")] == ["2"]
    assert len(_get(client, "/escape/api/v1/state/acme/builds/executions/")) == 4
    assert _get(client, "/escape/api/v1/state/other/builds/executions/") == []
    too_big = client.get("/escape/api/v1/builds/executions/?page_size=101", headers=H)
    assert too_big.status_code == 400


def test_commit_and_added_logs(client: TestClient) -> None:
    _add(client)
    execution = f"{BUILDS}by-name/api-server/executions/{_trigger(client)}/"
    assert _get(client, execution)["commit"] is None
    sha = "3f786850e387550fdab836ed7e6dc881de23001b"
    updated = client.put(
        f"{execution}commit", json={"sha": sha, "message": "Fix it"}, headers=H
    ).json()
    assert updated["commit"] == {"sha": sha, "message": "Fix it", "author": "", "branch": ""}
    added = client.post(f"{execution}logs", json=["from a remote worker"], headers=H)
    assert (added.status_code, added.content) == (200, b"")
    assert _get(client, f"{execution}logs")[-1] == "from a remote worker"


def test_delete_removes_build_and_its_executions(client: TestClient) -> None:
    _add(client)
    execution_id = _trigger(client)
    deleted = client.delete(f"{BUILDS}by-name/api-server/", headers=H)
    assert deleted.status_code == 200 and deleted.json()["name"] == "api-server"
    assert (
        client.get(f"{BUILDS}by-name/api-server/executions/{execution_id}/", headers=H).status_code
        == 404
    )
    assert _get(client, "/escape/api/v1/builds/executions/") == []
    assert _get(client, "/escape/api/v1/builds/") == []


def test_lists_by_scope(client: TestClient) -> None:
    _add(client, "one")
    client.post(
        "/escape/api/v1/state/acme/environments/staging/builds/", json={"name": "one"}, headers=H
    )
    client.post(
        "/escape/api/v1/state/beta/environments/production/builds/", json={"name": "two"}, headers=H
    )
    assert len(_get(client, "/escape/api/v1/builds/")) == 3
    assert len(_get(client, "/escape/api/v1/state/acme/builds/")) == 2
    assert [b["name"] for b in _get(client, BUILDS)] == ["one"]
    assert _get(client, "/escape/api/v1/state/") == {
        "acme": {"name": "acme"},
        "beta": {"name": "beta"},
    }
    assert _get(client, "/escape/api/v1/state/anything/") == {"name": "anything"}


def test_deployment_jobs_share_the_machinery(client: TestClient) -> None:
    jobs = f"{ENV}/deployment-jobs/"
    job = client.post(jobs, json={"name": "deploy-api"}, headers=H).json()
    assert job["status"] == "new"
    execution_id = client.post(f"{jobs}by-name/deploy-api/trigger", headers=H).json()["id"]
    advance(client, 600)
    execution = _get(client, f"{jobs}by-name/deploy-api/executions/{execution_id}/")
    assert execution["status"] == "ok" and execution["deployment_job"]["name"] == "deploy-api"
    assert _get(client, f"{jobs}by-name/deploy-api/")["status"] == "ok"
    assert _get(client, f"{jobs}by-name/deploy-api/executions/{execution_id}/logs")[-1].endswith(
        "succeeded"
    )


def test_pipeline_phases_follow_the_execution(client: TestClient) -> None:
    pipelines = "/escape/api/v1/state/acme/pipelines/"
    body = {"name": "train", "phases": [{"name": "build", "steps": [{"type": "build", "build": "api"}]},
                                        {"name": "deploy", "steps": [{"type": "deploy"}]}],
            "triggers": [{"type": "webhook"}]}  # fmt: skip
    created = client.post(pipelines, json=body, headers=H).json()
    assert created["status"] == "new" and created["triggers"][0]["type"] == "webhook"
    assert [p["status"] for p in created["phases"]] == ["new", "new"]
    first = client.post(f"{pipelines}by-name/train/trigger", headers=H).json()["id"]
    advance(client, 8)
    phases = _get(client, f"{pipelines}by-name/train/")["phases"]
    assert [p["status"] for p in phases] == ["running", "new"]
    assert phases[1]["steps"][0]["status"] == "queued"
    advance(client, 600)
    execution = _get(client, f"{pipelines}by-name/train/executions/{first}/")
    assert execution["run_nr"] == 1 and execution["status"] == "ok"
    assert [p["status"] for p in execution["pipeline"]["phases"]] == ["ok", "ok"]
    second = client.post(f"{pipelines}by-name/train/executions/{first}/retry", headers=H).json()[
        "id"
    ]
    assert _get(client, f"{pipelines}by-name/train/executions/{second}/")["run_nr"] == 2


def test_namespaces(client: TestClient) -> None:
    added = client.post(
        "/escape/api/v1/state/acme/namespaces/", json={"name": "acme-platform"}, headers=H
    )
    assert (added.status_code, added.content) == (200, b"")
    again = client.post(
        "/escape/api/v1/state/other/namespaces/", json={"name": "acme-platform"}, headers=H
    )
    assert again.status_code == 409
    assert _get(client, "/escape/api/v1/namespaces/acme-platform/")["project"] == "acme"
    assert _get(client, "/escape/api/v1/namespaces/") == {
        "namespaces": {"acme-platform": {"permission": "owner", "project": "acme"}}
    }


def test_fixtures_load() -> None:
    with TestClient(make_app("escape", fixtures=FIXTURES_DIR)) as c:
        executions = _get(c, "/escape/api/v1/builds/executions/")
        assert [e["status"] for e in executions] == ["ok", "failed", "ok"]
        assert _get(c, f"{BUILDS}by-name/api-server/")["status"] == "ok"
        assert (
            _get(c, "/escape/api/v1/state/acme/pipelines/by-name/release-train/")["status"] == "ok"
        )
        assert "acme-platform" in _get(c, "/escape/api/v1/namespaces/")["namespaces"]


def test_the_handler_table_matches_the_spec_operation_by_operation() -> None:
    """Each table-made handler takes exactly its operation's parameters (and ``body`` when it
    has a request body): what Connexion and the fast path pass it."""
    spec = yaml.safe_load((SPECS_DIR / "escape.yaml").read_text())
    shared = spec["components"].get("parameters", {})
    table = {}
    for _, _, operation in openapi.operations(spec):
        if operation["operationId"] not in escape.OPERATIONS:
            continue
        params = [shared[p["$ref"].rsplit("/", 1)[-1]] if "$ref" in p else p
                  for p in operation.get("parameters", [])]  # fmt: skip
        expected = {p["name"] for p in params} | ({"body"} if "requestBody" in operation else set())
        handler = getattr(escape, operation["operationId"])
        table[operation["operationId"]] = set(inspect.signature(handler).parameters) - {"rt"}
        assert table[operation["operationId"]] == expected, operation["operationId"]
    assert set(table) == set(escape.OPERATIONS)
    # Namespaces and projects are the handlers written out.
    assert len(table) == len(list(openapi.operations(spec))) - 5
