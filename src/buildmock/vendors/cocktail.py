"""Cocktail Cloud (``/cocktail``): handlers for ``specs/cocktail.yaml``, and completion callbacks."""

from __future__ import annotations

import functools
import itertools
from typing import Any

import orjson
from starlette.responses import Response

from buildmock.callbacks import CallbackDispatcher
from buildmock.core.errors import ApiError
from buildmock.domain import cocktail as model
from buildmock.fixtures import FixtureContext
from buildmock.settings import VendorOption
from buildmock.store.redis import RedisStore
from buildmock.vendors.base import (
    Headers,
    RenderCache,
    Runtime,
    Vendor,
    View,
    json_response,
    preferred_outcome,
    register,
    render_cache,
    request_headers,
    stored_marks,
)

KIND = "run"
#: Index of step runs: ``buildStepRunSeq`` -> the run that holds it.
STEP = "step"
CALLBACKS = "callbacks"

#: Cocktail error codes by HTTP status when the error names none. Framework errors are the server's
#: ``K8sApiStatus<status>`` (CKSY1<status>000): an unknown path is NoHandlerFound (CKSY1404000); handlers
#: name their own code (ResourceNotFound CCCM1013000, InvalidState CCCM1007000, …).
_CODES = {401: "CCCM1009000", 409: "CCCM1007000"}


def _error_body(error: ApiError) -> dict[str, Any]:
    code = error.extra.get("code") or _CODES.get(error.status) or f"CKSY1{error.status:03d}000"
    return {
        "status": "error",
        "code": code,
        "message": error.message,
        "httpStatusCode": error.status,
    }


def render_error(error: ApiError) -> Response:
    """Cocktail's ``ResultVO`` on failure: ``{"status": "error", "code", "message", …}``, 4xx."""
    return json_response(_error_body(error), error.status, error.headers)


def render_vendor_error(error: ApiError) -> Response:
    """The same ``ResultVO`` with HTTP 200, as Cocktail's exception handlers answer."""
    return json_response(_error_body(error), 200, error.headers)


#: How failures are answered: ``http`` (a 4xx status) or ``vendor`` (HTTP 200, as Cocktail does).
ERRORS = VendorOption(
    "cocktail-errors",
    default="http",
    choices=("http", "vendor"),
    help="http: Cocktail errors carry a 4xx status (default); vendor: HTTP 200 with the ResultVO "
    "status 'error', as Cocktail's own server answers",
)


def error_renderer(settings: Any) -> Any:
    """``--cocktail-errors``: ``http`` (default) or ``vendor`` (HTTP 200)."""
    return render_vendor_error if ERRORS.of(settings) == "vendor" else render_error


def authenticate(headers: Headers, settings: Any) -> None:
    """The gateway's ``user-id``, ``user-role`` and ``user-workspace`` headers, all three."""
    user, role, workspace = (
        headers.get(h, "").strip() for h in ("user-id", "user-role", "user-workspace")
    )
    if not (user.isdigit() and workspace.isdigit() and role):
        raise ApiError(401, "Not authorized to request. Please log in again.", code="CCCM1009000")


def _result_vo(result: Any) -> dict[str, Any]:
    return {"status": "ok", "code": None, "message": None, "result": result}


def ok(result: Any) -> Response:
    """A success in Cocktail's ``ResultVO`` envelope."""
    return json_response(_result_vo(result))


# -- helpers the handlers share ----------------------------------------------------------------


@functools.lru_cache(maxsize=4096)
def _implied_build(seed: int, build_seq: int) -> dict[str, Any]:
    from buildmock.synth import Synth

    return model.synth_build(Synth(seed, "cocktail"), build_seq)


#: ``ok(run)``'s bytes around the run: a GET's whole answer is kept with the run's encoding.
_before, _, _after = orjson.dumps(_result_vo(orjson.Fragment(b"RESULT"))).partition(b"RESULT")
OK_ENVELOPE = (_before, _after)


def renderings(rt: Runtime) -> RenderCache:
    """The runtime's cache of encoded runs."""
    return render_cache(rt, model.render_run, model.change_times, envelope=OK_ENVELOPE)


