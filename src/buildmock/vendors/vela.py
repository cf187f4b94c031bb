"""Vela (``/vela``): handlers for ``specs/vela.yaml``."""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from typing import Any

from starlette.responses import Response

from buildmock.core.errors import ApiError
from buildmock.domain import vela as model
from buildmock.domain import vela_pipeline as pipeline
from buildmock.fixtures import FixtureContext
from buildmock.settings import Settings, VendorOption
from buildmock.vendors.base import (
    Headers,
    RenderCache,
    Runtime,
    Vendor,
    bearer_token,
    build_view,
    json_response,
    preferred_outcome,
    register,
    render_cache,
    request_headers,
    request_url,
    same_token,
)

KIND = "build"
#: A token that is always a valid user but never a platform admin.
DEFAULT_NON_ADMIN = "vela-user"
NON_ADMIN = VendorOption(
    "vela-non-admin-tokens",
    default="",
    help="comma-separated tokens Vela accepts as users who are not platform admins (401 on admin "
    "endpoints), besides the built-in vela-user",
)


def render_error(error: ApiError) -> Response:
    """Vela's error body ``{"error": "..."}``; an invalid admin body gets Vela's own validation text."""
    message = model.admin_refusal_from_validation(error.message) or error.message
    return json_response({"error": message}, error.status, error.headers)


def non_admin_tokens(settings: Settings) -> frozenset[str]:
    """``vela-user``, plus the tokens ``--vela-non-admin-tokens`` lists."""
    listed = NON_ADMIN.of(settings).split(",")
    return frozenset({DEFAULT_NON_ADMIN, *(t.strip() for t in listed if t.strip())})


def authenticate(headers: Headers, settings: Settings) -> None:
    """``Authorization: Bearer <token>``; with ``--token``, that token or a non-admin token listed
    explicitly (the built-in ``vela-user`` is not accepted then: ``--token`` binds every caller)."""
    token = bearer_token(headers)
    if token is None:
        raise ApiError(401, "no token present in request")
    if settings.token is None or same_token(token, settings.token):
        return
    listed = non_admin_tokens(settings) - {DEFAULT_NON_ADMIN}
    if not any(same_token(token, other) for other in listed):
        raise ApiError(401, "invalid token")


# -- helpers the handlers share ----------------------------------------------------------------


@functools.lru_cache(maxsize=1024)
def _user_name(seed: int, token: str) -> str:
    from buildmock.synth import Synth

    return Synth(seed, "vela").derive("user", token).person()[1]


def caller(rt: Runtime) -> str:
    """The user name behind the request's token (the same for the same seed and token)."""
    return _user_name(rt.settings.seed, bearer_token(request_headers()) or "")


def require_admin(rt: Runtime, message: str | None = None) -> None:
    """401 unless the caller is a platform admin (every token but the non-admin ones)."""
    if bearer_token(request_headers()) in non_admin_tokens(rt.settings):
        raise ApiError(401, message or f"user {caller(rt)} is not a platform admin")


def repo_id(rt: Runtime, org: str, repo: str, *, create: bool = False) -> int | None:
    """The id of ``org/repo`` (made on first create); 404 for an ill-formed name."""
    if not (model.valid_name(org) and model.valid_name(repo)):
        raise ApiError(404, f"unable to read repo {org}/{repo}: record not found")
    known = rt.store.get("repo", f"{org}/{repo}")
    if known is not None:
        return int(known["id"])
    if not create:
        return None
    new = rt.store.next_value("repo_id")
    rt.store.insert("repo", f"{org}/{repo}", {"id": new, "full_name": f"{org}/{repo}"})
    rt.store.insert("repo_name", str(new), {"full_name": f"{org}/{repo}"})
    return new


def full_name(rt: Runtime, record: dict[str, Any]) -> str:
    """``org/repo`` of the repository a build belongs to ("" for an unknown ``repo_id``)."""
    found = rt.store.get("repo_name", str(record["fields"]["repo_id"]))
    return str(found["full_name"]) if found else ""


