"""Escape (``/escape``): handlers for ``specs/escape.yaml``.

Builds, deployment jobs and pipelines are the same machinery (``domain.escape.Family``): the
helpers below do the store work once for all three, and each handler names its family.
"""

from __future__ import annotations

import functools
from typing import Any

from starlette.responses import Response

from buildmock.core.errors import ApiError
from buildmock.domain import escape as model
from buildmock.domain.escape import BUILD, DEPLOYMENT_JOB, PIPELINE, Family
from buildmock.fixtures import FixtureContext
from buildmock.vendors.base import (
    Headers,
    Runtime,
    Vendor,
    View,
    json_response,
    page,
    preferred_outcome,
    register,
    request_headers,
    same_token,
    stored_marks,
    text_response,
)

ALREADY_EXISTS = "Resource already exists"


def render_error(error: ApiError) -> Response:
    """Escape's errors: the status with a plain-text message (400, 409) or an empty body."""
    body = error.message if error.status in (400, 409) else ""
    return text_response(body, error.status, error.headers)


def authenticate(headers: Headers, settings: Any) -> None:
    """``X-Escape-Token: <token>``; missing, empty or (with ``--token``) wrong is a 401."""
    token = headers.get("x-escape-token", "").strip()
    if not token or (settings.token is not None and not same_token(token, settings.token)):
        raise ApiError(401, "")


def empty() -> Response:
    """The vendor's "Empty is good." answer."""
    return Response(b"", 200)


# -- helpers the handlers share ----------------------------------------------------------------


def scope(family: Family, project: str, environment: str | None = None) -> tuple[str, ...]:
    """The path names around a resource; an ill-formed one is a 404 (nothing can live there)."""
    names = family.scope(project, environment)
    if not all(model.valid_name(n) for n in names):
        raise ApiError(404, "")
    return names


def project_name(project: str) -> str:
    """A well-formed project name (projects exist implicitly), or a 404."""
    return scope(PIPELINE, project)[0]


def resource(rt: Runtime, family: Family, where: tuple[str, ...], name: str) -> dict[str, Any]:
    """The stored resource named ``name`` in ``where``, or a 404."""
    record = rt.store.get(family.kind, model.key(where, name))
    if record is None:
        raise ApiError(404, "")
    return record


def latest(rt: Runtime, family: Family, record: dict[str, Any]) -> dict[str, Any] | None:
    """The resource's latest execution, if it still exists."""
    return rt.store.get(family.execution_kind, record["latest"]) if record["latest"] else None


def render(rt: Runtime, family: Family, record: dict[str, Any]) -> dict[str, Any]:
    """A resource as the vendor sends it now."""
    return model.render_resource(family, record, latest(rt, family, record), rt.now())


def list_resources(rt: Runtime, family: Family, *where: str) -> Response:
    """Every resource of ``family`` under the names ``where`` (all of them without), oldest first."""
    if not all(model.valid_name(n) for n in where):
        raise ApiError(404, "")
    prefix = model.key(where, "") if where else ""
    found = [
        r for _, r in rt.store.scan(family.kind, newest_first=False) if r["key"].startswith(prefix)
    ]
    return json_response([render(rt, family, r) for r in found])


def add(rt: Runtime, family: Family, where: tuple[str, ...], body: dict[str, Any]) -> Response:
    """Add a resource; a second add of the same name is 409 ``Resource already exists``."""
    if rt.store.get(family.kind, model.key(where, body["name"])) is not None:
        raise ApiError(409, ALREADY_EXISTS)
    record = model.plan_resource(rt.synth, family, where, body, rt.now())
    rt.store.insert(family.kind, record["key"], record)
    return json_response(render(rt, family, record))


def update(
    rt: Runtime, family: Family, where: tuple[str, ...], name: str, body: dict[str, Any]
) -> Response:
    """Replace a resource's writable fields (the path names it; a body ``name`` is ignored)."""
    record = model.update_resource(rt.synth, family, resource(rt, family, where, name), body)
    rt.store.replace(family.kind, record["key"], record)
    return json_response(render(rt, family, record))


