"""Stainless-specific behaviour: targets and steps, branch inference, paging, outputs, fixtures."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from buildmock.core import ids
from buildmock.server.fixtures import FixtureError
from tests.conftest import advance, make_app

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
    assert python["commit"]["completed"]["conclusion"] == "success"
    assert python["commit"]["completed"]["commit"]["repo"] == {
        "branch": "main",
        "name": "acme-api-python",
        "owner": "acme",
    }
    assert python["install_url"].endswith(python["commit"]["completed"]["commit"]["sha"])
    assert done["documented_spec"]["type"] == "url"
    assert done["updated_at"] > done["created_at"]


def test_codegen_failure_skips_checks(client: TestClient) -> None:
    build_id = create(client, "fatal", targets=["go"]).json()["id"]
    advance(client, 120)
    go = get(client, build_id)["targets"]["go"]
    assert go["commit"]["completed"] == {
        "commit": None,
        "conclusion": "fatal",
        "merge_conflict_pr": None,
    }
    assert {go[s]["completed"]["conclusion"] for s in ("lint", "build", "test")} == {"skipped"}
    assert go["install_url"] is None


def test_merge_conflict_names_a_pr(client: TestClient) -> None:
    build_id = create(client, "merge_conflict", targets=["ruby"]).json()["id"]
    advance(client, 120)
    pr = get(client, build_id)["targets"]["ruby"]["commit"]["completed"]["merge_conflict_pr"]
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
    repo = get(client, build["id"])["targets"]["go"]["commit"]["completed"]["commit"]["repo"]
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
    assert first["has_more"] is True
    second = client.get(
        f"/stainless/v0/builds?project=acme-api&limit=2&cursor={first['next_cursor']}", headers=H
    ).json()
    assert [b["id"] for b in second["data"]] == made[::-1][2:4]
    branch = client.get("/stainless/v0/builds?project=acme-api&branch=b1", headers=H).json()
    assert [b["id"] for b in branch["data"]] == [made[3], made[1]]
    assert "next_cursor" not in branch and branch["has_more"] is False


def test_compare_creates_two_builds(client: TestClient) -> None:
    response = client.post(
        "/stainless/v0/builds/compare",
        json={"project": "acme-api", "base": {"revision": "main"}, "head": {"revision": "feat/z"}},
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
        assert page["has_more"] and len(page["data"]) == 1


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