def stored(rt: Runtime, org: str, repo: str, number: int) -> dict[str, Any]:
    """The build with this number in ``org/repo``, or Vela's 404."""
    rid = repo_id(rt, org, repo)
    slot = rt.store.get("slot", f"{rid}/{number}") if rid is not None else None
    record = rt.store.get(KIND, str(slot["id"])) if slot else None
    if record is None or (record["fields"]["repo_id"], record["fields"]["number"]) != (rid, number):
        raise ApiError(404, f"unable to read build {org}/{repo}/{number}: record not found")
    return record


def renderings(rt: Runtime) -> RenderCache:
    """The runtime's cache of encoded builds."""
    return render_cache(rt, model.render_build, model.change_times)


def save(rt: Runtime, record: dict[str, Any], old: dict[str, Any] | None = None) -> None:
    """Store a build and keep the ``(repo_id, number)`` index in step with it."""
    fields = record["fields"]
    slot = f"{fields['repo_id']}/{fields['number']}"
    if old is None:
        rt.store.insert(KIND, str(record["id"]), record)
    else:
        rt.store.replace(KIND, str(record["id"]), record)
        previous = f"{old['fields']['repo_id']}/{old['fields']['number']}"
        if previous != slot:
            rt.store.delete("slot", previous)
    if not rt.store.replace("slot", slot, {"id": record["id"]}):
        rt.store.insert("slot", slot, {"id": record["id"]})


def new_build(
    rt: Runtime, org: str, repo: str, given: dict[str, Any], *, parent: int | None, outcome: str | None,
    now: float | None = None, approval: bool = False,
) -> dict[str, Any]:  # fmt: skip
    """Plan and store a new build of ``org/repo`` (a create, a restart or a fixture)."""
    rid = repo_id(rt, org, repo, create=True)
    assert rid is not None
    number = rt.store.next_value(f"number:{org}/{repo}")
    while rt.store.get("slot", f"{rid}/{number}") is not None:  # an admin moved a build there
        number = rt.store.next_value(f"number:{org}/{repo}")
    # Vela's parent on create is the repo's previous counter, and 1 for the first build.
    parent = max(1, number - 1) if parent is None else parent
    record = model.plan_build(
        rt.synth, org=org, repo=repo, ids=(rt.store.next_value("build_id"), rid, number, parent),
        now=rt.now() if now is None else now, speed=rt.settings.speed,
        outcome=outcome or model.draw_outcome(rt.synth), given=given, approval=approval,
    )  # fmt: skip
    for kind, count in model.sub_counts(record).items():
        # Steps, services and logs take ids from server-wide sequences, as Vela's tables do.
        record["sub_ids"][kind] = rt.store.next_values(f"{kind}_id", count) if count else 0
    save(rt, record)
    return record


def forced_outcome() -> str | None:
    """The outcome asked for with ``Prefer: outcome=…``."""
    return preferred_outcome(request_headers(), model.OUTCOMES)


def approval_wanted() -> bool:
    """``Prefer: approval=required``: the build waits in ``pending approval`` (as a fork's pull request
    does under a repository's approval policy; v0.23's build body has no field that says so)."""
    for part in request_headers().get("prefer", "").split(","):
        key, _, value = part.strip().partition("=")
        if key.strip().lower() == "approval":
            wanted = value.strip().strip('"')
            if wanted != "required":
                raise ApiError(400, f"Prefer: approval={wanted} is not one of required")
            return True
    return False


# -- handlers (operationIds of specs/vela.yaml) ------------------------------------------------


async def admin_update_build(rt: Runtime, body: dict[str, Any]) -> Response:
    """PUT /api/v1/admin/build: overwrite the build ``id`` selects with what the body gives."""
    require_admin(rt)
    model.check_int64(body)
    refusal = model.admin_refusal(body)
    if refusal:
        raise ApiError(400, refusal)
    old = rt.store.get(KIND, str(body["id"]))
    if old is None:
        raise ApiError(404, f"unable to update build {body['id']}: record not found")
    record = model.overwrite(old, body, rt.now())
    place = ("repo_id", "number")
    if any(record["fields"][k] != old["fields"][k] for k in place):
        # The mock keeps a build at its address (org/repo/number); Vela's database would let the
        # row move, after which every link to the build breaks.
        raise ApiError(
            409, f"unable to update build {body['id']}: repo_id and number cannot be changed"
        )
    save(rt, record, old)
    return json_response(model.render_build(record, rt.now()))


