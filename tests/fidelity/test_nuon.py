"""The Nuon mock against Nuon's own schemas (nuon-python's models): every operation, every lifecycle point."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
import yaml
from starlette.testclient import TestClient

from buildmock.settings import FIXTURES_DIR, SPECS_DIR
from tests.cases.nuon import APP, HEADERS
from tests.conftest import advance, make_app
from tests.fidelity.strict import load, spec_operations
from tests.vendors.test_nuon import _resolve

SNAPSHOT = load("nuon")
SPEC = yaml.safe_load((SPECS_DIR / "nuon.yaml").read_text())
COMPONENT = "cmpwi146p6io410dd3uopq4chl"
SECOND_COMPONENT = "cmp7k2m9q4x8v1n5b3c6d0f2ha"


def _template(method: str, path: str) -> str:
    """The snapshot operation a concrete request path belongs to."""
    for operation in SNAPSHOT.operations:
        verb, template = operation.split(" ", 1)
        pattern = re.sub(r"\{[^}]+\}", "[^/]+", template)
        if (
            verb == method
            and re.fullmatch(pattern, path)
            and not (template.endswith("{build_id}") and path.endswith("/latest"))
        ):
            return operation
    raise AssertionError(f"{method} {path} is not a Nuon build operation")


def call(client: TestClient, method: str, url: str, **kwargs: Any) -> Any:
    """One request; its answer must be the snapshot's status and a strict instance of its model."""
    path = url.split("?", 1)[0]
    operation = _template(method, path)
    headers = {**HEADERS, **kwargs.pop("headers", {})}
    response = client.request(method, f"/nuon{url}", headers=headers, **kwargs)
    expected = SNAPSHOT.operations[operation]
    if response.status_code == expected["status"]:
        SNAPSHOT.check(expected["schema"], response.json(), f"{method} {url}")
    else:
        assert response.status_code in expected["error_statuses"], (operation, response.text)
        SNAPSHOT.check(expected["error_schema"], response.json(), f"{method} {url}")
    return response


@pytest.fixture
def client() -> Iterator[TestClient]:
    """A Nuon mock on a manual clock, with the shipped fixtures (an org, an app, components, builds)."""
    with TestClient(make_app("nuon", fixtures=FIXTURES_DIR)) as c:
        yield c


def _every_read(client: TestClient, build: dict[str, Any]) -> list[str]:
    """Read ``build`` through every read operation and return the statuses seen."""
    scoped = f"/v1/apps/{APP}/components/{build['component_id']}/builds"
    seen = []
    for url in (
        f"/v1/components/builds/{build['id']}",
        f"/v1/components/{build['component_id']}/builds/{build['id']}",
        f"{scoped}/{build['id']}",
    ):
        seen.append(call(client, "GET", url).json()["status"])
    call(client, "GET", f"/v1/components/{build['component_id']}/builds/latest")
    call(client, "GET", f"{scoped}/latest")
    call(client, "GET", f"/v1/builds?component_id={build['component_id']}&limit=2")
    call(client, "GET", f"/v1/builds?app_id={APP}&limit=3")
    call(client, "GET", f"{scoped}?limit=1&page=2")
    call(client, "GET", "/v1/component-builds?limit=2")
    return seen


def _follow(client: TestClient, prefer: str, *, cancel_at: str | None = None) -> list[str]:
    """Create a build and read it through every operation at each step until it ends."""
    created = call(
        client, "POST", f"/v1/apps/{APP}/components/{COMPONENT}/builds",
        json={"git_ref": "main"}, headers={"Prefer": f"outcome={prefer}"},
    ).json()  # fmt: skip
    statuses = [created["status"]]
    for _ in range(120):
        status = _every_read(client, created)[0]
        statuses.append(status)
        if status == cancel_at:
            url = f"/v1/apps/{APP}/components/{COMPONENT}/builds/{created['id']}/cancel"
            statuses.append(call(client, "POST", url).json()["status"])
            statuses.append(_every_read(client, created)[0])
            break
        if status in ("active", "error", "cancelled"):
            break
        advance(client, 1.0)
    return statuses


def test_component_build_lifecycle_is_strictly_nuon(client: TestClient) -> None:
    ok = _follow(client, "active")
    assert ok[0] == "queued" and {"planning", "building"} <= set(ok) and ok[-1] == "active"
    failed = _follow(client, "error")
    assert failed[-1] == "error"
    cancelled = _follow(client, "active", cancel_at="building")
    assert cancelled[-1] == "cancelled"
    queued_cancel = _follow(client, "active", cancel_at="queued")
    assert queued_cancel[-1] == "cancelled"


def test_other_operations_and_errors_are_strictly_nuon(client: TestClient) -> None:
    created = call(
        client, "POST", f"/v1/components/{SECOND_COMPONENT}/builds", json={"use_latest": True}
    ).json()
    advance(client, 120)
    call(client, "GET", f"/v1/components/builds/{created['id']}")
    built = call(client, "POST", f"/v1/apps/{APP}/components/build-all", json={}).json()
    assert {b["component_id"] for b in built} >= {COMPONENT, SECOND_COMPONENT}
    # the org's history, paged by cursor until it ends
    page = call(client, "GET", "/v1/component-builds?limit=3").json()
    pages = 1
    while "next_cursor" in page:
        page = call(
            client, "GET", f"/v1/component-builds?limit=3&cursor={page['next_cursor']}"
        ).json()
        pages += 1
    assert pages > 1 and "previous_cursor" in page
    # the builds an app branch run (declared in the fixtures) triggered, oldest first
    branch = f"/v1/apps/{APP}/branches/abr4q2w8e6r0t3y7u1i5o9p2as/runs"
    run_builds = call(client, "GET", f"{branch}/arn8d3f6g9h2j5k1l4z7x0c3vb/builds").json()
    assert [b["app_branch_run_id"] for b in run_builds] == ["arn8d3f6g9h2j5k1l4z7x0c3vb"] * 2
    assert call(client, "GET", f"{branch}/arn000000000000000000000000/builds").status_code == 404
    # errors in Nuon's shape
    assert (
        call(client, "GET", "/v1/components/builds/bld00000000000000000000000").status_code == 404
    )
    bad = call(client, "POST", f"/v1/components/{COMPONENT}/builds", json={"use_latest": False})
    assert bad.status_code == 400
    finished = call(client, "GET", f"/v1/apps/{APP}/components/{COMPONENT}/builds/latest").json()
    assert call(client, "GET", "/v1/component-builds?cursor=zz").status_code == 400
    assert finished["status"] in ("active", "error", "cancelled", "queued")