def delete(rt: Runtime, family: Family, where: tuple[str, ...], name: str) -> Response:
    """Delete a resource and its executions; answer the resource as it was."""
    record = resource(rt, family, where, name)
    shown = render(rt, family, record)
    doomed = [e["id"] for _, e in rt.store.scan(family.execution_kind) if e["key"] == record["key"]]
    for execution_id in doomed:
        rt.store.delete(family.execution_kind, execution_id)
    rt.store.delete(family.kind, record["key"])
    return json_response(shown)


#: ``Prefer: outcome=`` names: Escape's own and the generic ones every vendor accepts.
OUTCOME_NAMES = {"ok": "ok", "failed": "failed", "success": "ok", "failure": "failed"}


def start(rt: Runtime, family: Family, record: dict[str, Any]) -> Response:
    """Start a new execution (trigger or retry): 400 when disabled or while one is unfinished."""
    now = rt.now()
    if record["fields"].get("disabled"):
        raise ApiError(400, family.disabled())
    if model.is_unfinished(latest(rt, family, record), now):
        raise ApiError(400, family.still_running())
    forced = preferred_outcome(request_headers(), tuple(OUTCOME_NAMES))
    outcome = OUTCOME_NAMES[forced] if forced else model.DEFAULT_OUTCOME
    run_nr = rt.store.next_value(f"run_nr:{record['key']}") if family is PIPELINE else None
    execution = model.plan_execution(
        rt.synth, family, record, execution_id=rt.store.next_value(family.execution_kind),
        now=now, speed=rt.settings.speed, outcome=outcome, run_nr=run_nr,
    )  # fmt: skip
    rt.store.insert(family.execution_kind, execution["id"], execution)
    rt.store.replace(family.kind, record["key"], {**record, "latest": execution["id"]})
    return json_response({"id": execution["id"]})


def trigger(rt: Runtime, family: Family, where: tuple[str, ...], name: str) -> Response:
    """Trigger the named resource."""
    return start(rt, family, resource(rt, family, where, name))


def execution(
    rt: Runtime, family: Family, where: tuple[str, ...], name: str, execution_id: str
) -> dict[str, Any]:
    """The execution with this id of the named resource, or a 404."""
    found = rt.store.get(family.execution_kind, execution_id) if execution_id.isdigit() else None
    if found is None or found["key"] != model.key(where, name):
        raise ApiError(404, "")
    return found


def list_executions(
    rt: Runtime, family: Family, prefix: str | None, page_size: int, page_from: str | None
) -> Response:
    """Executions newest first, under ``prefix`` (a resource key or a scope), each id < page_from."""
    bound = model.page_keep(page_from)

    def keep(e: dict[str, Any]) -> bool:
        return model.below(e, bound) and (
            prefix is None or e["key"] == prefix or e["key"].startswith(prefix + "/")
        )

    records, _ = page(rt.store.scan(family.execution_kind), page_size, keep)
    return json_response([model.render_execution(family, e, rt.now()) for e in records])


def show_execution(rt: Runtime, family: Family, found: dict[str, Any]) -> Response:
    """An execution as the vendor sends it now."""
    return json_response(model.render_execution(family, found, rt.now()))


def cancel(rt: Runtime, family: Family, found: dict[str, Any]) -> Response:
    """Cancel an execution: an unfinished one fails now; a finished one is left alone."""
    rt.store.replace(family.execution_kind, found["id"], model.cancel(found, rt.now()))
    return empty()


def logs(rt: Runtime, family: Family, found: dict[str, Any]) -> Response:
    """The log lines of an execution so far."""
    return json_response(model.log_lines(family, found, rt.now()))


def append_logs(rt: Runtime, family: Family, found: dict[str, Any], body: list[str]) -> Response:
    """Append log lines to an execution."""
    rt.store.replace(family.execution_kind, found["id"], model.add_logs(found, body, rt.now()))
    return empty()