def build(rt: Runtime, build_seq: int) -> dict[str, Any]:
    """The build definition: declared by a fixture, else implied by its number."""
    return rt.store.get("build", str(build_seq)) or _implied_build(rt.settings.seed, build_seq)


def not_found(build_run_seq: int) -> ApiError:
    """Cocktail's ResourceNotFound (404) for a build run."""
    return ApiError(
        404, f"Build run not found. [buildRunSeq : {build_run_seq}]", code="CCCM1013000"
    )


def stored(rt: Runtime, build_run_seq: int) -> dict[str, Any]:
    """The run with this number, or Cocktail's ResourceNotFound (404)."""
    record = rt.store.get(KIND, str(build_run_seq))
    if record is None:
        raise not_found(build_run_seq)
    return record


def dispatcher(rt: Runtime) -> CallbackDispatcher:
    """The callback dispatcher of this runtime (made by :func:`on_start`)."""
    found = rt.services.get(CALLBACKS)
    if found is None:
        on_start(rt)
        found = rt.services[CALLBACKS]
    return found


def save(rt: Runtime, record: dict[str, Any], *, new: bool) -> None:
    """Store a run and (re)schedule its callback for when it ends."""
    key = str(record["buildRunSeq"])
    if new:
        rt.store.insert(KIND, key, record)
        for step in record["steps"]:
            rt.store.insert(STEP, str(step["buildStepRunSeq"]), {"buildRunSeq": key})
    else:
        rt.store.replace(KIND, key, record)
    dispatcher(rt).schedule(key, record["callbackUrl"], model.end_of(record))


