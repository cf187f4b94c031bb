"""The Stainless mock against Stainless's own types (``@stainless-api/sdk`` 0.5.0), strictly, live.

Every response of every build operation, at every point of a build's life (created, each step
queued and running, each step completed with each conclusion the SDK lists, listed, paged, compared,
diagnosed, downloaded), must validate against the snapshot of the SDK's response types with closed
objects: no field the vendor lacks, every field it requires. The API has no cancel operation;
``cancelled`` is a conclusion of commits and checks, and is driven like the others.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from starlette.testclient import TestClient

from buildmock.domain import stainless as model
from buildmock.settings import SPECS_DIR
from tests.conftest import advance, make_app
from tests.fidelity.strict import load, spec_operations

H = {"Authorization": "Bearer test-token"}
SNAP = load("stainless")
SPEC = yaml.safe_load((SPECS_DIR / "stainless.yaml").read_text())
#: Step statuses as the SDK's unions list them.
STEP_STATUSES = {"not_started", "queued", "in_progress", "completed"}


@pytest.fixture
def client() -> Iterator[TestClient]:
    with TestClient(make_app("stainless")) as c:
        yield c


def call(client: TestClient, method: str, url: str, schema: str, **kwargs: Any) -> Any:
    """One request that must succeed, its body checked strictly against the SDK's ``schema``."""
    response = client.request(
        method, f"/stainless{url}", headers={**H, **kwargs.pop("headers", {})}, **kwargs
    )
    assert response.status_code == 200, response.text
    body = response.json()
    SNAP.check(schema, body, where=f"{method} {url}")
    return body


def create(client: TestClient, outcome: str, targets: list[str], **body: Any) -> dict[str, Any]:
    payload = {"project": "acme-api", "revision": "main", "targets": targets, **body}
    headers = {"Prefer": f"outcome={outcome}"}
    result: dict[str, Any] = call(
        client, "POST", "/v0/builds", "Build", json=payload, headers=headers
    )
    return result


def walk(client: TestClient, build_id: str, step: float = 0.25) -> list[dict[str, Any]]:
    """Every distinct rendering of a build from now until it is done, each one checked strictly."""
    seen: list[dict[str, Any]] = []
    for _ in range(int(120 / step)):
        build = call(client, "GET", f"/v0/builds/{build_id}", "Build")
        if not seen or seen[-1] != build:
            seen.append(build)
        if all(t["status"] == "completed" for t in build["targets"].values()) and all(
            t[c]["status"] == "completed" for t in build["targets"].values() for c in model.CHECKS
        ):
            return seen
        advance(client, step)
    raise AssertionError(f"build {build_id} did not finish in 120 s")


def test_every_build_operation_of_the_sdk_is_in_the_spec() -> None:
    ops = set(SNAP.operations)
    covered = ops & spec_operations(SPEC)
    print(f"stainless operations covered: {len(covered)}/{len(ops)}")
    assert covered == ops, f"missing from specs/stainless.yaml: {sorted(ops - covered)}"
    # Nothing the SDK lacks: every operation of the spec is one of the SDK's.
    assert spec_operations(SPEC) <= ops
    assert not set(SNAP.not_modelled) & spec_operations(SPEC)


def test_the_spec_names_the_snapshots_source() -> None:
    source = SPEC["info"]["x-buildmock-source"]
    assert source["package"] == SNAP.source["name"] and source["version"] == SNAP.source["version"]


def test_the_spec_has_every_target_and_conclusion_the_sdk_has() -> None:
    schemas = SPEC["components"]["schemas"]
    defs = SNAP.definitions
    assert schemas["Target"]["enum"] == defs["Target"]["enum"] == list(model.TARGETS)
    assert set(schemas["Targets"]["properties"]) == set(defs["Build.Targets"]["properties"])
    commit = defs["BuildTarget.Completed"]["properties"]["conclusion"]["enum"]
    check = defs["CheckStep.Completed"]["properties"]["conclusion"]["enum"]
    assert schemas["CommitConclusion"]["enum"] == commit == list(model.COMMIT_CONCLUSIONS)
    assert schemas["CheckConclusion"]["enum"] == check == list(model.CHECK_CONCLUSIONS)


def test_a_build_of_every_target_validates_at_every_point_of_its_life(client: TestClient) -> None:
    targets = list(model.TARGETS)
    build = create(client, "success", targets)
    assert set(build["targets"]) == set(targets)
    renderings = walk(client, build["id"])
    statuses = {t["status"] for b in renderings for t in b["targets"].values()}
    assert statuses == {"not_started", "codegen", "postgen", "completed"}
    commit = {t["commit"]["status"] for b in renderings for t in b["targets"].values()}
    checks = {
        t[c]["status"] for b in renderings for t in b["targets"].values() for c in model.CHECKS
    }
    assert commit == checks == STEP_STATUSES
    assert renderings[0]["documented_spec"] is None and renderings[-1]["documented_spec"]