async def admin_list_queue(rt: Runtime, after: int | None = None) -> Response:
    """GET /api/v1/admin/builds/queue: pending and running builds created after ``after``."""
    require_admin(rt)
    model.check_query_int64("after", after, "")
    now = rt.now()
    since = int(now) - 86_400 if after is None else after
    entries = []
    for _, record in rt.store.scan(KIND):
        entry = model.queue_entry(record, now, full_name(rt, record))
        if entry is not None and record["fields"]["created"] > since:
            entries.append(entry)
    return json_response(entries)


async def create_build(rt: Runtime, org: str, repo: str, body: dict[str, Any]) -> Response:
    """POST /api/v1/repos/{org}/{repo}/builds (201)."""
    model.check_int64(body)
    record = new_build(
        rt, org, repo, body, parent=None, outcome=forced_outcome(), approval=approval_wanted()
    )
    return json_response(model.render_created(record, rt.now()), 201)


def shows(
    record: dict[str, Any], now: float, wanted: dict[str, str | None], status: str | None
) -> bool:
    """Whether a list filtered on ``wanted`` fields and ``status`` shows the build at ``now``.

    Rendering changes none of those fields but the status (read from the marks), so only the
    page shown is rendered."""
    fields = record["fields"]
    if any(v is not None and fields[k] != v for k, v in wanted.items()):
        return False
    return status is None or model.status_at(record, now) == status


def page_of(
    rt: Runtime, records: list[dict[str, Any]], now: float, page: int, per_page: int
) -> Response:
    """One page of ``records`` (sorted), rendered, with Vela's paging headers."""
    headers = model.paging_headers(
        str(request_url().replace(query="")), page, per_page, len(records)
    )
    cache = renderings(rt)
    taken = records[(page - 1) * per_page : page * per_page]
    return json_response([cache.fragment(str(r["id"]), r, now) for r in taken], headers=headers)


async def list_builds(
    rt: Runtime, org: str, repo: str, event: str | None = None, commit: str | None = None,
    branch: str | None = None, status: str | None = None, before: int | None = None, after: int = 0,
    page: int = 1, per_page: int = 10,
) -> Response:  # fmt: skip
    """GET /api/v1/repos/{org}/{repo}/builds: newest number first, filtered, paged."""
    for name, value in (
        ("before", before),
        ("after", after),
        ("page", page),
        ("per_page", per_page),
    ):
        model.check_query_int64(name, value, f" for repo {org}/{repo}")
    rid, now = repo_id(rt, org, repo), rt.now()
    until = int(now) + 1 if before is None else before
    wanted = {"event": event, "commit": commit, "branch": branch}
    shown = [
        record
        for _, record in rt.store.scan(KIND)
        if record["fields"]["repo_id"] == rid
        and after < record["fields"]["created"] < until
        and shows(record, now, wanted, status)
    ]
    shown.sort(key=lambda r: (r["fields"]["number"], r["fields"]["id"]), reverse=True)
    return page_of(rt, shown, now, page, per_page)


async def get_build(rt: Runtime, org: str, repo: str, build: int) -> Response:
    """GET /api/v1/repos/{org}/{repo}/builds/{build}."""
    record = stored(rt, org, repo, build)
    return renderings(rt).response(str(record["id"]), record, rt.now())


async def update_build(
    rt: Runtime, org: str, repo: str, build: int, body: dict[str, Any]
) -> Response:
    """PUT /api/v1/repos/{org}/{repo}/builds/{build}: a worker's progress update."""
    require_admin(rt, "invalid token: must provide matching worker build token")
    model.check_int64(body)
    old = stored(rt, org, repo, build)
    record = model.worker_update(old, body, rt.now())
    save(rt, record, old)
    return json_response(model.render_build(record, rt.now()))


async def delete_build(rt: Runtime, org: str, repo: str, build: int) -> Response:
    """DELETE /api/v1/repos/{org}/{repo}/builds/{build} (platform admins)."""
    require_admin(rt)
    record = stored(rt, org, repo, build)
    rt.store.delete(KIND, str(record["id"]))
    rt.store.delete("slot", f"{record['fields']['repo_id']}/{build}")
    return json_response(f"build {org}/{repo}/{build} deleted")


