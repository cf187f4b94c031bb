"""Stainless (``/stainless``): handlers for ``specs/stainless.yaml``."""

from __future__ import annotations

import functools
from collections.abc import Iterator
from typing import Any

from starlette.responses import Response

from buildmock.core.errors import ApiError
from buildmock.domain import stainless as model
from buildmock.fixtures import FixtureContext
from buildmock.store import forms
from buildmock.vendors.base import (
    Headers,
    RenderCache,
    Runtime,
    Vendor,
    build_view,
    check_bearer,
    decode_cursor,
    encode_cursor,
    json_response,
    page,
    preferred_outcome,
    register,
    render_cache,
    request_headers,
)

KIND = "build"


def render_error(error: ApiError) -> Response:
    """Stainless's error body: ``{"error": "..."}``."""
    return json_response({"error": error.message}, error.status, error.headers)


def authenticate(headers: Headers, settings: Any) -> None:
    """``Authorization: Bearer <STAINLESS_API_KEY>``."""
    check_bearer(headers, settings)


# -- helpers the handlers share ----------------------------------------------------------------


@functools.lru_cache(maxsize=4096)
def _implied_project(seed: int, name: str) -> model.Project:
    from buildmock.synth import Synth

    return model.synth_project(Synth(seed, "stainless"), name)


def project(rt: Runtime, name: str | None) -> model.Project:
    """A declared (fixture) project, else the one a well-formed name implies; 400/404 otherwise."""
    if not name:
        raise ApiError(400, "`project` is required")
    declared = rt.store.get("project", name)
    if declared is not None:
        return model.Project(name, declared["org"], tuple(declared["targets"]))
    if not model.valid_project(name):
        raise ApiError(404, f"project {name!r} not found")
    return _implied_project(rt.settings.seed, name)


def create(rt: Runtime, body: dict[str, Any], outcome: str | None = None) -> dict[str, Any]:
    """Plan and store a build for a create (or one side of a compare) request."""
    proj = project(rt, body.get("project"))
    branch = model.infer_branch(body["revision"], body.get("branch"))
    wanted = tuple(body.get("targets") or proj.targets)
    record = model.plan_build(
        rt.synth,
        proj,
        now=rt.now(),
        speed=rt.settings.speed,
        revision=body["revision"],
        branch=branch,
        targets=tuple(dict.fromkeys(wanted)),
        outcome=outcome or model.draw_outcome(rt.synth),
    )
    rt.store.insert(KIND, record["id"], record)
    return record


def stored(rt: Runtime, build_id: str) -> dict[str, Any]:
    """The build with this id, or Stainless's 404."""
    record = rt.store.get(KIND, build_id)
    if record is None:
        raise ApiError(404, f"build {build_id} not found")
    return record


#: A build as sent (never read back): parts that need no deriving come encoded.
_send = functools.partial(model.render_build, encoded=True)


def renderings(rt: Runtime) -> RenderCache:
    """The runtime's cache of encoded builds."""
    return render_cache(rt, _send, model.change_times)


def forced_outcome() -> str | None:
    """The outcome asked for with ``Prefer: outcome=…``."""
    return preferred_outcome(request_headers(), model.OUTCOMES)


# -- handlers (operationIds of specs/stainless.yaml) ------------------------------------------


async def create_build(rt: Runtime, body: dict[str, Any]) -> Response:
    """POST /v0/builds."""
    record = create(rt, body, forced_outcome())
    return json_response(_send(record, rt.now()))


async def retrieve_build(rt: Runtime, build_id: str) -> Response:
    """GET /v0/builds/{buildId}."""
    return renderings(rt).response(build_id, stored(rt, build_id), rt.now())


async def list_builds(
    rt: Runtime,
    project: str | None = None,
    branch: str | None = None,
    revision: str | None = None,
    cursor: str | None = None,
    limit: float = 10,
) -> Response:
    """GET /v0/builds: newest first, filtered, cursor-paged (``{data, next_cursor?}``)."""
    name = globals()["project"](rt, project).name

    def keep(r: dict[str, Any]) -> bool:
        return (branch is None or r["branch"] == branch) and (
            revision is None or revision in (r["revision"], r["config_commit"])
        )

    before = decode_cursor(cursor) if cursor else None
    builds = rt.store.scan(KIND, before=before, where={"project": name})
    records, more = page(builds, int(limit), keep)
    now = rt.now()
    cache = renderings(rt)
    body: dict[str, Any] = {"data": [cache.fragment(r["id"], r, now) for r in records]}
    if more is not None:
        body["next_cursor"] = encode_cursor(more)
    return json_response(body)


async def compare_builds(rt: Runtime, body: dict[str, Any]) -> Response:
    """POST /v0/builds/compare: two builds, base and head."""
    outcome = forced_outcome()
    sides = {
        side: create(
            rt,
            {"project": body.get("project"), "targets": body.get("targets"), **body[side]},
            outcome,
        )
        for side in ("base", "head")
    }
    now = rt.now()
    return json_response({side: _send(r, now) for side, r in sides.items()})


