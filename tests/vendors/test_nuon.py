"""Nuon-specific behaviour: org header, lifecycle sentences, cancel, latest, app scope, paging, fixtures."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from starlette.testclient import TestClient

from buildmock.fixtures import FixtureError
from buildmock.settings import FIXTURES_DIR, SPECS_DIR
from tests.cases.nuon import APP, CASE, COMPONENT, HEADERS, ORG
from tests.conftest import advance, make_app

ID = re.compile(r"^[a-z]{3}[0-9a-z]{23}$")
OTHER_APP = "app0000000000000000000000b"
OTHER_COMPONENT = "cmp0000000000000000000000c"
SPEC = yaml.safe_load((SPECS_DIR / "nuon.yaml").read_text())


@pytest.fixture
def client() -> Iterator[TestClient]:
    """A fresh Nuon mock on a manual clock, without fixtures."""
    with TestClient(make_app("nuon")) as c:
        yield c


def create(client: TestClient, body: Any = None, *, app: str | None = APP, component: str = COMPONENT,
           prefer: str | None = None, headers: dict[str, str] | None = None) -> Any:  # fmt: skip
    """POST a build (app-scoped unless ``app`` is None)."""
    path = (
        f"/nuon/v1/apps/{app}/components/{component}/builds"
        if app
        else f"/nuon/v1/components/{component}/builds"
    )
    extra = {"Prefer": f"outcome={prefer}"} if prefer else {}
    return client.post(path, json={"git_ref": "main"} if body is None else body,
                       headers={**(headers or HEADERS), **extra})  # fmt: skip


def get(client: TestClient, build: dict[str, Any]) -> dict[str, Any]:
    """Read a build back by id."""
    response = client.get(f"/nuon/v1/components/builds/{build['id']}", headers=HEADERS)
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]


# -- auth -----------------------------------------------------------------------------------------


def test_missing_org_is_403_and_missing_token_401(client: TestClient) -> None:
    no_org = client.get(
        "/nuon/v1/components/builds/bld00000000000000000000000",
        headers={"Authorization": "Bearer test-token"},
    )
    assert no_org.status_code == 403 and CASE.is_error(no_org.json())
    bad_org = client.get("/nuon/v1/components/builds/bld00000000000000000000000",
                         headers={**HEADERS, "X-Nuon-Org-ID": "acme"})  # fmt: skip
    assert bad_org.status_code == 403
    no_token = client.get(
        "/nuon/v1/components/builds/bld00000000000000000000000", headers={"X-Nuon-Org-ID": ORG}
    )
    assert no_token.status_code == 401
    assert no_token.json()["user_error"] is True


def test_builds_are_scoped_to_the_org(client: TestClient) -> None:
    build = create(client).json()
    other = {**HEADERS, "X-Nuon-Org-ID": "org0000000000000000000000z"}
    assert client.get(f"/nuon/v1/components/builds/{build['id']}", headers=other).status_code == 404
    assert create(client, headers=other).status_code == 404  # the component belongs to ORG now


# -- ids, commit, body rules --------------------------------------------------------------------


def test_ids_are_nuon_shaped(client: TestClient) -> None:
    advance(client, 1)
    build = create(client).json()
    advance(client, 600)
    build = get(client, build)
    job = build["runner_job"]
    execution = job["executions"][0]
    expected = {
        "bld": [build["id"], job["owner_id"], build["log_stream"]["owner_id"]],
        "cmp": [build["component_id"], build["component_config_connection_id"]],
        "acc": [build["created_by_id"], job["created_by_id"]],
        "org": [job["org_id"], build["log_stream"]["org_id"]],
        "job": [job["id"], execution["runner_job_id"]],
        "log": [build["log_stream"]["id"], job["log_stream_id"]],
        "vcs": [build["vcs_connection_commit"]["id"]],
        "run": [
            job["runner_id"],
            execution["id"],
            execution["outputs"]["id"],
            execution["result"]["id"],
        ],
    }
    for prefix, values in expected.items():
        for value in values:
            assert ID.match(value) and value.startswith(prefix), (prefix, value)
    assert job["log_stream_id"] == build["log_stream"]["id"]
    assert job["final_runner_job_execution_id"] == execution["id"]


def test_git_ref_required_unless_use_latest(client: TestClient) -> None:
    for body in ({}, {"use_latest": False}, {"git_ref": ""}):
        response = create(client, body)
        assert response.status_code == 400, body
        assert CASE.is_error(response.json())
    latest = create(client, {"use_latest": True}).json()
    commit = latest["vcs_connection_commit"]
    assert re.fullmatch(r"[0-9a-f]{40}", commit["sha"]) and latest["git_ref"] == commit["sha"]
    assert "@" in commit["author_email"] and " " in commit["author_name"] and commit["message"]
    sha = "11f6ad8ec52a2984abaafd7c3b516503785c2072"
    pinned = create(client, {"git_ref": sha}).json()
    assert pinned["git_ref"] == sha and pinned["vcs_connection_commit"]["sha"] == sha


def test_ill_formed_ids_are_404_in_nuon_shape(client: TestClient) -> None:
    for path in (
        "/nuon/v1/components/builds/not-a-build",
        "/nuon/v1/components/component-1/builds/latest",
        f"/nuon/v1/apps/app-1/components/{COMPONENT}/builds",
        "/nuon/v1/builds?component_id=CMPWI146P6IO410DD3UOPQ4CHL",
    ):
        response = client.get(path, headers=HEADERS)
        assert response.status_code == 404, path
        assert CASE.is_error(response.json())
    assert create(client, app="app-1").status_code == 404
    assert create(client, component="cmp123").status_code == 404


def test_unknown_prefer_outcome_is_400(client: TestClient) -> None:
    assert create(client, prefer="sideways").status_code == 400


# -- lifecycle ----------------------------------------------------------------------------------


def test_lifecycle_statuses_descriptions_and_runner_job_in_step(client: TestClient) -> None:
    build = create(client, prefer="active").json()
    seen = []
    for _ in range(120):
        now = get(client, build)
        job = now["runner_job"]
        seen.append(
            (now["status"], now["status_description"], job["status"], job["execution_count"])
        )
        assert len(job["executions"]) == job["execution_count"]
        assert now["log_stream"]["open"] is (now["status"] not in ("active", "error", "cancelled"))
        if now["status"] == "active":
            break
        advance(client, 1)
    steps = list(dict.fromkeys(seen))
    assert steps == [
        ("queued", "queued and waiting for runner to pick up", "queued", 0),
        ("planning", "creating build plan", "queued", 0),
        ("building", "building", "in-progress", 1),
        ("active", "build is active and ready to be deployed", "finished", 1),
    ]
    job = now["runner_job"]
    execution = job["executions"][0]
    assert execution["status"] == "finished" and execution["result"]["success"] is True
    assert job["started_at"] <= job["finished_at"] and job["execution_time"] > 0
    assert (
        job["outputs_json"] == execution["outputs"]["outputs_json"]
    )  # a string, as in Nuon's schema
    assert now["updated_at"] == job["finished_at"]


def test_forced_error(client: TestClient) -> None:
    build = create(client, prefer="error").json()
    advance(client, 600)
    final = get(client, build)
    assert final["status"] == "error"
    assert final["status_description"] in (
        "unable to get component build plan",
        "build did not complete successfully",
    )
    assert final["runner_job"]["status"] == "failed"
    if final["runner_job"]["executions"]:
        assert final["runner_job"]["executions"][0]["result"]["success"] is False


def test_cancel_running_build_and_finished_ones_stay_as_they_are(client: TestClient) -> None:
    build = create(client, prefer="active").json()
    advance(client, 5)
    path = f"/nuon/v1/apps/{APP}/components/{COMPONENT}/builds/{build['id']}/cancel"
    cancelled = client.post(path, headers=HEADERS)
    assert cancelled.status_code == 202, cancelled.text
    body = cancelled.json()
    assert body["status"] == "cancelled" and body["runner_job"]["status"] == "cancelled"
    assert (
        body["status_description"] == "build was cancelled" and body["log_stream"]["open"] is False
    )
    advance(client, 600)
    assert get(client, build)["status"] == "cancelled"
    again = client.post(path, headers=HEADERS)
    assert again.status_code == 202 and again.json() == get(client, build)
    done = create(client, prefer="active").json()
    advance(client, 600)
    refused = client.post(
        f"/nuon/v1/apps/{APP}/components/{COMPONENT}/builds/{done['id']}/cancel", headers=HEADERS
    )
    assert refused.status_code == 202  # Nuon's cancel lists no 409: a finished build stays as it is
    assert refused.json()["status"] == "active" and get(client, done)["status"] == "active"


# -- latest, app-scoped twins, paging -------------------------------------------------------------


def test_latest_is_the_newest_build(client: TestClient) -> None:
    path = f"/nuon/v1/components/{COMPONENT}/builds/latest"
    assert client.get(path, headers=HEADERS).status_code == 404
    create(client)
    newest = create(client, {"git_ref": "feature/x"}).json()
    assert client.get(path, headers=HEADERS).json()["id"] == newest["id"]
    scoped = client.get(
        f"/nuon/v1/apps/{APP}/components/{COMPONENT}/builds/latest", headers=HEADERS
    )
    assert scoped.json()["id"] == newest["id"]


def test_app_scoped_twins_agree_and_check_the_app(client: TestClient) -> None:
    build = create(
        client, app=None, component=OTHER_COMPONENT
    ).json()  # pinned to an app derived from its id
    unscoped = client.get(
        f"/nuon/v1/components/{OTHER_COMPONENT}/builds/{build['id']}", headers=HEADERS
    )
    assert unscoped.status_code == 200
    assert client.get(f"/nuon/v1/apps/{APP}/components/{OTHER_COMPONENT}/builds/{build['id']}",
                      headers=HEADERS).status_code == 404  # fmt: skip
    mine = create(client).json()
    twin = client.get(
        f"/nuon/v1/apps/{APP}/components/{COMPONENT}/builds/{mine['id']}", headers=HEADERS
    )
    assert twin.json() == get(client, mine)
    assert client.get(f"/nuon/v1/apps/{OTHER_APP}/components/{COMPONENT}/builds/{mine['id']}",
                      headers=HEADERS).status_code == 404  # fmt: skip
    assert (
        client.get(
            f"/nuon/v1/components/{OTHER_COMPONENT}/builds/{mine['id']}", headers=HEADERS
        ).status_code
        == 404
    )
    assert create(client, app=OTHER_APP).status_code == 404
    listed = client.get(
        f"/nuon/v1/apps/{APP}/components/{COMPONENT}/builds", headers=HEADERS
    ).json()
    assert [b["id"] for b in listed] == [mine["id"]]


def test_paging_headers(client: TestClient) -> None:
    made = [create(client).json()["id"] for _ in range(5)]
    first = client.get(f"/nuon/v1/builds?component_id={COMPONENT}&limit=2", headers=HEADERS)
    assert [b["id"] for b in first.json()] == made[::-1][:2]
    assert first.headers["X-Nuon-Page-Next"] == "true"
    assert (first.headers["X-Nuon-Page-Offset"], first.headers["X-Nuon-Page-Limit"]) == ("0", "2")
    assert "X-Nuon-Page-Number" not in first.headers
    last = client.get(f"/nuon/v1/builds?component_id={COMPONENT}&limit=2&offset=4", headers=HEADERS)
    assert [b["id"] for b in last.json()] == [made[0]] and last.headers[
        "X-Nuon-Page-Next"
    ] == "false"
    page = client.get(
        f"/nuon/v1/apps/{APP}/components/{COMPONENT}/builds?limit=2&page=2", headers=HEADERS
    )
    assert [b["id"] for b in page.json()] == made[::-1][2:4]
    assert (page.headers["X-Nuon-Page-Offset"], page.headers["X-Nuon-Page-Number"]) == ("2", "2")
    clamped = client.get(f"/nuon/v1/builds?component_id={COMPONENT}&limit=5000", headers=HEADERS)
    assert clamped.headers["X-Nuon-Page-Limit"] == "100" and len(clamped.json()) == 5
    assert (
        client.get(f"/nuon/v1/builds?component_id={COMPONENT}&limit=0", headers=HEADERS).status_code
        == 400
    )
    huge = client.get(f"/nuon/v1/builds?component_id={COMPONENT}&offset={10**19}", headers=HEADERS)
    assert (huge.status_code, huge.json()) == (200, [])
    neither = client.get("/nuon/v1/builds", headers=HEADERS)
    assert neither.status_code == 400 and CASE.is_error(neither.json())


def test_builds_of_an_app_list_every_component_newest_first(client: TestClient) -> None:
    made = [create(client, component=c).json() for c in (COMPONENT, OTHER_COMPONENT, COMPONENT)]
    listed = client.get(f"/nuon/v1/builds?app_id={APP}&limit=2", headers=HEADERS)
    assert [b["id"] for b in listed.json()] == [made[2]["id"], made[1]["id"]]
    assert listed.headers["X-Nuon-Page-Next"] == "true"
    both = client.get(
        f"/nuon/v1/builds?app_id={APP}&component_id={OTHER_COMPONENT}", headers=HEADERS
    )
    assert [b["id"] for b in both.json()] == [made[1]["id"]]  # the component wins, as in Nuon
    other = {**HEADERS, "X-Nuon-Org-ID": "org0000000000000000000000z"}
    assert client.get(f"/nuon/v1/builds?app_id={APP}", headers=other).json() == []
    assert client.get(f"/nuon/v1/builds?app_id={OTHER_APP}", headers=HEADERS).json() == []


# -- fixtures -----------------------------------------------------------------------------------


@pytest.fixture
def fixture_client() -> Iterator[TestClient]:
    """A Nuon mock with ``fixtures/nuon.yaml`` loaded."""
    with TestClient(make_app("nuon", fixtures=FIXTURES_DIR)) as c:
        yield c


def test_fixtures_load_builds_in_several_states(fixture_client: TestClient) -> None:
    statuses = {}
    released = None
    for component in (
        "cmpwi146p6io410dd3uopq4chl",
        "cmp7k2m9q4x8v1n5b3c6d0f2ha",
        "cmp3t8w1y6r0e4u9i2o7p5a1sd",
    ):
        listed = fixture_client.get(
            f"/nuon/v1/apps/{APP}/components/{component}/builds", headers=HEADERS
        )
        assert listed.status_code == 200, listed.text
        for build in listed.json():
            statuses[build["status"]] = build
            released = build if build["releases"] else released
    assert {"active", "error", "cancelled", "building", "queued"} <= set(statuses)
    assert released is not None and released["status"] == "active"
    assert released["releases"][0]["release_steps"][0]["requested_install_ids"] == [
        "inlxdy8embkkcdc68f85go6rqy", "inl2r9c0v7n4m1b8x5z3q6w0ke",
    ]  # fmt: skip
    assert (
        len(released["install_deploys"]) == 2
        and released["install_deploys"][0]["status"] == "active"
    )
    other_org = {**HEADERS, "X-Nuon-Org-ID": "org0000000000000000000000z"}
    assert (
        fixture_client.get(
            f"/nuon/v1/components/builds/{released['id']}", headers=other_org
        ).status_code
        == 404
    )


@pytest.mark.parametrize(
    ("change", "field"),
    [
        (lambda d: d["builds"][0].update(git_ref=7), "builds[0].git_ref"),
        (lambda d: d["builds"][1].update(outcome="green"), "builds[1].outcome"),
        (lambda d: d["builds"][0].pop("git_ref"), "builds[0]"),
        (lambda d: d["components"][0].update(id="component-1"), "components[0].id"),
        (lambda d: d["apps"][0].update(org_id="org0000000000000000000000z"), "apps[0].org_id"),
        (lambda d: d["builds"][4].update(released_to=["inl1"]), "builds[4].released_to[0]"),
        (lambda d: d["builds"][2].update(cancel_after=99999), "builds[2].cancel_after"),
        (lambda d: d["builds"][3].update(age="old"), "builds[3].age"),
        (lambda d: d["app_branches"][0].update(runs=["run1"]), "app_branches[0].runs[0]"),
        (
            lambda d: d["app_branches"][0].update(app_id="app0000000000000000000000b"),
            "app_branches[0].app_id",
        ),
        (
            lambda d: d["builds"][5].update(app_branch_run_id="arn0000000000000000000000x"),
            "builds[5].app_branch_run_id",
        ),
    ],
)
def test_bad_fixture_names_file_and_field(tmp_path: Path, change: Any, field: str) -> None:
    data = yaml.safe_load((FIXTURES_DIR / "nuon.yaml").read_text())
    change(data)
    (tmp_path / "nuon.yaml").write_text(yaml.safe_dump(data))
    with pytest.raises(FixtureError) as caught:
        make_app("nuon", fixtures=tmp_path)
    assert str(tmp_path / "nuon.yaml") in str(caught.value)
    assert f": {field}" in str(caught.value)


# -- org history, build-all, app branch runs -------------------------------------------------------


def test_org_history_pages_newest_first_by_cursor(client: TestClient) -> None:
    made = [create(client, component=c).json() for c in (COMPONENT, OTHER_COMPONENT) * 3]
    first = client.get("/nuon/v1/component-builds?limit=4", headers=HEADERS).json()
    assert [i["build"]["id"] for i in first["items"]] == [b["id"] for b in reversed(made)][:4]
    assert "previous_cursor" not in first and first["next_cursor"].startswith("cur_")
    item = first["items"][0]
    assert (item["app_id"], item["component_id"], item["component_name"]) == (
        APP, OTHER_COMPONENT, made[-1]["component_name"],
    )  # fmt: skip
    assert item["build_runner_job_id"] == item["build"]["runner_job"]["id"]
    second = client.get(
        f"/nuon/v1/component-builds?limit=4&cursor={first['next_cursor']}", headers=HEADERS
    ).json()
    assert [i["build"]["id"] for i in second["items"]] == [made[1]["id"], made[0]["id"]]
    assert "next_cursor" not in second
    back = client.get(
        f"/nuon/v1/component-builds?limit=4&cursor={second['previous_cursor']}", headers=HEADERS
    ).json()
    assert back["items"] == first["items"]
    other = {**HEADERS, "X-Nuon-Org-ID": "org0000000000000000000000z"}
    assert client.get("/nuon/v1/component-builds", headers=other).json() == {"items": []}


@pytest.mark.parametrize("query", ["limit=0", "limit=101", "cursor=bm90LWEtY3Vyc29y"])
def test_org_history_refuses_bad_limits_and_cursors(client: TestClient, query: str) -> None:
    refused = client.get(f"/nuon/v1/component-builds?{query}", headers=HEADERS)
    assert refused.status_code == 400 and CASE.is_error(refused.json())


def test_build_all_builds_the_latest_commit_of_each_component_of_the_app(
    fixture_client: TestClient,
) -> None:
    built = fixture_client.post(
        f"/nuon/v1/apps/{APP}/components/build-all", json={}, headers=HEADERS
    )
    assert built.status_code == 201, built.text
    builds = built.json()
    assert [b["component_id"] for b in builds] == [
        "cmpwi146p6io410dd3uopq4chl", "cmp7k2m9q4x8v1n5b3c6d0f2ha", "cmp3t8w1y6r0e4u9i2o7p5a1sd",
    ]  # fmt: skip
    assert all(b["status"] == "queued" and ID.match(b["id"]) for b in builds)
    assert all(b["git_ref"] == b["vcs_connection_commit"]["sha"] for b in builds)  # use_latest
    for build in builds:
        assert get(fixture_client, build)["id"] == build["id"]
    empty = fixture_client.post(
        f"/nuon/v1/apps/{OTHER_APP}/components/build-all", json={}, headers=HEADERS
    )
    assert (empty.status_code, empty.json()) == (201, [])
    other = {**HEADERS, "X-Nuon-Org-ID": "org0000000000000000000000z"}
    foreign = fixture_client.post(
        f"/nuon/v1/apps/{APP}/components/build-all", json={}, headers=other
    )
    assert foreign.json() == []
    ill_formed = fixture_client.post(
        "/nuon/v1/apps/acme/components/build-all", json={}, headers=HEADERS
    )
    assert ill_formed.status_code == 404 and CASE.is_error(ill_formed.json())


def test_app_branch_run_builds_come_from_fixtures_oldest_first(fixture_client: TestClient) -> None:
    branch = f"/nuon/v1/apps/{APP}/branches/abr4q2w8e6r0t3y7u1i5o9p2as"
    run = "arn8d3f6g9h2j5k1l4z7x0c3vb"
    builds = fixture_client.get(f"{branch}/runs/{run}/builds", headers=HEADERS)
    assert builds.status_code == 200, builds.text
    assert [(b["app_branch_id"], b["app_branch_run_id"]) for b in builds.json()] == [
        ("abr4q2w8e6r0t3y7u1i5o9p2as", run)
    ] * 2
    assert [b["component_name"] for b in builds.json()] == ["api", "postgres"]
    other = {**HEADERS, "X-Nuon-Org-ID": "org0000000000000000000000z"}
    for path, headers in (
        (f"{branch}/runs/arn0000000000000000000000x/builds", HEADERS),
        (f"{branch}/runs/{run}/builds", other),
        (
            f"/nuon/v1/apps/{OTHER_APP}/branches/abr4q2w8e6r0t3y7u1i5o9p2as/runs/{run}/builds",
            HEADERS,
        ),
    ):
        missing = fixture_client.get(path, headers=headers)
        assert missing.status_code == 404 and CASE.is_error(missing.json())


# -- the JSON types a client generated from Nuon's swagger expects ------------------------------


def _resolve(schema: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        node: Any = SPEC
        for part in schema["$ref"].lstrip("#/").split("/"):
            node = node[part]
        schema = node
    return schema


_JSON_TYPES: dict[str, Any] = {"string": str, "boolean": bool, "array": list, "object": dict}


def assert_client_types(schema: dict[str, Any], value: Any, where: str = "$") -> None:
    """Every value has exactly its declared JSON type; no nulls; no fields the spec does not name."""
    schema = _resolve(schema)
    assert value is not None, f"{where}: null (generated clients do not accept null here)"
    kind = schema.get("type")
    if kind == "integer":
        assert isinstance(value, int) and not isinstance(value, bool), (
            f"{where}: {value!r} is not an integer"
        )
    elif kind in _JSON_TYPES:
        assert isinstance(value, _JSON_TYPES[kind]), f"{where}: {value!r} is not a {kind}"
    if "enum" in schema:
        assert value in schema["enum"], f"{where}: {value!r} not in {schema['enum']}"
    if schema.get("format") == "date-time":
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z", value), (
            f"{where}: {value!r}"
        )
    if kind == "array":
        for index, item in enumerate(value):
            assert_client_types(schema["items"], item, f"{where}[{index}]")
    if kind == "object":
        properties = schema.get("properties", {})
        # a plain ``type: object`` is a free-form map; one with properties is a model
        extra = schema.get("additionalProperties", None if properties else True)
        for name in schema.get("required", []):
            assert name in value, f"{where}.{name}: missing"
        for name, item in value.items():
            if name in properties:
                assert_client_types(properties[name], item, f"{where}.{name}")
            else:
                assert extra is not None, f"{where}.{name}: not in the spec"
                if extra not in (True, {}):
                    assert_client_types(extra, item, f"{where}.{name}")


def test_every_field_has_the_json_type_nuon_clients_expect(fixture_client: TestClient) -> None:
    schema = {"$ref": "#/components/schemas/app.ComponentBuild"}
    builds = [create(fixture_client, prefer=p).json() for p in ("active", "error", "active")]
    fixture_client.post(
        f"/nuon/v1/apps/{APP}/components/{COMPONENT}/builds/{builds[2]['id']}/cancel",
        headers=HEADERS,
    )
    checked = 0
    for _ in range(8):
        listed = fixture_client.get(
            f"/nuon/v1/builds?component_id={COMPONENT}&limit=100", headers=HEADERS
        ).json()
        others = fixture_client.get(f"/nuon/v1/apps/{APP}/components/cmp7k2m9q4x8v1n5b3c6d0f2ha/builds",
                                    headers=HEADERS).json()  # fmt: skip
        for build in [*listed, *others]:
            assert_client_types(schema, build)
            checked += 1
        advance(fixture_client, 6)
    assert checked >= 8 * 7
    error = fixture_client.get(
        "/nuon/v1/components/builds/bld00000000000000000000000", headers=HEADERS
    ).json()
    assert_client_types({"$ref": "#/components/schemas/stderr.ErrResponse"}, error)
