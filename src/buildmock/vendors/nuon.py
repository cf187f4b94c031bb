"""Nuon (``/nuon``): handlers for ``specs/nuon.yaml``."""

from __future__ import annotations

import contextlib
import itertools
import sys
from collections.abc import Iterable
from typing import Any

from starlette.responses import Response

from buildmock.core.errors import ApiError
from buildmock.core.lifecycle import IllegalTransition
from buildmock.domain import nuon as model
from buildmock.fixtures import FixtureContext
from buildmock.vendors.base import (
    Headers,
    RenderCache,
    Runtime,
    Vendor,
    build_view,
    check_bearer,
    json_response,
    preferred_outcome,
    register,
    render_cache,
    request_headers,
)

KIND = "build"
ORG_HEADER = "x-nuon-org-id"
MAX_LIMIT = 100

_DESCRIPTIONS = {
    400: "invalid request format",
    401: "please provide a valid bearer token in the Authorization header",
    403: "please set the X-Nuon-Org-ID header to an org you belong to",
    404: "not found",
    405: "method not allowed",
    409: "not ready",
    500: "internal server error",
}


def render_error(error: ApiError) -> Response:
    """Nuon's error body: ``{"error", "user_error", "description"}``."""
    description = error.extra.get("description") or _DESCRIPTIONS.get(error.status, "error")
    body = {"error": error.message, "user_error": error.status < 500, "description": description}
    return json_response(body, error.status, error.headers)


def authenticate(headers: Headers, settings: Any) -> None:
    """``Authorization: Bearer <token>`` (else 401) and ``X-Nuon-Org-ID: <org id>`` (else 403)."""
    check_bearer(headers, settings, "invalid token")
    if not model.valid_id(headers.get(ORG_HEADER, "").strip(), "org"):
        raise ApiError(403, "org not found")


# -- helpers the handlers share ----------------------------------------------------------------


def org() -> str:
    """The caller's org (already checked by :func:`authenticate`)."""
    return str(request_headers().get(ORG_HEADER, "")).strip()


def component(
    rt: Runtime, component_id: str, app_id: str | None = None, *, pin: bool = False
) -> dict[str, Any]:
    """The component (declared, or implied by a well-formed id) of the caller's org; 404 otherwise.

    An undeclared component is pinned to the org and app of the first create that uses it.
    """
    if app_id is not None and not model.valid_id(app_id, "app"):
        raise ApiError(404, "app not found", description=f"app {app_id} not found")
    if app_id is not None:
        declared_app = rt.store.get("app", app_id)
        if declared_app is not None and declared_app["org_id"] != org():
            raise ApiError(404, "app not found", description=f"app {app_id} not found")
    if not model.valid_id(component_id, "cmp"):
        raise ApiError(
            404, "component not found", description=f"component {component_id} not found"
        )
    record = rt.store.get("component", component_id)
    if record is None:
        record = model.synth_component(
            rt.synth,
            component_id,
            org_id=org(),
            app_id=app_id or model.implied_app(rt.synth, component_id),
        )
        if pin:
            rt.store.insert("component", component_id, record)
    if record["org_id"] != org() or (app_id is not None and record["app_id"] != app_id):
        raise ApiError(
            404, "component not found", description=f"component {component_id} not found"
        )
    return record


def create(rt: Runtime, comp: dict[str, Any], body: dict[str, Any]) -> dict[str, Any]:
    """Plan and store a build of ``comp``."""
    use_latest = bool(body.get("use_latest"))
    git_ref = body.get("git_ref") or None
    if git_ref is None and not use_latest:
        raise ApiError(400, "invalid request: git_ref is required unless use_latest is true",
                       description="git_ref is required unless use_latest is true")  # fmt: skip
    outcome = model.resolve_outcome(preferred_outcome(request_headers(), model.OUTCOMES), rt.synth)
    record = model.plan_build(
        rt.synth, comp, now=rt.now(), speed=rt.settings.speed, git_ref=git_ref,
        outcome=outcome, app_id=comp["app_id"], created_by_id=model.account_id(rt.synth, comp["org_id"]),
    )  # fmt: skip
    rt.store.insert(KIND, record["id"], record)
    return record


