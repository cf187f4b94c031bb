"""Stainless-specific behaviour: targets and steps, branch inference, paging, outputs, fixtures."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from buildmock.core import ids
from buildmock.fixtures import FixtureError
from tests.conftest import CONTROL_TOKEN, advance, make_app

H = {"Authorization": "Bearer test-token"}


@pytest.fixture
def client() -> Any:
    with TestClient(make_app("stainless")) as c:
        yield c


def create(client: TestClient, prefer: str | None = None, **body: Any) -> Any:
    payload = {"project": "acme-api", "revision": "main", **body}
    headers = {**H, **({"Prefer": f"outcome={prefer}"} if prefer else {})}
    return client.post("/stainless/v0/builds", json=payload, headers=headers)


def get(client: TestClient, build_id: str) -> dict[str, Any]:
    response = client.get(f"/stainless/v0/builds/{build_id}", headers=H)
    assert response.status_code == 200
    return response.json()


def test_new_build_has_vendor_shapes(client: TestClient) -> None:
    build = create(client, targets=["python", "go"]).json()
    assert ids.matcher("bui_", ids.BASE32, 26).match(build["id"])
    assert len(build["config_commit"]) == 40
    assert build["object"] == "build" and build["org"] == "acme" and build["project"] == "acme-api"
    assert build["created_at"] == "2025-01-01T00:00:00.000Z"
    assert set(build["targets"]) == {"python", "go"}
    assert build["documented_spec"] is None
    for target in build["targets"].values():
        assert target["status"] == "not_started" and target["install_url"] is None
        assert {target[s]["status"] for s in ("commit", "lint", "build", "test")} == {"not_started"}


def test_targets_move_through_codegen_postgen_completed(client: TestClient) -> None:
    build_id = create(client, "success", targets=["python"]).json()["id"]
    seen: list[tuple[str, str, str]] = []
    for _ in range(40):
        python = get(client, build_id)["targets"]["python"]
        step = (python["status"], python["commit"]["status"], python["test"]["status"])
        if not seen or seen[-1] != step:
            seen.append(step)
        advance(client, 1)
    statuses = [s[0] for s in seen]
    assert statuses.index("codegen") < statuses.index("postgen") < statuses.index("completed")
    assert ("codegen", "in_progress", "not_started") in seen
    assert seen[-1] == ("completed", "completed", "completed")
    done = get(client, build_id)
    python = done["targets"]["python"]
    commit = python["commit"]
    assert commit["conclusion"] == "success"
    assert commit["commit"]["repo"] == {
        "branch": "main",
        "name": "acme-api-python",
        "owner": "acme",
    }
    stats = commit["commit"]["stats"]
    assert stats["total"] == stats["additions"] + stats["deletions"] > 0
    assert len(commit["commit"]["tree_oid"]) == 40
    assert python["install_url"].endswith(commit["commit"]["sha"])
    # The deprecated nested form carries the same values as the top level.
    assert commit["completed"] == {k: commit[k] for k in commit if k not in ("status", "completed")}
    assert done["created_at"] < commit["completed_at"] <= done["updated_at"]
    for check in ("lint", "build", "test"):
        step = python[check]
        assert step["conclusion"] == "success" and step["url"].startswith("https://github.com/")
        assert step["completed"] == {"conclusion": "success", "url": step["url"]}
    assert done["documented_spec"]["type"] == "url"
    assert done["updated_at"] > done["created_at"]


def test_codegen_failure_skips_checks(client: TestClient) -> None:
    build_id = create(client, "fatal", targets=["go"]).json()["id"]
    advance(client, 120)
    go = get(client, build_id)["targets"]["go"]
    assert go["commit"]["commit"] is None and go["commit"]["conclusion"] == "fatal"
    assert go["commit"]["merge_conflict_pr"] is None
    assert {go[s]["conclusion"] for s in ("lint", "build", "test")} == {"skipped"}
    assert {go[s]["url"] for s in ("lint", "build", "test")} == {None}  # they never ran
    assert go["install_url"] is None


def test_checks_link_their_run_from_queued_on(client: TestClient) -> None:
    build_id = create(client, "success", targets=["python"]).json()["id"]
    seen: dict[str, set[str | None]] = {}
    for _ in range(120):
        lint = get(client, build_id)["targets"]["python"]["lint"]
        seen.setdefault(lint["status"], set()).add(lint.get("url", "absent"))
        advance(client, 0.25)
    assert seen["not_started"] == {"absent"}
    urls = seen["queued"] | seen["in_progress"] | seen["completed"]
    assert len(urls) == 1 and next(iter(urls)).startswith("https://github.com/acme/")


def test_merge_conflict_names_a_pr(client: TestClient) -> None:
    build_id = create(client, "merge_conflict", targets=["ruby"]).json()["id"]
    advance(client, 120)
    pr = get(client, build_id)["targets"]["ruby"]["commit"]["merge_conflict_pr"]
    assert pr["repo"] == {"name": "acme-api-ruby", "owner": "acme"} and pr["number"] >= 1


def test_unknown_prefer_outcome_is_400(client: TestClient) -> None:
    response = create(client, "exploded")
    assert response.status_code == 400 and "outcome" in response.json()["error"]


@pytest.mark.parametrize(
    ("body", "branch"),
    [
        ({"revision": "feature/x"}, "feature/x"),
        ({"revision": "main..feature/y"}, "feature/y"),
        ({"revision": "3f2a9c1", "branch": "main"}, "main"),
        ({"revision": {"openapi.yml": {"content": "x"}}, "branch": "dev"}, "dev"),
    ],
)
def test_branch_inference(client: TestClient, body: dict[str, Any], branch: str) -> None:
    build = create(client, targets=["go"], **body).json()
    advance(client, 120)
    repo = get(client, build["id"])["targets"]["go"]["commit"]["commit"]["repo"]
    assert repo["branch"] == branch


@pytest.mark.parametrize("revision", ["3f2a9c1", {"openapi.yml": {"content": "x"}}])
def test_branch_that_cannot_be_inferred_is_400(client: TestClient, revision: Any) -> None:
    response = create(client, revision=revision)
    assert response.status_code == 400
    assert set(response.json()) == {"error"}


def test_list_filters_orders_and_pages(client: TestClient) -> None:
    made = [create(client, revision=f"b{i % 2}").json()["id"] for i in range(5)]
    create(client, project="other-proj")
    first = client.get("/stainless/v0/builds?project=acme-api&limit=2", headers=H).json()
    assert [b["id"] for b in first["data"]] == made[::-1][:2]
    assert set(first) == {"data", "next_cursor"}
    second = client.get(
        f"/stainless/v0/builds?project=acme-api&limit=2&cursor={first['next_cursor']}", headers=H
    ).json()
    assert [b["id"] for b in second["data"]] == made[::-1][2:4]
    branch = client.get("/stainless/v0/builds?project=acme-api&branch=b1", headers=H).json()
    assert [b["id"] for b in branch["data"]] == [made[3], made[1]]
    assert set(branch) == {"data"}  # the last page has no cursor


def test_compare_creates_two_builds(client: TestClient) -> None:
    response = client.post(
        "/stainless/v0/builds/compare",
        json={
            "project": "acme-api",
            "base": {"branch": "main", "revision": "main"},
            "head": {"branch": "feat/z", "revision": "feat/z"},
        },
        headers=H,
    )
    assert response.status_code == 200
    pair = response.json()
    assert pair["base"]["id"] != pair["head"]["id"]
    assert get(client, pair["head"]["id"])["id"] == pair["head"]["id"]


def test_diagnostics_filter_by_severity_and_page(client: TestClient) -> None:
    build_id = create(client).json()["id"]
    everything = client.get(f"/stainless/v0/builds/{build_id}/diagnostics", headers=H).json()[
        "data"
    ]
    errors = client.get(
        f"/stainless/v0/builds/{build_id}/diagnostics?severity=error", headers=H
    ).json()["data"]
    assert all(d["level"] in ("fatal", "error") for d in errors)
    assert len(errors) == sum(d["level"] in ("fatal", "error") for d in everything)
    if len(everything) > 1:
        page = client.get(f"/stainless/v0/builds/{build_id}/diagnostics?limit=1", headers=H).json()
        assert len(page["data"]) == 1 and page["next_cursor"]


def test_outputs_only_once_generated(client: TestClient) -> None:
    build_id = create(client, "success", targets=["python"]).json()["id"]
    url = f"/stainless/v0/build_target_outputs?build_id={build_id}&target=python&type=source"
    assert client.get(url, headers=H).status_code == 404
    advance(client, 120)
    out = client.get(url, headers=H).json()
    assert out["output"] == "url" and build_id in out["url"]
    git = client.get(url + "&output=git", headers=H).json()
    assert git["output"] == "git" and git["token"].startswith("ghs_") and len(git["ref"]) == 40
    assert client.get(url.replace("python", "go"), headers=H).status_code == 404


def test_bundled_fixtures_load_in_several_states() -> None:
    with TestClient(make_app("stainless", fixtures=Path("fixtures"))) as c:
        builds = c.get("/stainless/v0/builds?project=acme-api", headers=H).json()["data"]
        assert len(builds) == 2
        statuses = {
            t["status"]
            for b in c.get("/stainless/v0/builds?project=petstore", headers=H).json()["data"]
            for t in b["targets"].values()
        }
        assert {"completed"} < statuses | {"completed"} and len(statuses) >= 2


def test_bad_fixture_names_file_and_field(tmp_path: Path) -> None:
    (tmp_path / "stainless.yaml").write_text(
        "builds:\n  - project: acme-api\n    revision: main\n    targets: [rust]\n"
    )
    with pytest.raises(FixtureError) as caught:
        make_app("stainless", fixtures=tmp_path)
    message = str(caught.value)
    assert "stainless.yaml" in message and "builds[0].targets.0" in message and "rust" in message


def test_compare_needs_each_sides_branch(client: TestClient) -> None:
    response = client.post(
        "/stainless/v0/builds/compare",
        json={"project": "acme-api", "base": {"revision": "main"}, "head": {"revision": "x"}},
        headers=H,
    )
    assert response.status_code == 400 and "branch" in response.json()["error"]


@pytest.mark.parametrize(
    ("extra", "status"),
    [
        ({"enable_ai_commit_message": True}, 200),
        ({"target_commit_messages": {"python": "feat: py", "sql": "feat: sql"}}, 200),
        ({"enable_ai_commit_message": False, "commit_message": "m"}, 200),
        ({"enable_ai_commit_message": True, "commit_message": "m"}, 400),
        ({"enable_ai_commit_message": True, "target_commit_messages": {"go": "m"}}, 400),
    ],
)
def test_ai_commit_messages_exclude_explicit_ones(
    client: TestClient, extra: dict[str, Any], status: int
) -> None:
    assert create(client, **extra).status_code == status


def test_every_sdk_target_can_be_built(client: TestClient) -> None:
    build = create(client, "success", targets=["sql", "openapi"]).json()
    advance(client, 120)
    done = get(client, build["id"])
    assert {t["commit"]["conclusion"] for t in done["targets"].values()} == {"success"}
    url = f"/stainless/v0/build_target_outputs?build_id={build['id']}&target=sql&type=source"
    assert client.get(url, headers=H).json()["target"] == "sql"


def test_limit_is_a_number_and_diagnostic_targets_a_comma_list(client: TestClient) -> None:
    for i in range(3):
        create(client, revision=f"n{i}")
    page = client.get("/stainless/v0/builds?project=acme-api&limit=2.7", headers=H)
    assert page.status_code == 200 and len(page.json()["data"]) == 2
    build_id = create(client, targets=["python", "go"]).json()["id"]
    url = f"/stainless/v0/builds/{build_id}/diagnostics"
    everything = client.get(url, headers=H).json()["data"]
    python = client.get(url, params={"targets": "python,go"}, headers=H)
    assert python.status_code == 200 and len(python.json()["data"]) == len(everything)
    none = client.get(url, params={"targets": "ruby"}, headers=H).json()["data"]
    assert len(none) <= len(everything)
    assert all(d["more"] is None or d["more"]["type"] in d["more"] for d in everything)


def test_a_state_document_writes_each_target_as_an_object_and_refuses_a_spoilt_one(
    client: TestClient,
) -> None:
    """Builds are held as tuples; documents keep the per-target objects, and only those load."""
    build_id = create(client, "merge_conflict", targets=["ruby"]).json()["id"]
    advance(client, 60)
    before = get(client, build_id)
    assert before["targets"]["ruby"]["commit"]["merge_conflict_pr"] is not None
    document = client.get("/__buildmock/snapshot", headers=CONTROL_TOKEN).json()
    ((key, _, record),) = document["vendors"]["stainless"]["store"]["records"]["build"]
    assert key == build_id
    ruby = record["targets"]["ruby"]
    assert [state for state, _ in ruby["marks"]] == ["not_started", "codegen", "completed"]
    assert ruby["conclusion"] == "merge_conflict" and len(ruby["runs"]) == 3
    assert isinstance(ruby["merge_pr"], int) and len(ruby["changes"]) == 2
    ruby["marks"].reverse()
    refused = client.put("/__buildmock/snapshot", json=document, headers=CONTROL_TOKEN)
    assert refused.status_code == 400 and "vendors.stainless.store" in refused.text
    assert get(client, build_id) == before  # nothing changed
    ruby["marks"].reverse()
    assert client.put("/__buildmock/snapshot", json=document, headers=CONTROL_TOKEN).is_success
    assert get(client, build_id) == before