def retry(rt: Runtime, family: Family, found: dict[str, Any]) -> Response:
    """Start a new execution of the resource an execution belongs to."""
    record = rt.store.get(family.kind, found["key"])
    if record is None:
        raise ApiError(404, "")
    return start(rt, family, record)


# -- builds --------------------------------------------------------------------------------------


async def list_all_builds(rt: Runtime) -> Response:
    """GET /api/v1/builds/."""
    return list_resources(rt, BUILD)


async def list_project_builds(rt: Runtime, project: str) -> Response:
    """GET /api/v1/state/{project}/builds/."""
    return list_resources(rt, BUILD, project)


async def list_environment_builds(rt: Runtime, project: str, environment: str) -> Response:
    """GET …/environments/{environment}/builds/."""
    return list_resources(rt, BUILD, project, environment)


async def add_build(rt: Runtime, project: str, environment: str, body: dict[str, Any]) -> Response:
    """POST …/environments/{environment}/builds/."""
    return add(rt, BUILD, scope(BUILD, project, environment), body)


async def get_build(rt: Runtime, project: str, environment: str, build: str) -> Response:
    """GET …/builds/by-name/{build}/."""
    return json_response(
        render(rt, BUILD, resource(rt, BUILD, scope(BUILD, project, environment), build))
    )


async def update_build(
    rt: Runtime, project: str, environment: str, build: str, body: dict[str, Any]
) -> Response:
    """PUT …/builds/by-name/{build}/."""
    return update(rt, BUILD, scope(BUILD, project, environment), build, body)


async def delete_build(rt: Runtime, project: str, environment: str, build: str) -> Response:
    """DELETE …/builds/by-name/{build}/."""
    return delete(rt, BUILD, scope(BUILD, project, environment), build)


async def trigger_build(rt: Runtime, project: str, environment: str, build: str) -> Response:
    """POST …/builds/by-name/{build}/trigger."""
    return trigger(rt, BUILD, scope(BUILD, project, environment), build)


# -- build executions ----------------------------------------------------------------------------


def _build_execution(
    project: str, environment: str, build: str, build_execution_id: str, rt: Runtime
) -> dict[str, Any]:
    return execution(rt, BUILD, scope(BUILD, project, environment), build, build_execution_id)


async def list_all_build_executions(
    rt: Runtime, page_size: int = 20, page_from: str | None = None
) -> Response:
    """GET /api/v1/builds/executions/."""
    return list_executions(rt, BUILD, None, page_size, page_from)


async def list_project_build_executions(
    rt: Runtime, project: str, page_size: int = 20, page_from: str | None = None
) -> Response:
    """GET /api/v1/state/{project}/builds/executions/."""
    return list_executions(rt, BUILD, project_name(project), page_size, page_from)


async def list_build_executions(
    rt: Runtime,
    project: str,
    environment: str,
    build: str,
    page_size: int = 20,
    page_from: str | None = None,
) -> Response:
    """GET …/builds/by-name/{build}/executions/ (404 for an unknown build)."""
    record = resource(rt, BUILD, scope(BUILD, project, environment), build)
    return list_executions(rt, BUILD, record["key"], page_size, page_from)


async def get_build_execution(
    rt: Runtime, project: str, environment: str, build: str, build_execution_id: str
) -> Response:
    """GET …/executions/{build_execution_id}/."""
    return show_execution(
        rt, BUILD, _build_execution(project, environment, build, build_execution_id, rt)
    )


async def cancel_build_execution(
    rt: Runtime, project: str, environment: str, build: str, build_execution_id: str
) -> Response:
    """POST …/executions/{build_execution_id}/cancel."""
    return cancel(rt, BUILD, _build_execution(project, environment, build, build_execution_id, rt))


async def add_build_execution_commit(
    rt: Runtime,
    project: str,
    environment: str,
    build: str,
    build_execution_id: str,
    body: dict[str, Any],
) -> Response:
    """PUT …/executions/{build_execution_id}/commit."""
    updated = model.add_commit(
        _build_execution(project, environment, build, build_execution_id, rt), body
    )
    rt.store.replace(BUILD.execution_kind, updated["id"], updated)
    return show_execution(rt, BUILD, updated)