def stored(rt: Runtime, build_id: str, comp: dict[str, Any] | None = None) -> dict[str, Any]:
    """The caller's build with this id (of ``comp`` if given), or Nuon's 404."""
    record = rt.store.get(KIND, build_id) if model.valid_id(build_id, "bld") else None
    if (
        record is None
        or record["org_id"] != org()
        or (
            comp is not None
            and (record["component_id"], record["app_id"]) != (comp["id"], comp["app_id"])
        )
    ):
        raise ApiError(404, "unable to get component build: record not found",
                       description=f"build {build_id} not found")  # fmt: skip
    return record


def renderings(rt: Runtime) -> RenderCache:
    """The runtime's cache of encoded builds."""
    return render_cache(
        rt, model.render_build, model.change_times, model.live_window, model.follow_encoded
    )


def rendered(rt: Runtime, record: dict[str, Any]) -> Response:
    """A stored build as Nuon sends it now."""
    return renderings(rt).response(record["id"], record, rt.now())


def builds_of(rt: Runtime, comp: dict[str, Any]) -> Any:
    """The component's builds in the caller's org, newest first."""
    caller = org()
    for _, record in rt.store.scan(KIND, where={"component_id": comp["id"]}):
        if record["org_id"] == caller and record["app_id"] == comp["app_id"]:
            yield record


def paged(
    rt: Runtime, records: Iterable[dict[str, Any]], offset: int, limit: int, page: int
) -> Response:
    """A bare array of builds (``records``, newest first) with Nuon's ``X-Nuon-Page-*`` headers."""
    limit = min(limit, MAX_LIMIT)
    if page > 0:
        offset = (page - 1) * limit
    # Schemathesis-sized offsets are valid integers; islice takes at most sys.maxsize.
    start = min(offset, sys.maxsize - limit - 1)
    taken = list(itertools.islice(records, start, start + limit + 1))
    now = rt.now()
    headers = {"X-Nuon-Page-Next": "true" if len(taken) > limit else "false",
               "X-Nuon-Page-Offset": str(offset), "X-Nuon-Page-Limit": str(limit)}  # fmt: skip
    if page > 0:
        headers["X-Nuon-Page-Number"] = str(page)
    cache = renderings(rt)
    shown = [cache.fragment(r["id"], r, now) for r in taken[:limit]]
    return json_response(shown, headers=headers)


def latest(rt: Runtime, comp: dict[str, Any]) -> Response:
    """The component's newest build, or 404."""
    for record in builds_of(rt, comp):
        return rendered(rt, record)
    raise ApiError(404, "unable to get latest component build: record not found",
                   description=f"component {comp['id']} has no builds")  # fmt: skip


# -- handlers (operationIds of specs/nuon.yaml) -----------------------------------------------


async def create_component_build(rt: Runtime, component_id: str, body: dict[str, Any]) -> Response:
    """POST /v1/components/{component_id}/builds."""
    record = create(rt, component(rt, component_id, pin=True), body)
    return json_response(model.render_build(record, rt.now()), 201)


async def get_build(rt: Runtime, build_id: str) -> Response:
    """GET /v1/components/builds/{build_id}."""
    return rendered(rt, stored(rt, build_id))


async def get_component_build(rt: Runtime, component_id: str, build_id: str) -> Response:
    """GET /v1/components/{component_id}/builds/{build_id}."""
    return rendered(rt, stored(rt, build_id, component(rt, component_id)))


async def get_latest_component_build(rt: Runtime, component_id: str) -> Response:
    """GET /v1/components/{component_id}/builds/latest."""
    return latest(rt, component(rt, component_id))