def start_run(
    rt: Runtime,
    build_seq: int,
    *,
    now: float,
    outcome: str,
    tag: str | None,
    desc: str | None,
    url: str | None,
    history: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Plan a BUILD run of ``build_seq`` with fresh numbers (from a ``history`` run's steps if given)."""
    definition = build(rt, build_seq) if history is None else {**history["build"], "steps": []}
    steps = model.history_steps(history) if history is not None else definition["steps"]
    return model.plan_run(
        rt.synth, definition, build_run_seq=rt.store.next_value("buildRunSeq"),
        build_no=rt.store.next_value(f"buildNo:{build_seq}"),
        step_run_seqs=[rt.store.next_value("buildStepRunSeq") for _ in range(len(steps) + 1)],
        now=now, speed=rt.settings.speed, outcome=outcome, tag_name=tag, description=desc, callback_url=url,
        steps_from=steps if history is not None else None,
    )  # fmt: skip


def remove(rt: Runtime, runs: list[dict[str, Any]]) -> None:
    """Delete runs (and their step index), calling back first any that already finished."""
    callbacks = dispatcher(rt)
    callbacks.tick()  # a run that already finished is called back before it goes
    for run in runs:
        key = str(run["buildRunSeq"])
        callbacks.forget(key)
        rt.store.delete(KIND, key)
        for step in run["steps"]:
            rt.store.delete(STEP, str(step["buildStepRunSeq"]))


def runs_of(rt: Runtime, build_seq: int, limit: int | None = None) -> list[dict[str, Any]]:
    """The stored runs of a build, newest first (at most ``limit``)."""
    scan = (r for _, r in rt.store.scan(KIND, where={"buildSeq": build_seq}))
    return list(itertools.islice(scan, limit))


def outcome_of_request(rt: Runtime) -> str:
    """``Prefer: outcome=`` if the request forces one, else drawn from the seed."""
    forced = preferred_outcome(request_headers(), tuple(model.OUTCOMES))
    return model.OUTCOMES[forced] if forced else model.draw_outcome(rt.synth)


# -- handlers (operationIds of specs/cocktail.yaml) --------------------------------------------


async def run_build(
    rt: Runtime,
    build_seq: int,
    tag_name: str | None = None,
    description: str | None = None,
    callback_url: str | None = None,
) -> Response:
    """POST /v1/build/run/{buildSeq}: a new BUILD run (``Prefer: outcome=ERROR`` forces a failure)."""
    outcome, now = outcome_of_request(rt), rt.now()
    url = model.callback_with_user(callback_url, caller())
    record = start_run(
        rt, build_seq, now=now, outcome=outcome, tag=tag_name, desc=description, url=url
    )
    save(rt, record, new=True)
    return ok(model.render_run(record, now))


async def rerun_build_from_history(
    rt: Runtime,
    build_seq: int,
    build_run_seq: int,
    body: dict[str, Any],
    tag_name: str | None = None,
    description: str | None = None,
    callback_url: str | None = None,
) -> Response:
    """POST /v1/build/run/{buildSeq}/{buildRunSeq}: a new BUILD run from a history run's steps."""
    history = stored(rt, build_run_seq)
    if history["buildSeq"] != build_seq or history["kind"] != "BUILD":
        raise not_found(build_run_seq)
    autotag = {k: body[k] for k in ("autotagUseYn", "autotagPrefix", "autotagSeqType") if k in body}
    history = {**history, "build": {**history["build"], **autotag}}
    outcome, now = outcome_of_request(rt), rt.now()
    tag = tag_name or body.get("tagName") or None
    record = start_run(
        rt, build_seq, now=now, outcome=outcome, tag=tag, desc=description,
        url=model.callback_with_user(callback_url, caller()), history=history,
    )  # fmt: skip
    save(rt, record, new=True)
    return ok(model.render_run(record, now))


async def list_build_runs(rt: Runtime, build_seq: int) -> Response:
    """GET /v1/build/run?buildSeq=: the build's runs, newest first, at most ``LIST_LIMIT``."""
    now, cache = rt.now(), renderings(rt)
    runs = runs_of(rt, build_seq, model.LIST_LIMIT)
    return ok([cache.fragment(str(r["buildRunSeq"]), r, now) for r in runs])


async def list_latest_build_runs(
    rt: Runtime,
    account_seq: int | None = None,
    service_seq: int | None = None,
    limit_count: int = model.LATEST_DEFAULT,
) -> Response:
    """GET /v1/build/run/latest: the newest DONE BUILD runs of an account (null without a filter)."""
    if account_seq is None and service_seq is None:
        return ok(None)
    now, found = rt.now(), list[dict[str, Any]]()
    for _, run in rt.store.scan(KIND):
        if len(found) >= limit_count:
            break
        wanted = account_seq is None or run["build"]["accountSeq"] == account_seq
        if wanted and run["kind"] == "BUILD" and model.state_of(run, now) == "DONE":
            found.append(model.render_run(run, now))
    return ok(found)


async def search_build_run(
    rt: Runtime,
    image_url: str,
    account_seq: int | None = None,
    service_seq: int | None = None,
    build_seq: int | None = None,
) -> Response:
    """GET /v1/build/run/search?imageUrl=: the newest BUILD run with that image, or null."""
    for _, run in rt.store.scan(KIND):
        if (
            run["kind"] == "BUILD"
            and run["imageUrl"] == image_url
            and build_seq in (None, run["buildSeq"])
            and account_seq in (None, run["build"]["accountSeq"])
        ):
            return ok(model.render_run(run, rt.now()))
    return ok(None)


async def get_build_run(rt: Runtime, build_seq: int) -> Response:
    """GET /v1/build/run/{buildRunSeq} (the spec's segment is named ``buildSeq``, see there).

    An unknown run is ResourceNotFound; with ``--cocktail-errors vendor`` it is ``result: null``,
    as the vendor's ``getBuildRun`` answers.
    """
    key = str(build_seq)
    record = rt.store.get(KIND, key)
    if record is None:
        if ERRORS.of(rt.settings) == "vendor":
            return ok(None)
        raise not_found(build_seq)
    return renderings(rt).response(key, record, rt.now())


async def get_build_run_log(rt: Runtime, build_run_seq: int) -> Response:
    """GET /v1/build/run/log/{buildRunSeq}: the run with its step logs so far."""
    return ok(model.render_log(stored(rt, build_run_seq), rt.now()))


async def get_build_step_log(rt: Runtime, build_step_run_seq: int) -> Response:
    """GET /v1/build/run/log/step/{buildStepRunSeq}: the run with that one step's log so far."""
    run = run_of_step(rt, build_step_run_seq)
    if run is None:
        raise ApiError(
            404,
            f"Build step run not found. [buildStepRunSeq : {build_step_run_seq}]",
            code="CCCM1013000",
        )
    return ok(model.render_log(run, rt.now(), build_step_run_seq))


def run_of_step(rt: Runtime, build_step_run_seq: int) -> dict[str, Any] | None:
    """The run holding a step run: through the index, else (its entry evicted) by a scan."""
    index = rt.store.get(STEP, str(build_step_run_seq))
    run = rt.store.get(KIND, index["buildRunSeq"]) if index is not None else None
    if run is not None:
        return run
    for _, candidate in rt.store.scan(KIND):
        if any(s["buildStepRunSeq"] == build_step_run_seq for s in candidate["steps"]):
            return candidate
    return None


async def list_other_remove_runs(rt: Runtime, build_run_seq: int) -> Response:
    """GET /v1/build/run/{buildRunSeq}/otherremoveruns: the runs with the same pushed image."""
    run, now = stored(rt, build_run_seq), rt.now()
    return ok([model.render_run(r, now) for r in companions(rt, run, now)])


def companions(rt: Runtime, run: dict[str, Any], now: float) -> list[dict[str, Any]]:
    """The build's other runs whose pushed image has ``run``'s digest (deleted with it)."""
    return model.same_image_runs(run, runs_of(rt, run["buildSeq"]), now)


def caller() -> dict[str, str]:
    """The gateway headers of the request being served."""
    headers = request_headers()
    return {k: headers.get(k, "") for k in ("user-id", "user-role", "user-workspace")}


async def cancel_build_run(
    rt: Runtime, build_run_seq: int, callback_url: str | None = None
) -> Response:
    """PUT /v1/build/run/cancel/{buildRunSeq}: only while RUNNING; answers the new CANCEL run."""
    run, now = stored(rt, build_run_seq), rt.now()
    model.check_cancellable(run, now)
    build_run_seq = rt.store.next_value("buildRunSeq")
    cancel_step, _init_step = (
        rt.store.next_value("buildStepRunSeq"),
        rt.store.next_value("buildStepRunSeq"),
    )
    cut, cancel = model.plan_cancel(
        run, build_run_seq=build_run_seq, step_run_seq=cancel_step, now=now, speed=rt.settings.speed,
        callback_url=model.callback_with_user(callback_url, caller()), seed=rt.settings.seed,
    )  # fmt: skip
    save(rt, cut, new=False)
    save(rt, cancel, new=True)
    return ok(model.render_run(cancel, now))


async def delete_build_run(rt: Runtime, build_seq: int) -> Response:
    """DELETE /v1/build/run/{buildRunSeq}: refused while RUNNING; answers the removed run."""
    build_run_seq = build_seq  # the spec's segment is named buildSeq, see there
    run, now = stored(rt, build_run_seq), rt.now()
    model.check_removable(run, now)
    remove(rt, [*companions(rt, run, now), run])
    return ok(model.render_run(run, now))


async def delete_image_tags(rt: Runtime, build_seq: int, build_run_seqs: list[int]) -> Response:
    """DELETE /v1/build/run/{buildSeq}/tag: the runs named and every run with their images."""
    now = rt.now()
    named = [r for r in map(lambda seq: rt.store.get(KIND, str(seq)), build_run_seqs) if r]
    images = {r["imageUrl"] for r in named}
    doomed = {r["buildRunSeq"]: r for r in named}
    for other in runs_of(rt, build_seq):
        if other["imageUrl"] in images:
            doomed.setdefault(other["buildRunSeq"], other)
    for run in doomed.values():
        model.check_removable(run, now)
    remove(rt, list(doomed.values()))
    return ok(len(doomed))


# -- callbacks, fixtures, diagnostics ----------------------------------------------------------


def on_start(rt: Runtime) -> None:
    """A fresh callback dispatcher (at start and on every reset; the old one stops by itself)."""

    def render(key: str) -> Any:
        record = rt.store.get(KIND, key)
        return (
            None
            if record is None
            else model.render_run(record, max(rt.now(), model.end_of(record)))
        )

    # A shared store keeps the schedule with the runs, and the serving loop ticks (not a thread).
    shared = rt.store.schedule(CALLBACKS) if isinstance(rt.store, RedisStore) else None
    made = CallbackDispatcher(
        now=rt.now,
        render=render,
        allow=rt.settings.callback_allow,
        realtime=rt.settings.clock == "real" and shared is None,
        alive=lambda: rt.services.get(CALLBACKS) is made,
        own=(rt.settings.host, rt.settings.port),
        transport=rt.settings.callback_transport,
        schedule=shared,
    )
    rt.services[CALLBACKS] = made


def on_tick(rt: Runtime) -> None:
    """Fire the callbacks that fell due (the control API's clock advance calls this)."""
    dispatcher(rt).tick()


def describe(rt: Runtime) -> dict[str, Any]:
    """Callback deliveries, for ``GET /__buildmock/state``."""
    return {"callbacks": dispatcher(rt).describe()}


_RUN_PARAMS = {"tagName": "tagName", "description": "runDesc", "callbackUrl": "callbackUrl"}


def _build_seq(fixtures: FixtureContext, where: str, entry: dict[str, Any]) -> int:
    value = entry.get("buildSeq")
    if not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= 2**31 - 1:
        raise fixtures.error(f"{where}.buildSeq", "must be an integer from 1 to 2147483647")
    return value


def load_fixtures(rt: Runtime, fixtures: FixtureContext) -> None:
    """``builds`` (buildSeq plus build fields) and ``runs`` (query params, outcome, age, pipeline)."""
    for where, entry in fixtures.items("builds"):
        seq = _build_seq(fixtures, where, entry)
        for key, value in entry.items():
            if key == "buildSeq":
                continue
            if key not in model.BUILD_FIELDS:
                raise fixtures.error(
                    f"{where}.{key}",
                    f"unknown field; expected one of {', '.join(model.BUILD_FIELDS)}",
                )
            fixtures.check(f"{where}.{key}", value, f"BuildRun/properties/{key}")
        declared = model.declared_build(entry, _implied_build(rt.settings.seed, seq))
        rt.store.insert("build", str(seq), declared)
    origin = rt.now()
    for where, entry in fixtures.items("runs"):
        seq = _build_seq(fixtures, where, entry)
        for key, field in _RUN_PARAMS.items():
            if entry.get(key) is not None:
                fixtures.check(f"{where}.{key}", entry[key], f"BuildRun/properties/{field}")
        outcome = fixtures.expect(where, entry, "outcome", str, "DONE")
        if outcome not in model.OUTCOMES:
            raise fixtures.error(f"{where}.outcome", f"must be one of {', '.join(model.OUTCOMES)}")
        age = fixtures.expect(where, entry, "age", (int, float), 0)  # type: ignore[arg-type]
        record = start_run(
            rt, seq, now=origin - float(age), outcome=model.OUTCOMES[outcome], tag=entry.get("tagName"),
            desc=entry.get("description"), url=entry.get("callbackUrl"),
        )  # fmt: skip
        related = entry.get("relatedPipelineInfo")
        if related is not None:
            fixtures.check(f"{where}.relatedPipelineInfo", related, "RelatedPipelineInfo")
        pipeline = fixtures.expect(where, entry, "pipelineSeq", int, 0 if related is None else 1)
        record = {**record, "relatedPipelineInfo": related, "pipelineSeq": pipeline}
        if model.end_of(record) > origin:  # runs that ended before the mock started are history
            save(rt, record, new=True)
        else:
            rt.store.insert(KIND, str(record["buildRunSeq"]), record)
            for step in record["steps"]:
                rt.store.insert(
                    STEP, str(step["buildStepRunSeq"]), {"buildRunSeq": str(record["buildRunSeq"])}
                )


VENDOR = register(
    Vendor(
        name="cocktail",
        title="Cocktail Cloud",
        render_error=render_error,
        authenticate=authenticate,
        load_fixtures=load_fixtures,
        on_start=on_start,
        on_tick=on_tick,
        describe=describe,
        error_renderer=error_renderer,
        options=(ERRORS,),
        # The gateway's numeric user and workspace ids and a role; there is no token.
        credentials=lambda token: {"user-id": "1", "user-role": "ADMIN", "user-workspace": "1"},
        views=(
            View(
                kind=KIND,
                label="build runs",
                key=lambda r: str(r["buildRunSeq"]),
                render=lambda rt, r, now: model.render_run(r, now),
                status=lambda body: str(body["runState"]),
                timeline=stored_marks,
            ),
        ),
    )
)