async def list_diagnostics(
    rt: Runtime,
    build_id: str,
    cursor: str | None = None,
    limit: float = 100,
    severity: str | None = None,
    targets: str | None = None,
) -> Response:
    """GET /v0/builds/{buildId}/diagnostics (``targets``: comma-delimited, as the SDK sends it)."""
    found = model.diagnostics(rt.synth, stored(rt, build_id))
    levels = model.SEVERITY[: model.SEVERITY.index(severity) + 1] if severity else model.SEVERITY
    wanted = {name.strip() for name in (targets or "").split(",")} - {""}
    matching = [
        d for d in found if d["level"] in levels and (not wanted or d["_target"] in wanted | {None})
    ]
    start, size = (decode_cursor(cursor) if cursor else 0), int(limit)
    chunk = matching[start : start + size]
    body: dict[str, Any] = {
        "data": [{k: v for k, v in d.items() if not k.startswith("_")} for d in chunk]
    }
    if start + size < len(matching):
        body["next_cursor"] = encode_cursor(start + size)
    return json_response(body)


async def retrieve_build_target_output(
    rt: Runtime, build_id: str, target: str, type_: str, output: str = "url"
) -> Response:
    """GET /v0/build_target_outputs."""
    record = stored(rt, build_id)
    if target not in record["targets"]:
        raise ApiError(404, f"target {target} is not part of build {build_id}")
    if not model.target_completed(record, target, rt.now()):
        raise ApiError(404, f"target {target} of build {build_id} has no outputs yet")
    if output == "git" and type_ != "source":
        raise ApiError(404, f"no git output of type {type_}: only type=source has one")
    if type_ == "wheel" and target != "python":
        raise ApiError(404, f"no wheel output for target {target}: only python has one")
    commit = model.output_commit(record, target)
    if commit is None:  # target_completed() above already refused a failed code generation
        raise ApiError(404, f"target {target} of build {build_id} has no outputs")
    if output == "git":
        token = rt.synth.derive("token", build_id, target).token(
            "ABCDEFabcdef0123456789", 36, "ghs_"
        )
        url = f"https://github.com/{commit['repo']['owner']}/{commit['repo']['name']}.git"
        return json_response(
            {
                "output": "git",
                "target": target,
                "type": type_,
                "url": url,
                "ref": commit["sha"],
                "token": token,
            }
        )
    url = f"https://storage.stainless.com/outputs/{build_id}/{target}/{type_}.tar.gz"
    return json_response({"output": "url", "target": target, "type": type_, "url": url})


# -- fixtures ----------------------------------------------------------------------------------


def load_fixtures(rt: Runtime, fixtures: FixtureContext) -> None:
    """``projects`` (name, org, targets) and ``builds`` (create params plus outcome and age)."""
    for where, entry in fixtures.items("projects"):
        name = entry.get("name")
        if not isinstance(name, str) or not model.valid_project(name):
            raise fixtures.error(f"{where}.name", "must be a well-formed project name")
        org = fixtures.expect(where, entry, "org", str, name.split("-", 1)[0])
        targets = entry.get("targets", ["typescript", "python"])
        fixtures.check(f"{where}.targets", targets, "BuildCreateParams/properties/targets")
        rt.store.insert("project", name, {"name": name, "org": org, "targets": list(targets)})
    origin = rt.now()
    planned = []
    for where, entry in fixtures.items("builds"):
        params = {k: v for k, v in entry.items() if k not in ("outcome", "age")}
        fixtures.check(where, params, "BuildCreateParams")
        outcome = fixtures.expect(where, entry, "outcome", str, "success")
        if outcome not in model.OUTCOMES:
            raise fixtures.error(f"{where}.outcome", f"must be one of {', '.join(model.OUTCOMES)}")
        age = float(fixtures.expect(where, entry, "age", (int, float), 0))  # type: ignore[arg-type]
        try:
            proj = project(rt, params["project"])
            record = model.plan_build(
                rt.synth,
                proj,
                now=origin - age,
                speed=rt.settings.speed,
                revision=params["revision"],
                outcome=outcome,
                branch=model.infer_branch(params["revision"], params.get("branch")),
                targets=tuple(dict.fromkeys(params.get("targets") or proj.targets)),
            )
        except ApiError as exc:
            raise fixtures.error(where, exc.message) from exc
        planned.append(record)
    # Oldest first, so that lists (newest first) show them in creation order.
    for record in sorted(planned, key=lambda r: r["created_at"]):
        rt.store.insert(KIND, record["id"], record)


def _conclusions(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "conclusion" and isinstance(value, str):
                yield value
            else:
                yield from _conclusions(value)


def _status(body: dict[str, Any]) -> str:
    """``in progress``, or ``completed`` with the conclusions other than success, for the dashboard."""
    if any(target["status"] != "completed" for target in body["targets"].values()):
        return "in progress"
    unhappy = sorted(set(_conclusions(body["targets"])) - {"success"})
    return f"completed ({', '.join(unhappy)})" if unhappy else "completed (success)"


def _timeline(record: dict[str, Any]) -> list[tuple[str, float]]:
    marks = [
        (f"{name}: {state}", float(at))
        for name, target in record["targets"].items()
        for state, at in model.target_marks(target)
    ]
    return sorted(marks, key=lambda mark: mark[1])


VENDOR = register(
    Vendor(
        name="stainless",
        title="Stainless",
        render_error=render_error,
        authenticate=authenticate,
        load_fixtures=load_fixtures,
        credentials=lambda token: {"Authorization": f"Bearer {token}"},
        views=(build_view(model.render_build, _status, _timeline),),
        forms={KIND: forms.Form(model.document_form, model.stored_form)},
    )
)