async def list_builds(
    rt: Runtime,
    component_id: str | None = None,
    app_id: str | None = None,
    offset: int = 0,
    limit: int = 10,
    page: int = 0,
) -> Response:
    """GET /v1/builds?component_id=…|app_id=…: newest first, bare array, paged (the component wins)."""
    if component_id is not None:
        return paged(rt, builds_of(rt, component(rt, component_id)), offset, limit, page)
    if app_id is None:
        raise ApiError(400, "component id or app id must be passed in",
                       description="pass component_id or app_id")  # fmt: skip
    records = (r for _, r in rt.store.scan(KIND, where={"app_id": app_id}) if r["org_id"] == org())
    return paged(rt, records, offset, limit, page)


async def create_app_component_build(
    rt: Runtime, app_id: str, component_id: str, body: dict[str, Any]
) -> Response:
    """POST /v1/apps/{app_id}/components/{component_id}/builds."""
    record = create(rt, component(rt, component_id, app_id, pin=True), body)
    return json_response(model.render_build(record, rt.now()), 201)


async def list_app_component_builds(
    rt: Runtime, app_id: str, component_id: str, offset: int = 0, limit: int = 10, page: int = 0
) -> Response:
    """GET /v1/apps/{app_id}/components/{component_id}/builds."""
    return paged(rt, builds_of(rt, component(rt, component_id, app_id)), offset, limit, page)


async def get_latest_app_component_build(rt: Runtime, app_id: str, component_id: str) -> Response:
    """GET /v1/apps/{app_id}/components/{component_id}/builds/latest."""
    return latest(rt, component(rt, component_id, app_id))


async def get_app_component_build(
    rt: Runtime, app_id: str, component_id: str, build_id: str
) -> Response:
    """GET /v1/apps/{app_id}/components/{component_id}/builds/{build_id}."""
    return rendered(rt, stored(rt, build_id, component(rt, component_id, app_id)))


async def cancel_app_component_build(
    rt: Runtime, app_id: str, component_id: str, build_id: str
) -> Response:
    """POST …/builds/{build_id}/cancel: 202 with the build (unchanged once it has finished)."""
    record = stored(rt, build_id, component(rt, component_id, app_id))
    now = rt.now()
    # Nuon cancels the build's queue signal whatever the state and lists no 409 for this operation.
    with contextlib.suppress(IllegalTransition):
        record = model.cancel(record, now)
        rt.store.replace(KIND, build_id, record)
    return json_response(model.render_build(record, now), 202)


async def build_all_components(rt: Runtime, app_id: str, body: dict[str, Any]) -> Response:
    """POST /v1/apps/{app_id}/components/build-all: a ``use_latest`` build of each of the app's components."""
    if not model.valid_id(app_id, "app"):
        raise ApiError(404, "app not found", description=f"app {app_id} not found")
    components = [
        c for _, c in rt.store.scan("component", newest_first=False, where={"app_id": app_id})
    ]
    now = rt.now()
    built = [
        create(rt, comp, {"use_latest": True}) for comp in components if comp["org_id"] == org()
    ]
    return json_response([model.render_build(record, now) for record in built], 201)


async def list_org_component_builds(
    rt: Runtime, limit: int = 10, cursor: str | None = None
) -> Response:
    """GET /v1/component-builds: the org's builds, newest first, ``{items, next_cursor?, previous_cursor?}``."""
    before = int(cursor.removeprefix("cur_")) if cursor else None
    taken = list(
        itertools.islice(rt.store.scan(KIND, before=before, where={"org_id": org()}), limit + 1)
    )
    now = rt.now()
    page: dict[str, Any] = {"items": [model.render_history_item(r, now) for _, r in taken[:limit]]}
    if len(taken) > limit:
        page["next_cursor"] = f"cur_{taken[limit - 1][0]}"
    if cursor is not None:
        first = taken[0][0] if taken else before or 0
        newer = [
            seq
            for seq, _ in rt.store.scan(KIND, newest_first=False, where={"org_id": org()})
            if seq > first
        ]
        page["previous_cursor"] = f"cur_{(newer[:limit][-1] if newer else first) + 1}"
    return json_response(page)