async def restart_build(rt: Runtime, org: str, repo: str, build: int) -> Response:
    """POST /api/v1/repos/{org}/{repo}/builds/{build}: a new build copied from this one (201)."""
    old, now = stored(rt, org, repo, build), rt.now()
    model.restart_refusal(old, now, f"{org}/{repo}")
    given = model.restart_fields(old, now, caller(rt))
    record = new_build(rt, org, repo, given, parent=build, outcome=forced_outcome())
    return json_response(model.render_created(record, now), 201)


async def cancel_build(rt: Runtime, org: str, repo: str, build: int) -> Response:
    """DELETE /api/v1/repos/{org}/{repo}/builds/{build}/cancel."""
    old, now = stored(rt, org, repo, build), rt.now()
    record = model.cancel(old, now, f"{org}/{repo}", caller(rt))
    save(rt, record, old)
    return json_response(model.render_build(record, now))


async def get_build_token(rt: Runtime, org: str, repo: str, build: int) -> Response:
    """GET …/builds/{build}/token: a build token for the worker about to run a pending build."""
    # Vela wants a worker's auth token here; the mock's platform admins stand in for its workers.
    require_admin(rt, "invalid token type: must provide a worker auth token")
    record = stored(rt, org, repo, build)
    key = f"buildmock-vela-{rt.settings.seed}".encode()
    return json_response(model.build_token(record, rt.now(), f"{org}/{repo}", key))


async def approve_build(rt: Runtime, org: str, repo: str, build: int) -> Response:
    """POST /api/v1/repos/{org}/{repo}/builds/{build}/approve."""
    old, now = stored(rt, org, repo, build), rt.now()
    record = model.approve(rt.synth, old, now, rt.settings.speed, f"{org}/{repo}", caller(rt))
    save(rt, record, old)
    return json_response(f"Successfully approved build {org}/{repo}/{build}")


async def list_org_builds(
    rt: Runtime, org: str, event: str | None = None, branch: str | None = None,
    status: str | None = None, page: int = 1, per_page: int = 10,
) -> Response:  # fmt: skip
    """GET /api/v1/repos/{org}/builds: the builds of every repository of ``org``, newest first."""
    if not model.valid_name(org):
        raise ApiError(404, f"unable to read org {org}: record not found")
    now, prefix = rt.now(), f"{org}/"
    shown = [
        record
        for _, record in rt.store.scan(KIND)
        if full_name(rt, record).startswith(prefix)
        and shows(record, now, {"event": event, "branch": branch}, status)
    ]
    shown.sort(key=lambda r: (-r["fields"]["created"], r["fields"]["id"]))
    return page_of(rt, shown, now, page, per_page)


async def get_build_by_id(rt: Runtime, id_: int) -> Response:
    """GET /api/v1/search/builds/{id}: a build by its server-wide id (Connexion passes ``id`` as ``id_``)."""
    record = rt.store.get(KIND, str(id_))
    if record is None:
        raise ApiError(404, f"unable to get build: record not found (build {id_})")
    return json_response(model.render_build(record, rt.now()))


def _paged(items: list[dict[str, Any]], page: int, per_page: int) -> Response:
    """One page of ``items`` with Vela's paging headers."""
    headers = model.paging_headers(str(request_url().replace(query="")), page, per_page, len(items))
    return json_response(items[(page - 1) * per_page : page * per_page], headers=headers)


def _component(
    rt: Runtime, org: str, repo: str, build: int, kind: str, number: int
) -> tuple[dict[str, Any], dict[str, Any], str]:
    """The build, its step or service ``number`` and Vela's name for it, or Vela's 404."""
    record = stored(rt, org, repo, build)
    entry = f"{org}/{repo}/{build}/{number}"
    found = pipeline.find(record, kind, number, rt.now())
    if found is None:
        raise ApiError(404, f"unable to read {kind} {entry}: record not found")
    return record, found, entry


async def get_build_graph(rt: Runtime, org: str, repo: str, build: int) -> Response:
    """GET …/builds/{build}/graph: stages and services as nodes, their order as edges."""
    record = stored(rt, org, repo, build)
    return json_response(pipeline.render_graph(record, org, repo, rt.now()))


