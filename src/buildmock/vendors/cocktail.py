"""Cocktail Cloud (``/cocktail``): handlers for ``specs/cocktail.yaml``, and completion callbacks."""

from __future__ import annotations

import functools
from typing import Any

from starlette.responses import Response

from buildmock.callbacks import CallbackDispatcher
from buildmock.core.errors import ApiError
from buildmock.domain import cocktail as model
from buildmock.server.fixtures import FixtureContext
from buildmock.vendors.base import (
    Headers,
    Runtime,
    Vendor,
    json_response,
    preferred_outcome,
    register,
    request_headers,
)

KIND = "run"
CALLBACKS = "callbacks"

#: Cocktail error codes by HTTP status when the error names none (framework errors: CKSY1<status>000).
_CODES = {400: "CKSY1400000", 401: "CCCM1009000", 404: "CCCM1013000", 409: "CCCM1007000"}


def render_error(error: ApiError) -> Response:
    """Cocktail's ``ResultVO`` on failure: ``{"status": "error", "code", "message", …}``."""
    code = error.extra.get("code") or _CODES.get(error.status) or f"CKSY1{error.status:03d}000"
    body = {
        "status": "error",
        "code": code,
        "message": error.message,
        "httpStatusCode": error.status,
    }
    return json_response(body, error.status, error.headers)


def authenticate(headers: Headers, settings: Any) -> None:
    """The gateway's ``user-id``, ``user-role`` and ``user-workspace`` headers, all three."""
    user, role, workspace = (
        headers.get(h, "").strip() for h in ("user-id", "user-role", "user-workspace")
    )
    if not (user.isdigit() and workspace.isdigit() and role):
        raise ApiError(401, "Not authorized to request. Please log in again.", code="CCCM1009000")


def ok(result: Any) -> Response:
    """A success in Cocktail's ``ResultVO`` envelope."""
    return json_response({"status": "ok", "code": None, "message": None, "result": result})


# -- helpers the handlers share ----------------------------------------------------------------


@functools.lru_cache(maxsize=4096)
def _implied_build(seed: int, build_seq: int) -> dict[str, Any]:
    from buildmock.synth import Synth

    return model.synth_build(Synth(seed, "cocktail"), build_seq)


def build(rt: Runtime, build_seq: int) -> dict[str, Any]:
    """The build definition: declared by a fixture, else implied by its number."""
    return rt.store.get("build", str(build_seq)) or _implied_build(rt.settings.seed, build_seq)


def stored(rt: Runtime, build_run_seq: int) -> dict[str, Any]:
    """The run with this number, or Cocktail's ResourceNotFound (404)."""
    record = rt.store.get(KIND, str(build_run_seq))
    if record is None:
        raise ApiError(
            404, f"Build run not found. [buildRunSeq : {build_run_seq}]", code="CCCM1013000"
        )
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
) -> dict[str, Any]:
    """Plan a BUILD run of ``build_seq`` with fresh numbers."""
    definition = build(rt, build_seq)
    return model.plan_run(
        rt.synth, definition, build_run_seq=rt.store.next_value("buildRunSeq"),
        build_no=rt.store.next_value(f"buildNo:{build_seq}"),
        step_run_seqs=[rt.store.next_value("buildStepRunSeq") for _ in definition["steps"]],
        now=now, speed=rt.settings.speed, outcome=outcome, tag_name=tag, description=desc, callback_url=url,
    )  # fmt: skip


# -- handlers (operationIds of specs/cocktail.yaml) --------------------------------------------


async def run_build(
    rt: Runtime,
    build_seq: int,
    tag_name: str | None = None,
    description: str | None = None,
    callback_url: str | None = None,
) -> Response:
    """POST /v1/build/run/{buildSeq}: a new BUILD run (``Prefer: outcome=ERROR`` forces a failure)."""
    forced = preferred_outcome(request_headers(), tuple(model.OUTCOMES))
    outcome = model.OUTCOMES[forced] if forced else model.draw_outcome(rt.synth)
    now = rt.now()
    record = start_run(
        rt, build_seq, now=now, outcome=outcome, tag=tag_name, desc=description, url=callback_url
    )
    save(rt, record, new=True)
    return ok(model.render_run(record, now))


async def list_build_runs(rt: Runtime, build_seq: int) -> Response:
    """GET /v1/build/run?buildSeq=: every run of the build, newest first."""
    now = rt.now()
    runs = [r for _, r in rt.store.scan(KIND) if r["buildSeq"] == build_seq]
    return ok([model.render_run(r, now) for r in runs])


async def get_build_run(rt: Runtime, build_seq: int) -> Response:
    """GET /v1/build/run/{buildRunSeq} (the spec's segment is named ``buildSeq``, see there)."""
    return ok(model.render_run(stored(rt, build_seq), rt.now()))


async def get_build_run_log(rt: Runtime, build_run_seq: int) -> Response:
    """GET /v1/build/run/log/{buildRunSeq}: the run with its step logs so far."""
    return ok(model.render_log(stored(rt, build_run_seq), rt.now()))


async def cancel_build_run(
    rt: Runtime, build_run_seq: int, callback_url: str | None = None
) -> Response:
    """PUT /v1/build/run/cancel/{buildRunSeq}: only while RUNNING; answers the new CANCEL run."""
    run, now = stored(rt, build_run_seq), rt.now()
    model.check_cancellable(run, now)
    cut, cancel = model.plan_cancel(
        run, build_run_seq=rt.store.next_value("buildRunSeq"), now=now, speed=rt.settings.speed,
        callback_url=callback_url,
    )  # fmt: skip
    save(rt, cut, new=False)
    save(rt, cancel, new=True)
    return ok(model.render_run(cancel, now))


async def delete_build_run(rt: Runtime, build_seq: int) -> Response:
    """DELETE /v1/build/run/{buildRunSeq}: refused while RUNNING; answers the removed run."""
    build_run_seq = build_seq  # the spec's segment is named buildSeq, see there
    run, now = stored(rt, build_run_seq), rt.now()
    model.check_removable(run, now)
    callbacks = dispatcher(rt)
    callbacks.tick()  # a run that already finished is called back before it goes
    callbacks.forget(str(build_run_seq))
    rt.store.delete(KIND, str(build_run_seq))
    return ok(model.render_run(run, now))


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

    made = CallbackDispatcher(
        now=rt.now,
        render=render,
        allow=rt.settings.callback_allow,
        realtime=rt.settings.clock == "real",
        alive=lambda: rt.services.get(CALLBACKS) is made,
        own=(rt.settings.host, rt.settings.port),
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
    """``builds`` (buildSeq plus build fields) and ``runs`` (query params, outcome, age)."""
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
        rt.store.insert(KIND, str(record["buildRunSeq"]), record)
        if model.end_of(record) > origin:  # runs that ended before the mock started are history
            dispatcher(rt).schedule(
                str(record["buildRunSeq"]), record["callbackUrl"], model.end_of(record)
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
    )
)