async def get_app_branch_run_builds(
    rt: Runtime, app_id: str, app_branch_id: str, run_id: str
) -> Response:
    """GET /v1/apps/{app_id}/branches/{app_branch_id}/runs/{run_id}/builds: the run's builds, oldest first."""
    branch = (
        rt.store.get("app_branch", app_branch_id) if model.valid_id(app_branch_id, "abr") else None
    )
    if branch is None or (branch["org_id"], branch["app_id"]) != (org(), app_id):
        raise ApiError(404, "unable to find app branch: record not found",
                       description=f"app branch {app_branch_id} not found")  # fmt: skip
    if run_id not in branch["runs"]:
        raise ApiError(404, "unable to find app branch run: record not found",
                       description=f"app branch run {run_id} not found")  # fmt: skip
    now = rt.now()
    builds = rt.store.scan(KIND, newest_first=False, where={"app_branch_run_id": run_id})
    return json_response([model.render_build(record, now) for _, record in builds])


# -- fixtures ----------------------------------------------------------------------------------


def _fixture_id(
    fixtures: FixtureContext, where: str, entry: dict[str, Any], key: str, prefix: str
) -> str:
    value = entry.get(key)
    if not isinstance(value, str) or not model.valid_id(value, prefix):
        raise fixtures.error(f"{where}.{key}", f"must be a Nuon id: {prefix} + 23 of [0-9a-z]")
    return value


def load_fixtures(rt: Runtime, fixtures: FixtureContext) -> None:
    """``orgs``, ``apps``, ``app_branches``, ``components`` and ``builds`` (create body plus outcome, age…)."""
    orgs = set()
    for where, entry in fixtures.items("orgs"):
        fixtures.expect(where, entry, "name", str, None)  # documents the fixture; nothing serves it
        orgs.add(_fixture_id(fixtures, where, entry, "id", "org"))
    for where, entry in fixtures.items("apps"):
        app_id = _fixture_id(fixtures, where, entry, "id", "app")
        org_id = _fixture_id(fixtures, where, entry, "org_id", "org")
        if org_id not in orgs:
            raise fixtures.error(f"{where}.org_id", f"org {org_id} is not declared under orgs")
        name = fixtures.expect(where, entry, "name", str, app_id)
        rt.store.insert("app", app_id, {"id": app_id, "org_id": org_id, "name": name})
    for where, entry in fixtures.items("components"):
        comp_id = _fixture_id(fixtures, where, entry, "id", "cmp")
        app = rt.store.get("app", _fixture_id(fixtures, where, entry, "app_id", "app"))
        if app is None:
            raise fixtures.error(f"{where}.app_id", "app is not declared under apps")
        type_ = fixtures.expect(where, entry, "type", str, None)
        if type_ is not None and type_ not in model.COMPONENT_TYPES:
            raise fixtures.error(
                f"{where}.type", f"must be one of {', '.join(model.COMPONENT_TYPES)}"
            )
        version = fixtures.expect(where, entry, "config_version", int, None)
        rt.store.insert("component", comp_id, model.synth_component(
            rt.synth, comp_id, org_id=app["org_id"], app_id=app["id"],
            name=fixtures.expect(where, entry, "name", str, None), type_=type_, config_version=version,
        ))  # fmt: skip
    for where, entry in fixtures.items("app_branches"):
        branch_id = _fixture_id(fixtures, where, entry, "id", "abr")
        app = rt.store.get("app", _fixture_id(fixtures, where, entry, "app_id", "app"))
        if app is None:
            raise fixtures.error(f"{where}.app_id", "app is not declared under apps")
        runs = fixtures.expect(where, entry, "runs", list, [])
        for index, run in enumerate(runs):
            if not isinstance(run, str) or not model.valid_id(run, "arn"):
                raise fixtures.error(
                    f"{where}.runs[{index}]", "must be a run id: arn + 23 of [0-9a-z]"
                )
        rt.store.insert("app_branch", branch_id,
                        {"id": branch_id, "org_id": app["org_id"], "app_id": app["id"], "runs": runs})  # fmt: skip
    origin = rt.now()
    for where, entry in fixtures.items("builds"):
        _fixture_build(rt, fixtures, where, entry, origin)