async def get_build_execution_logs(
    rt: Runtime, project: str, environment: str, build: str, build_execution_id: str
) -> Response:
    """GET …/executions/{build_execution_id}/logs."""
    return logs(rt, BUILD, _build_execution(project, environment, build, build_execution_id, rt))


async def add_build_execution_logs(
    rt: Runtime,
    project: str,
    environment: str,
    build: str,
    build_execution_id: str,
    body: list[str],
) -> Response:
    """POST …/executions/{build_execution_id}/logs."""
    return append_logs(
        rt, BUILD, _build_execution(project, environment, build, build_execution_id, rt), body
    )


async def retry_build_execution(
    rt: Runtime, project: str, environment: str, build: str, build_execution_id: str
) -> Response:
    """POST …/executions/{build_execution_id}/retry."""
    return retry(rt, BUILD, _build_execution(project, environment, build, build_execution_id, rt))


# -- deployment jobs -----------------------------------------------------------------------------


async def list_all_deployment_jobs(rt: Runtime) -> Response:
    """GET /api/v1/deployment-jobs/."""
    return list_resources(rt, DEPLOYMENT_JOB)


async def list_project_deployment_jobs(rt: Runtime, project: str) -> Response:
    """GET /api/v1/state/{project}/deployment-jobs/."""
    return list_resources(rt, DEPLOYMENT_JOB, project)


async def list_environment_deployment_jobs(rt: Runtime, project: str, environment: str) -> Response:
    """GET …/environments/{environment}/deployment-jobs/."""
    return list_resources(rt, DEPLOYMENT_JOB, project, environment)


async def add_deployment_job(
    rt: Runtime, project: str, environment: str, body: dict[str, Any]
) -> Response:
    """POST …/environments/{environment}/deployment-jobs/."""
    return add(rt, DEPLOYMENT_JOB, scope(DEPLOYMENT_JOB, project, environment), body)


async def get_deployment_job(
    rt: Runtime, project: str, environment: str, deployment_job: str
) -> Response:
    """GET …/deployment-jobs/by-name/{deployment_job}/."""
    where = scope(DEPLOYMENT_JOB, project, environment)
    return json_response(
        render(rt, DEPLOYMENT_JOB, resource(rt, DEPLOYMENT_JOB, where, deployment_job))
    )


async def update_deployment_job(
    rt: Runtime, project: str, environment: str, deployment_job: str, body: dict[str, Any]
) -> Response:
    """PUT …/deployment-jobs/by-name/{deployment_job}/."""
    return update(
        rt, DEPLOYMENT_JOB, scope(DEPLOYMENT_JOB, project, environment), deployment_job, body
    )


async def delete_deployment_job(
    rt: Runtime, project: str, environment: str, deployment_job: str
) -> Response:
    """DELETE …/deployment-jobs/by-name/{deployment_job}/."""
    return delete(rt, DEPLOYMENT_JOB, scope(DEPLOYMENT_JOB, project, environment), deployment_job)


async def trigger_deployment_job(
    rt: Runtime, project: str, environment: str, deployment_job: str
) -> Response:
    """POST …/deployment-jobs/by-name/{deployment_job}/trigger."""
    return trigger(rt, DEPLOYMENT_JOB, scope(DEPLOYMENT_JOB, project, environment), deployment_job)


def _job_execution(
    project: str, environment: str, job: str, execution_id: str, rt: Runtime
) -> dict[str, Any]:
    return execution(
        rt, DEPLOYMENT_JOB, scope(DEPLOYMENT_JOB, project, environment), job, execution_id
    )


async def list_all_deployment_job_executions(
    rt: Runtime, page_size: int = 20, page_from: str | None = None
) -> Response:
    """GET /api/v1/deployment-jobs/executions/."""
    return list_executions(rt, DEPLOYMENT_JOB, None, page_size, page_from)


async def list_project_deployment_job_executions(
    rt: Runtime, project: str, page_size: int = 20, page_from: str | None = None
) -> Response:
    """GET /api/v1/state/{project}/deployment-jobs/executions/."""
    return list_executions(rt, DEPLOYMENT_JOB, project_name(project), page_size, page_from)