def test_every_nuon_build_operation_is_covered_and_reached(client: TestClient) -> None:
    total = set(SNAPSHOT.operations)
    covered = total & spec_operations(SPEC)
    missing = total - covered
    excused = {key for key in SNAPSHOT.not_modelled if key.split(" ", 1)[0] in ("GET", "POST")}
    assert missing == excused, "uncovered operations need a reason in not_modelled"
    extra = spec_operations(SPEC) - total
    assert not extra, f"the spec has operations Nuon's client lacks: {extra}"
    print(f"\nnuon operations covered: {len(covered)}/{len(total)}")


def test_the_spec_names_its_source() -> None:
    source = SPEC["info"]["x-buildmock-source"]
    assert SNAPSHOT.source["name"] in source and SNAPSHOT.source["version"] in source


def _bodies(model: str) -> list[dict[str, Any]]:
    """Request bodies Nuon's model accepts: every field it lists, and a key it does not (its schema is open)."""
    properties = SNAPSHOT.definitions[model].get("properties", {})
    samples = {"string": "main", "boolean": True}
    full = {name: samples[schema["type"]] for name, schema in properties.items()}
    return [full, {**full, "unknown_to_nuon": 1}]


@pytest.mark.parametrize(
    "operation", sorted(op for op, facts in SNAPSHOT.operations.items() if "request" in facts)
)
def test_request_bodies_nuon_accepts_are_accepted(client: TestClient, operation: str) -> None:
    method, template = operation.split(" ", 1)
    url = template.format(app_id=APP, component_id=COMPONENT)
    for body in _bodies(SNAPSHOT.operations[operation]["request"]):
        response = call(client, method, url, json=body)
        assert response.status_code == SNAPSHOT.operations[operation]["status"], response.text


def _spec_operation(operation: str) -> dict[str, Any]:
    method, path = operation.split(" ", 1)
    return SPEC["paths"][path][method.lower()]  # type: ignore[no-any-return]


@pytest.mark.parametrize("operation", sorted(SNAPSHOT.operations))
def test_parameters_and_statuses_are_nuon_s(operation: str) -> None:
    spec = _spec_operation(operation)
    facts = SNAPSHOT.operations[operation]
    parameters = {}
    for parameter in map(_resolve, spec.get("parameters", [])):
        fact = {"in": parameter["in"], "required": parameter.get("required", False)}
        if "default" in parameter["schema"]:
            fact["default"] = parameter["schema"]["default"]
        parameters[parameter["name"]] = fact
    assert parameters == facts["parameters"]
    statuses = {int(status) for status in spec["responses"]}
    assert facts["status"] in statuses and set(facts["error_statuses"]) <= statuses
    assert ("requestBody" in spec) == ("request" in facts)


#: Nuon's models and the spec schemas that describe them field by field.
MODELLED = {
    "AppComponentBuild": "app.ComponentBuild",
    "AppRunnerJob": "app.RunnerJob",
    "AppRunnerJobExecution": "app.RunnerJobExecution",
    "AppRunnerJobExecutionOutputs": "app.RunnerJobExecutionOutputs",
    "AppRunnerJobExecutionResult": "app.RunnerJobExecutionResult",
    "AppLogStream": "app.LogStream",
    "AppVCSConnectionCommit": "app.VCSConnectionCommit",
    "AppComponentRelease": "app.ComponentRelease",
    "AppComponentReleaseStep": "app.ComponentReleaseStep",
    "AppInstallDeploy": "app.InstallDeploy",
    "ServiceOrgComponentBuildHistoryResponse": "service.OrgComponentBuildHistoryResponse",
    "ServiceOrgComponentBuildHistoryItem": "service.OrgComponentBuildHistoryItem",
    "StderrErrResponse": "stderr.ErrResponse",
}


def _vendor(schema: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        schema = SNAPSHOT.definitions[schema["$ref"].rsplit("/", 1)[1]]
    return schema


@pytest.mark.parametrize("model", sorted(MODELLED))
def test_spec_schemas_have_nuon_s_fields_types_and_enums(model: str) -> None:
    ours = SPEC["components"]["schemas"][MODELLED[model]]
    theirs = SNAPSHOT.definitions[model]
    assert set(ours["properties"]) == set(theirs["properties"])
    assert "required" not in ours and "required" not in theirs  # Nuon requires no field
    for name, schema in ours["properties"].items():
        mine, vendor = _resolve(schema), _vendor(theirs["properties"][name])
        assert mine["type"] == vendor["type"], name
        assert mine.get("enum") == vendor.get("enum"), name
        assert not mine.get("nullable"), name
        if vendor["type"] == "array":
            assert _resolve(mine["items"])["type"] == _vendor(vendor["items"])["type"], name