@pytest.mark.parametrize("outcome", model.OUTCOMES)
def test_each_conclusion_validates(client: TestClient, outcome: str) -> None:
    build = create(client, outcome, ["python", "go"])
    final = walk(client, build["id"], step=0.5)[-1]
    targets = final["targets"].values()
    commits = {t["commit"]["conclusion"] for t in targets}
    checks = {t[c]["conclusion"] for t in targets for c in model.CHECKS}
    if outcome in ("success", "failure"):
        assert commits == {"success"} and outcome in checks
    elif outcome in model.COMMIT_CONCLUSIONS:
        assert outcome in commits
    else:
        assert outcome in checks


def test_lists_and_pages_validate(client: TestClient) -> None:
    made = [create(client, "success", ["python"], revision=f"b{i % 2}")["id"] for i in range(5)]
    advance(client, 7)  # some running, to list builds mid-flight too
    seen: list[str] = []
    cursor: str | None = None
    while True:
        params: dict[str, Any] = {
            "project": "acme-api",
            "limit": 2,
            **({"cursor": cursor} if cursor else {}),
        }
        page = call(client, "GET", "/v0/builds", "BuildsPage", params=params)
        seen += [b["id"] for b in page["data"]]
        cursor = page.get("next_cursor")
        if cursor is None:
            break
    assert seen == made[::-1]
    filtered = call(
        client, "GET", "/v0/builds", "BuildsPage", params={"project": "acme-api", "branch": "b1"}
    )
    assert [b["id"] for b in filtered["data"]] == [made[3], made[1]]
    empty = call(client, "GET", "/v0/builds", "BuildsPage", params={"project": "nobody-here"})
    assert empty == {"data": []}


def test_compare_validates(client: TestClient) -> None:
    body = {
        "project": "acme-api",
        "base": {"branch": "main", "revision": "main"},
        "head": {"branch": "next", "revision": {"openapi.yml": {"content": "openapi: 3.0.3"}}},
        "targets": ["typescript", "sql"],
    }
    pair = call(client, "POST", "/v0/builds/compare", "BuildCompareResponse", json=body)
    advance(client, 120)
    for side in ("base", "head"):
        call(client, "GET", f"/v0/builds/{pair[side]['id']}", "Build")


def test_diagnostics_validate_paged_and_filtered(client: TestClient) -> None:
    mores: set[str | None] = set()
    for i in range(12):
        build_id = create(client, "success", ["python", "go"], revision=f"d{i}")["id"]
        url = f"/v0/builds/{build_id}/diagnostics"
        whole = call(client, "GET", url, "BuildDiagnosticsPage")["data"]
        mores |= {d["more"] and d["more"]["type"] for d in whole}
        paged: list[dict[str, Any]] = []
        cursor: str | None = None
        while True:
            query = {"limit": 1, **({"cursor": cursor} if cursor else {})}
            page = call(client, "GET", url, "BuildDiagnosticsPage", params=query)
            paged += page["data"]
            cursor = page.get("next_cursor")
            if cursor is None:
                break
        assert paged == whole
        call(
            client,
            "GET",
            url,
            "BuildDiagnosticsPage",
            params={"severity": "warning", "targets": "python,go"},
        )
    assert mores == {"markdown", "raw", None}


@pytest.mark.parametrize(
    ("target", "kind", "output"),
    [
        ("python", "source", "url"),
        ("python", "source", "git"),
        ("python", "wheel", "url"),
        ("sql", "dist", "url"),
    ],
)
def test_outputs_validate(client: TestClient, target: str, kind: str, output: str) -> None:
    build_id = create(client, "success", [target])["id"]
    advance(client, 120)
    query = {"build_id": build_id, "target": target, "type": kind, "output": output}
    got = call(
        client, "GET", "/v0/build_target_outputs", "TargetOutputRetrieveResponse", params=query
    )
    assert got["output"] == output and got["target"] == target and got["type"] == kind


def test_bundled_fixtures_validate() -> None:
    with TestClient(make_app("stainless", fixtures=Path("fixtures"))) as c:
        for project in ("acme-api", "petstore"):
            page = call(c, "GET", "/v0/builds", "BuildsPage", params={"project": project})
            for build in page["data"]:
                call(c, "GET", f"/v0/builds/{build['id']}", "Build")


def test_the_snapshot_rejects_the_shapes_the_mock_used_to_send(client: TestClient) -> None:
    build = create(client, "success", ["python"])
    advance(client, 120)
    done = call(client, "GET", f"/v0/builds/{build['id']}", "Build")
    python = done["targets"]["python"]
    python["commit"] = {"status": "completed", "completed": python["commit"]["completed"]}
    python["lint"] = {"status": "completed", "completed": python["lint"]["completed"]}
    found = "\n".join(SNAP.errors("Build", done))
    assert "$.targets.python.commit" in found and "$.targets.python.lint" in found
    assert SNAP.errors("BuildsPage", {"data": [], "has_more": False})
    assert SNAP.errors("BuildsPage", {"next_cursor": "cur_1"})