async def list_deployment_job_executions(
    rt: Runtime,
    project: str,
    environment: str,
    deployment_job: str,
    page_size: int = 20,
    page_from: str | None = None,
) -> Response:
    """GET …/deployment-jobs/by-name/{deployment_job}/executions/."""
    record = resource(
        rt, DEPLOYMENT_JOB, scope(DEPLOYMENT_JOB, project, environment), deployment_job
    )
    return list_executions(rt, DEPLOYMENT_JOB, record["key"], page_size, page_from)


async def get_deployment_job_execution(
    rt: Runtime,
    project: str,
    environment: str,
    deployment_job: str,
    deployment_job_execution_id: str,
) -> Response:
    """GET …/executions/{deployment_job_execution_id}/."""
    found = _job_execution(project, environment, deployment_job, deployment_job_execution_id, rt)
    return show_execution(rt, DEPLOYMENT_JOB, found)


async def cancel_deployment_job_execution(
    rt: Runtime,
    project: str,
    environment: str,
    deployment_job: str,
    deployment_job_execution_id: str,
) -> Response:
    """POST …/executions/{deployment_job_execution_id}/cancel."""
    found = _job_execution(project, environment, deployment_job, deployment_job_execution_id, rt)
    return cancel(rt, DEPLOYMENT_JOB, found)


async def get_deployment_job_execution_logs(
    rt: Runtime,
    project: str,
    environment: str,
    deployment_job: str,
    deployment_job_execution_id: str,
) -> Response:
    """GET …/executions/{deployment_job_execution_id}/logs."""
    found = _job_execution(project, environment, deployment_job, deployment_job_execution_id, rt)
    return logs(rt, DEPLOYMENT_JOB, found)


async def add_deployment_job_execution_logs(
    rt: Runtime,
    project: str,
    environment: str,
    deployment_job: str,
    deployment_job_execution_id: str,
    body: list[str],
) -> Response:
    """POST …/executions/{deployment_job_execution_id}/logs."""
    found = _job_execution(project, environment, deployment_job, deployment_job_execution_id, rt)
    return append_logs(rt, DEPLOYMENT_JOB, found, body)


async def retry_deployment_job_execution(
    rt: Runtime,
    project: str,
    environment: str,
    deployment_job: str,
    deployment_job_execution_id: str,
) -> Response:
    """POST …/executions/{deployment_job_execution_id}/retry."""
    found = _job_execution(project, environment, deployment_job, deployment_job_execution_id, rt)
    return retry(rt, DEPLOYMENT_JOB, found)


# -- pipelines -----------------------------------------------------------------------------------


async def list_all_pipelines(rt: Runtime) -> Response:
    """GET /api/v1/pipelines/."""
    return list_resources(rt, PIPELINE)


async def list_project_pipelines(rt: Runtime, project: str) -> Response:
    """GET /api/v1/state/{project}/pipelines/."""
    return list_resources(rt, PIPELINE, project)


async def add_pipeline(rt: Runtime, project: str, body: dict[str, Any]) -> Response:
    """POST /api/v1/state/{project}/pipelines/."""
    return add(rt, PIPELINE, scope(PIPELINE, project), body)


async def get_pipeline(rt: Runtime, project: str, pipeline: str) -> Response:
    """GET …/pipelines/by-name/{pipeline}/."""
    return json_response(
        render(rt, PIPELINE, resource(rt, PIPELINE, scope(PIPELINE, project), pipeline))
    )


async def update_pipeline(
    rt: Runtime, project: str, pipeline: str, body: dict[str, Any]
) -> Response:
    """PUT …/pipelines/by-name/{pipeline}/."""
    return update(rt, PIPELINE, scope(PIPELINE, project), pipeline, body)


async def delete_pipeline(rt: Runtime, project: str, pipeline: str) -> Response:
    """DELETE …/pipelines/by-name/{pipeline}/."""
    return delete(rt, PIPELINE, scope(PIPELINE, project), pipeline)