def _seconds(fixtures: FixtureContext, where: str, entry: dict[str, Any], key: str) -> float | None:
    value = fixtures.expect(where, entry, key, (int, float), None)  # type: ignore[arg-type]
    return None if value is None else float(value)


_EXTRA = ("component_id", "outcome", "age", "cancel_after", "released_to", "app_branch_run_id")


def _fixture_build(
    rt: Runtime, fixtures: FixtureContext, where: str, entry: dict[str, Any], origin: float
) -> None:
    comp = rt.store.get("component", _fixture_id(fixtures, where, entry, "component_id", "cmp"))
    if comp is None:
        raise fixtures.error(f"{where}.component_id", "component is not declared under components")
    body = {k: v for k, v in entry.items() if k not in _EXTRA}
    fixtures.check(where, body, "service.CreateComponentBuildRequest")
    outcome = fixtures.expect(where, entry, "outcome", str, "active")
    if outcome not in model.OUTCOMES:
        raise fixtures.error(f"{where}.outcome", f"must be one of {', '.join(model.OUTCOMES)}")
    age = _seconds(fixtures, where, entry, "age") or 0.0
    cancel_after = _seconds(fixtures, where, entry, "cancel_after")
    installs = fixtures.expect(where, entry, "released_to", list, [])
    for index, install in enumerate(installs):
        if not isinstance(install, str) or not model.valid_id(install, "inl"):
            raise fixtures.error(
                f"{where}.released_to[{index}]", "must be an install id: inl + 23 of [0-9a-z]"
            )
    record = model.plan_build(
        rt.synth, comp, now=origin - age, speed=rt.settings.speed, git_ref=body.get("git_ref"),
        outcome=model.resolve_outcome(outcome, rt.synth),
        app_id=comp["app_id"], created_by_id=model.account_id(rt.synth, comp["org_id"]),
    )  # fmt: skip
    if cancel_after is not None:
        try:
            record = model.cancel(record, record["created_at"] + float(cancel_after))
        except IllegalTransition as exc:
            raise fixtures.error(
                f"{where}.cancel_after", f"the build has already finished ({exc.state})"
            ) from exc
    if installs:
        if record["outcome"] != "active" or cancel_after is not None:
            raise fixtures.error(
                f"{where}.released_to", "only a build that ends active can be released"
            )
        record["releases"] = [
            model.plan_release(rt.synth, record, installs, model.timeline(record).end + 5)
        ]
    run = entry.get("app_branch_run_id")
    if run is not None:
        branch = next((b for _, b in rt.store.scan("app_branch") if run in b["runs"]), None)
        if branch is None or branch["app_id"] != comp["app_id"]:
            raise fixtures.error(
                f"{where}.app_branch_run_id", "must be a run of a branch of the component's app"
            )
        record.update(app_branch_id=branch["id"], app_branch_run_id=run)
    rt.store.insert(KIND, record["id"], record)


#: The org a contract run acts as on the Nuon mock.
CONTRACT_ORG = "orgbuildmockcontract000000"

VENDOR = register(
    Vendor(
        name="nuon",
        title="Nuon",
        render_error=render_error,
        authenticate=authenticate,
        load_fixtures=load_fixtures,
        # A bearer token and a well-formed org id (an ill-formed one is a 403).
        credentials=lambda token: {
            "Authorization": f"Bearer {token}",
            "X-Nuon-Org-ID": CONTRACT_ORG,
        },
        views=(build_view(model.render_build),),
    )
)