async def list_build_logs(
    rt: Runtime, org: str, repo: str, build: int, page: int = 1, per_page: int = 10
) -> Response:
    """GET …/builds/{build}/logs: every log of the build, services' first."""
    record = stored(rt, org, repo, build)
    return _paged(pipeline.render_logs(record, rt.now()), page, per_page)


def _list_components(
    rt: Runtime, org: str, repo: str, build: int, kind: str, page: int, per_page: int
) -> Response:
    """One page of a build's steps or services, newest id first (``id DESC``)."""
    record = stored(rt, org, repo, build)
    shown = pipeline.render_components(record, kind, rt.now())
    return _paged(list(reversed(shown)), page, per_page)


def _get_component(
    rt: Runtime, org: str, repo: str, build: int, kind: str, number: int, log: bool
) -> Response:
    """A build's step or service ``number``, or its log (Vela: 500 when it has none; here 404)."""
    record, found, entry = _component(rt, org, repo, build, kind, number)
    if not log:
        return json_response(found)
    shown = pipeline.render_log(record, kind, found, rt.now())
    if shown is None:
        raise ApiError(404, f"unable to get logs for {kind} {entry}: record not found")
    return json_response(shown)


def _create_component(
    rt: Runtime, org: str, repo: str, build: int, kind: str, body: dict[str, Any]
) -> Response:
    """A step or service a platform admin adds to a build (201)."""
    require_admin(rt)
    old = stored(rt, org, repo, build)
    record, made = pipeline.add_component(
        old, kind, body, rt.store.next_value(f"{kind}_id"), rt.now(), f"{org}/{repo}/{build}"
    )
    save(rt, record, old)
    return json_response(made, 201)


def _update_component(
    rt: Runtime, org: str, repo: str, build: int, kind: str, number: int, body: dict[str, Any]
) -> Response:
    """A worker's progress report on a step or service."""
    require_admin(rt, "invalid token: must provide matching worker build token")
    old, found, _ = _component(rt, org, repo, build, kind, number)
    record, updated = pipeline.edit_component(old, kind, found, body)
    save(rt, record, old)
    return json_response(updated)


def _delete_component(
    rt: Runtime, org: str, repo: str, build: int, kind: str, number: int
) -> Response:
    """A platform admin deletes a step or service."""
    require_admin(rt)
    old, found, entry = _component(rt, org, repo, build, kind, number)
    save(rt, pipeline.remove_component(old, kind, found), old)
    return json_response(f"{kind} {entry} deleted")


def _write_log(
    rt: Runtime, org: str, repo: str, build: int, kind: str, number: int, action: str,
    body: dict[str, Any] | None = None,
) -> Response:  # fmt: skip
    """Create, update or delete the log of a step or service."""
    if action == "update":
        require_admin(rt, "invalid token: must provide matching worker build token")
    elif action == "delete":
        require_admin(rt)
    old, found, entry = _component(rt, org, repo, build, kind, number)
    data = str((body or {}).get("data") or "")
    new_id = rt.store.next_value("log_id") if action == "create" else 0
    record = pipeline.write_log(old, kind, found, action, data, rt.now(), entry, new_id)
    save(rt, record, old)
    if action == "delete":
        return json_response(f"logs deleted for {kind} {entry}")
    return json_response(None, 201 if action == "create" else 200)


Handler = Callable[..., Awaitable[Response]]