async def trigger_pipeline(rt: Runtime, project: str, pipeline: str) -> Response:
    """POST …/pipelines/by-name/{pipeline}/trigger."""
    return trigger(rt, PIPELINE, scope(PIPELINE, project), pipeline)


async def list_project_pipeline_executions(
    rt: Runtime, project: str, page_size: int = 20, page_from: str | None = None
) -> Response:
    """GET /api/v1/state/{project}/pipelines/executions/."""
    return list_executions(rt, PIPELINE, project_name(project), page_size, page_from)


async def list_pipeline_executions(
    rt: Runtime, project: str, pipeline: str, page_size: int = 20, page_from: str | None = None
) -> Response:
    """GET …/pipelines/by-name/{pipeline}/executions/."""
    record = resource(rt, PIPELINE, scope(PIPELINE, project), pipeline)
    return list_executions(rt, PIPELINE, record["key"], page_size, page_from)


def _pipeline_execution(
    project: str, pipeline: str, execution_id: str, rt: Runtime
) -> dict[str, Any]:
    return execution(rt, PIPELINE, scope(PIPELINE, project), pipeline, execution_id)


async def get_pipeline_execution(
    rt: Runtime, project: str, pipeline: str, pipeline_execution_id: str
) -> Response:
    """GET …/pipelines/by-name/{pipeline}/executions/{pipeline_execution_id}/."""
    return show_execution(
        rt, PIPELINE, _pipeline_execution(project, pipeline, pipeline_execution_id, rt)
    )


async def cancel_pipeline_execution(
    rt: Runtime, project: str, pipeline: str, pipeline_execution_id: str
) -> Response:
    """POST …/executions/{pipeline_execution_id}/cancel."""
    return cancel(rt, PIPELINE, _pipeline_execution(project, pipeline, pipeline_execution_id, rt))


async def retry_pipeline_execution(
    rt: Runtime, project: str, pipeline: str, pipeline_execution_id: str
) -> Response:
    """POST …/executions/{pipeline_execution_id}/retry."""
    return retry(rt, PIPELINE, _pipeline_execution(project, pipeline, pipeline_execution_id, rt))


# -- namespaces and projects ---------------------------------------------------------------------

NAMESPACE = "namespace"
_NAMESPACE_FIELDS = {"description": "", "logo": "", "org_url": ""}


async def list_namespaces(rt: Runtime) -> Response:
    """GET /api/v1/namespaces/: every namespace, with the caller's permission on it."""
    found = {r["name"]: {"permission": "owner", "project": r["project"]}
             for _, r in rt.store.scan(NAMESPACE, newest_first=False)}  # fmt: skip
    return json_response({"namespaces": found})


async def get_namespace(rt: Runtime, namespace: str) -> Response:
    """GET /api/v1/namespaces/{namespace}/."""
    record = rt.store.get(NAMESPACE, namespace)
    if record is None:
        raise ApiError(404, "")
    return json_response(record)


async def add_namespace(rt: Runtime, project: str, body: dict[str, Any]) -> Response:
    """POST /api/v1/state/{project}/namespaces/ (names are global: 409 when taken)."""
    owner = project_name(project)
    if rt.store.get(NAMESPACE, body["name"]) is not None:
        raise ApiError(409, ALREADY_EXISTS)
    record = {**model.zero_fill(body, _NAMESPACE_FIELDS), "name": body["name"], "project": owner}
    rt.store.insert(NAMESPACE, body["name"], record)
    return empty()


async def list_projects(rt: Runtime) -> Response:
    """GET /api/v1/state/: every project that holds a build, deployment job, pipeline or namespace."""
    names = {r["project"] for kind in (BUILD.kind, DEPLOYMENT_JOB.kind, PIPELINE.kind, NAMESPACE)
             for _, r in rt.store.scan(kind)}  # fmt: skip
    return json_response({name: {"name": name} for name in sorted(names)})


async def get_project(rt: Runtime, project: str) -> Response:
    """GET /api/v1/state/{project}/: any well-formed name exists implicitly."""
    return json_response({"name": project_name(project)})


