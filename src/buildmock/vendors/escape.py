"""Escape (``/escape``): handlers for ``specs/escape.yaml``.

Builds, deployment jobs and pipelines are the same machinery (``domain.escape.Family``): the
helpers below do the store work once for all three, and each handler names its family.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Awaitable, Callable
from typing import Any

import orjson
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
    lasting_json_response,
    page,
    preferred_outcome,
    raw_json_response,
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


#: Where Escape's clients put their token.
TOKEN_HEADER = "X-Escape-Token"


def authenticate(headers: Headers, settings: Any) -> None:
    """``X-Escape-Token: <token>``; missing, empty or (with ``--token``) wrong is a 401."""
    token = headers.get(TOKEN_HEADER.lower(), "").strip()
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


# -- the operations on builds, deployment jobs and pipelines: one table -------------------------
#
# Every such operation is an action on a family at a level of the path; the handler Connexion
# calls is made from its row, with the signature (``rt``, the level's path names, the action's
# keyword-only parameters) that tells the request path (and Connexion, the reference) which parameters to pass.

ALL, PROJECT, SCOPE, RESOURCE, EXECUTION = range(5)


def path_names(family: Family, level: int) -> tuple[str, ...]:
    """The path parameters an operation of ``family`` at ``level`` carries, outermost first."""
    names: tuple[str, ...] = ()
    if level >= PROJECT:
        names = ("project",)
    if level >= SCOPE and family.in_environment:
        names += ("environment",)
    if level >= RESOURCE:
        names += (family.kind,)
    if level >= EXECUTION:
        names += (f"{family.kind}_execution_id",)
    return names


def named(rt: Runtime, family: Family, names: tuple[str, ...]) -> dict[str, Any]:
    """The resource the path names (its scope, then its name), or a 404."""
    return resource(rt, family, scope(family, *names[:-1]), names[-1])


def named_execution(rt: Runtime, family: Family, names: tuple[str, ...]) -> dict[str, Any]:
    """The execution the path names (the resource's names, then the id), or a 404."""
    return execution(rt, family, scope(family, *names[:-2]), names[-2], names[-1])


Names = tuple[str, ...]


def _list(rt: Runtime, family: Family, names: Names) -> Response:
    return list_resources(rt, family, *names)


def _add(rt: Runtime, family: Family, names: Names, *, body: dict[str, Any]) -> Response:
    return add(rt, family, scope(family, *names), body)


def _get(rt: Runtime, family: Family, names: Names) -> Response:
    record = named(rt, family, names)
    execution, now = latest(rt, family, record), rt.now()
    body = orjson.dumps(model.render_resource(family, record, execution, now))
    span = model.steady_span(family, execution, now)
    return raw_json_response(body) if span is None else lasting_json_response(body, *span)


def _update(rt: Runtime, family: Family, names: Names, *, body: dict[str, Any]) -> Response:
    return update(rt, family, scope(family, *names[:-1]), names[-1], body)


def _delete(rt: Runtime, family: Family, names: Names) -> Response:
    return delete(rt, family, scope(family, *names[:-1]), names[-1])


def _trigger(rt: Runtime, family: Family, names: Names) -> Response:
    return start(rt, family, named(rt, family, names))


def _executions(
    rt: Runtime, family: Family, names: Names, *, page_size: int = 20, page_from: str | None = None
) -> Response:
    """Executions of everything (no names), of a project (its name) or of one resource."""
    if not names:
        prefix = None
    elif len(names) == 1:
        prefix = project_name(names[0])
    else:
        prefix = named(rt, family, names)["key"]
    return list_executions(rt, family, prefix, page_size, page_from)


def _show(rt: Runtime, family: Family, names: Names) -> Response:
    return show_execution(rt, family, named_execution(rt, family, names))


def _cancel(rt: Runtime, family: Family, names: Names) -> Response:
    return cancel(rt, family, named_execution(rt, family, names))


def _logs(rt: Runtime, family: Family, names: Names) -> Response:
    return logs(rt, family, named_execution(rt, family, names))


def _append_logs(rt: Runtime, family: Family, names: Names, *, body: list[str]) -> Response:
    return append_logs(rt, family, named_execution(rt, family, names), body)


def _retry(rt: Runtime, family: Family, names: Names) -> Response:
    return retry(rt, family, named_execution(rt, family, names))


def _commit(rt: Runtime, family: Family, names: Names, *, body: dict[str, Any]) -> Response:
    updated = model.add_commit(named_execution(rt, family, names), body)
    rt.store.replace(family.execution_kind, updated["id"], updated)
    return show_execution(rt, family, updated)


Action = Callable[..., Response]

#: operationId -> (family, level of the path, action).
OPERATIONS: dict[str, tuple[Family, int, Action]] = {
    "list_all_builds": (BUILD, ALL, _list),
    "list_project_builds": (BUILD, PROJECT, _list),
    "list_environment_builds": (BUILD, SCOPE, _list),
    "add_build": (BUILD, SCOPE, _add),
    "get_build": (BUILD, RESOURCE, _get),
    "update_build": (BUILD, RESOURCE, _update),
    "delete_build": (BUILD, RESOURCE, _delete),
    "trigger_build": (BUILD, RESOURCE, _trigger),
    "list_all_build_executions": (BUILD, ALL, _executions),
    "list_project_build_executions": (BUILD, PROJECT, _executions),
    "list_build_executions": (BUILD, RESOURCE, _executions),
    "get_build_execution": (BUILD, EXECUTION, _show),
    "cancel_build_execution": (BUILD, EXECUTION, _cancel),
    "add_build_execution_commit": (BUILD, EXECUTION, _commit),
    "get_build_execution_logs": (BUILD, EXECUTION, _logs),
    "add_build_execution_logs": (BUILD, EXECUTION, _append_logs),
    "retry_build_execution": (BUILD, EXECUTION, _retry),
    "list_all_deployment_jobs": (DEPLOYMENT_JOB, ALL, _list),
    "list_project_deployment_jobs": (DEPLOYMENT_JOB, PROJECT, _list),
    "list_environment_deployment_jobs": (DEPLOYMENT_JOB, SCOPE, _list),
    "add_deployment_job": (DEPLOYMENT_JOB, SCOPE, _add),
    "get_deployment_job": (DEPLOYMENT_JOB, RESOURCE, _get),
    "update_deployment_job": (DEPLOYMENT_JOB, RESOURCE, _update),
    "delete_deployment_job": (DEPLOYMENT_JOB, RESOURCE, _delete),
    "trigger_deployment_job": (DEPLOYMENT_JOB, RESOURCE, _trigger),
    "list_all_deployment_job_executions": (DEPLOYMENT_JOB, ALL, _executions),
    "list_project_deployment_job_executions": (DEPLOYMENT_JOB, PROJECT, _executions),
    "list_deployment_job_executions": (DEPLOYMENT_JOB, RESOURCE, _executions),
    "get_deployment_job_execution": (DEPLOYMENT_JOB, EXECUTION, _show),
    "cancel_deployment_job_execution": (DEPLOYMENT_JOB, EXECUTION, _cancel),
    "get_deployment_job_execution_logs": (DEPLOYMENT_JOB, EXECUTION, _logs),
    "add_deployment_job_execution_logs": (DEPLOYMENT_JOB, EXECUTION, _append_logs),
    "retry_deployment_job_execution": (DEPLOYMENT_JOB, EXECUTION, _retry),
    "list_all_pipelines": (PIPELINE, ALL, _list),
    "list_project_pipelines": (PIPELINE, PROJECT, _list),
    "add_pipeline": (PIPELINE, SCOPE, _add),
    "get_pipeline": (PIPELINE, RESOURCE, _get),
    "update_pipeline": (PIPELINE, RESOURCE, _update),
    "delete_pipeline": (PIPELINE, RESOURCE, _delete),
    "trigger_pipeline": (PIPELINE, RESOURCE, _trigger),
    "list_project_pipeline_executions": (PIPELINE, PROJECT, _executions),
    "list_pipeline_executions": (PIPELINE, RESOURCE, _executions),
    "get_pipeline_execution": (PIPELINE, EXECUTION, _show),
    "cancel_pipeline_execution": (PIPELINE, EXECUTION, _cancel),
    "retry_pipeline_execution": (PIPELINE, EXECUTION, _retry),
}


Handler = Callable[..., Awaitable[Response]]


def handler(operation_id: str, family: Family, level: int, action: Action) -> Handler:
    """The async handler of one row: it takes ``rt``, the level's path names and the action's
    keyword-only parameters (with their defaults), and runs the action on them."""
    names = path_names(family, level)
    extras = [p for p in inspect.signature(action).parameters.values() if p.kind is p.KEYWORD_ONLY]

    async def handle(rt: Runtime, **params: Any) -> Response:
        return action(rt, family, tuple(params.pop(n) for n in names), **params)

    handle.__signature__ = inspect.Signature(  # type: ignore[attr-defined]
        [
            inspect.Parameter("rt", inspect.Parameter.POSITIONAL_OR_KEYWORD),
            *(inspect.Parameter(n, inspect.Parameter.KEYWORD_ONLY) for n in names),
            *extras,
        ]
    )
    handle.__name__ = handle.__qualname__ = operation_id
    return handle


HANDLERS: dict[str, Handler] = {name: handler(name, *row) for name, row in OPERATIONS.items()}


def __getattr__(name: str) -> Handler:
    """The table's handlers as attributes of this module, where the resolver looks them up."""
    try:
        return HANDLERS[name]
    except KeyError:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}") from None


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
        credential_headers=(TOKEN_HEADER,),
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