def _component_handlers(kind: str) -> tuple[Handler, ...]:
    """The nine operations on a build's steps (``kind`` "step") or services, and on their logs.

    Connexion passes the path parameter by its name (``step`` or ``service``), hence ``**number``.
    """

    async def listing(
        rt: Runtime, org: str, repo: str, build: int, page: int = 1, per_page: int = 10
    ) -> Response:
        """GET …/builds/{build}/{kind}s."""
        return _list_components(rt, org, repo, build, kind, page, per_page)

    async def create(
        rt: Runtime, org: str, repo: str, build: int, body: dict[str, Any]
    ) -> Response:
        """POST …/builds/{build}/{kind}s (platform admins)."""
        return _create_component(rt, org, repo, build, kind, body)

    async def get(rt: Runtime, org: str, repo: str, build: int, **number: int) -> Response:
        """GET …/{kind}s/{number}."""
        return _get_component(rt, org, repo, build, kind, number[kind], log=False)

    async def update(
        rt: Runtime, org: str, repo: str, build: int, body: dict[str, Any], **number: int
    ) -> Response:
        """PUT …/{kind}s/{number}: a worker's progress report."""
        return _update_component(rt, org, repo, build, kind, number[kind], body)

    async def delete(rt: Runtime, org: str, repo: str, build: int, **number: int) -> Response:
        """DELETE …/{kind}s/{number} (platform admins)."""
        return _delete_component(rt, org, repo, build, kind, number[kind])

    async def get_log(rt: Runtime, org: str, repo: str, build: int, **number: int) -> Response:
        """GET …/{kind}s/{number}/logs: the log so far."""
        return _get_component(rt, org, repo, build, kind, number[kind], log=True)

    def log_writer(action: str) -> Handler:
        async def write(
            rt: Runtime, org: str, repo: str, build: int, body: Any = None, **number: int
        ) -> Response:
            """POST (201, null), PUT (200, null) or DELETE …/{kind}s/{number}/logs."""
            return _write_log(rt, org, repo, build, kind, number[kind], action, body)

        return write

    return (listing, create, get, update, delete, get_log,
            log_writer("create"), log_writer("update"), log_writer("delete"))  # fmt: skip


(list_steps, create_step, get_step, update_step, delete_step, get_step_log, create_step_log,
 update_step_log, delete_step_log) = _component_handlers("step")  # fmt: skip
(list_services, create_service, get_service, update_service, delete_service, get_service_log,
 create_service_log, update_service_log, delete_service_log) = _component_handlers("service")  # fmt: skip


# -- fixtures ----------------------------------------------------------------------------------


def _fixture_repo(
    fixtures: FixtureContext, where: str, entry: dict[str, Any], key: str
) -> tuple[str, str]:
    """The ``org`` and repo name (under ``key``) of a fixture entry, both well-formed."""
    org, name = entry.get("org"), entry.get(key)
    if not (isinstance(org, str) and isinstance(name, str)):
        raise fixtures.error(where, f"needs a well-formed `org` and `{key}`")
    if not (model.valid_name(org) and model.valid_name(name)):
        raise fixtures.error(where, f"needs a well-formed `org` and `{key}`")
    return org, name


def load_fixtures(rt: Runtime, fixtures: FixtureContext) -> None:
    """``repos`` (org, name) and ``builds`` (org, repo, build fields, plus outcome, age, approval,
    canceled_by)."""
    for where, entry in fixtures.items("repos"):
        org, name = _fixture_repo(fixtures, where, entry, "name")
        repo_id(rt, org, name, create=True)
    origin = rt.now()
    for where, entry in fixtures.items("builds"):
        org, name = _fixture_repo(fixtures, where, entry, "repo")
        fields = {
            k: v
            for k, v in entry.items()
            if k not in ("org", "repo", "outcome", "age", "canceled_by", "approval")
        }
        fixtures.check(where, fields, "BuildCreate")
        outcome = fixtures.expect(where, entry, "outcome", str, "success")
        if outcome not in model.OUTCOMES:
            raise fixtures.error(f"{where}.outcome", f"must be one of {', '.join(model.OUTCOMES)}")
        age = float(fixtures.expect(where, entry, "age", (int, float), 0))  # type: ignore[arg-type]
        approval = fixtures.expect(where, entry, "approval", str, None)
        if approval not in (None, "required"):
            raise fixtures.error(f"{where}.approval", "must be `required` when given")
        record = new_build(
            rt, org, name, fields, parent=None, outcome=outcome, now=origin - age,
            approval=approval == "required",
        )  # fmt: skip
        canceled_by = fixtures.expect(where, entry, "canceled_by", str, None)
        if canceled_by is not None:
            try:
                canceled = model.cancel(record, origin, f"{org}/{name}", canceled_by)
            except ApiError as exc:
                raise fixtures.error(f"{where}.canceled_by", exc.message) from exc
            save(rt, canceled, record)


VENDOR = register(
    Vendor(
        name="vela",
        title="Vela",
        render_error=render_error,
        authenticate=authenticate,
        load_fixtures=load_fixtures,
        views=(build_view(model.render_build),),
        options=(NON_ADMIN,),
    )
)