# -- fixtures ------------------------------------------------------------------------------------

_FIXTURE_SETS = (("builds", BUILD, "BuildInput"), ("deployment_jobs", DEPLOYMENT_JOB, "DeploymentJobInput"),
                 ("pipelines", PIPELINE, "PipelineInput"))  # fmt: skip


def load_fixtures(rt: Runtime, fixtures: FixtureContext) -> None:
    """``builds``, ``deployment_jobs``, ``pipelines`` (add bodies plus ``project``, ``environment``
    and ``executions``: a list of ``{outcome, age}``) and ``namespaces`` (plus ``project``)."""
    origin = rt.now()
    for key, family, schema in _FIXTURE_SETS:
        for where, entry in fixtures.items(key):
            names = [fixtures.expect(where, entry, "project", str, None)]
            if family.in_environment:
                names.append(fixtures.expect(where, entry, "environment", str, None))
            if not all(model.valid_name(n) for n in names):
                raise fixtures.error(where, "needs a well-formed project (and environment)")
            body = {
                k: v for k, v in entry.items() if k not in ("project", "environment", "executions")
            }
            fixtures.check(where, body, schema)
            record = model.plan_resource(rt.synth, family, tuple(names), body, origin)
            if rt.store.get(family.kind, record["key"]) is not None:
                raise fixtures.error(f"{where}.name", ALREADY_EXISTS)
            rt.store.insert(family.kind, record["key"], record)
            _fixture_executions(rt, fixtures, family, record, where, entry, origin)
    for where, entry in fixtures.items("namespaces"):
        owner = fixtures.expect(where, entry, "project", str, None)
        body = {k: v for k, v in entry.items() if k != "project"}
        fixtures.check(where, body, "NamespaceInput")
        if not model.valid_name(owner):
            raise fixtures.error(f"{where}.project", "must be a well-formed project name")
        rt.store.insert(NAMESPACE, body["name"], {**model.zero_fill(body, _NAMESPACE_FIELDS),
                                                  "name": body["name"], "project": owner})  # fmt: skip


def _fixture_executions(
    rt: Runtime, fixtures: FixtureContext, family: Family, record: dict[str, Any],
    where: str, entry: dict[str, Any], origin: float,
) -> None:  # fmt: skip
    for index, run in enumerate(entry.get("executions") or []):
        at = f"{where}.executions[{index}]"
        if not isinstance(run, dict):
            raise fixtures.error(at, "must be a mapping")
        outcome = fixtures.expect(at, run, "outcome", str, "ok")
        if outcome not in model.OUTCOMES:
            raise fixtures.error(f"{at}.outcome", f"must be one of {', '.join(model.OUTCOMES)}")
        age = float(fixtures.expect(at, run, "age", (int, float), 0))  # type: ignore[arg-type]
        run_nr = rt.store.next_value(f"run_nr:{record['key']}") if family is PIPELINE else None
        planned = model.plan_execution(
            rt.synth, family, record, execution_id=rt.store.next_value(family.execution_kind),
            now=origin - age, speed=rt.settings.speed, outcome=outcome, run_nr=run_nr,
        )  # fmt: skip
        rt.store.insert(family.execution_kind, planned["id"], planned)
        record = {**record, "latest": planned["id"]}
        rt.store.replace(family.kind, record["key"], record)


def _render_execution(family: Family, rt: Runtime, execution: dict[str, Any], now: float) -> Any:
    return model.render_execution(family, execution, now)


VENDOR = register(
    Vendor(
        name="escape",
        title="Escape",
        render_error=render_error,
        authenticate=authenticate,
        load_fixtures=load_fixtures,
        views=tuple(
            View(
                kind=family.execution_kind,
                label=f"{family.label} executions",
                key=lambda r: str(r["id"]),
                render=functools.partial(_render_execution, family),
                status=lambda body: str(body["status"]),
                timeline=stored_marks,
            )
            for family in (model.BUILD, model.DEPLOYMENT_JOB, model.PIPELINE)
        ),
    )
)
