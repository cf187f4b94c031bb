"""Nuon component builds: a build timeline with its runner job, execution and log stream in step."""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from typing import Any

import orjson

from buildmock.core import ids
from buildmock.core.lifecycle import Lifecycle, Timeline
from buildmock.synth.factory import Synth, iso

#: Nuon ids: a 3-letter prefix and 23 of ``[0-9a-z]`` (26 characters).
ID_LENGTH = 23
_ID = re.compile(r"^[a-z]{3}[0-9a-z]{23}$")

#: A build: queued until a runner picks it, a plan, the build job, then active (or error / cancelled).
BUILD = Lifecycle(
    phases=("queued", "planning", "building"),
    outcomes=("active", "error"),
    durations={"queued": 3.0, "planning": 6.0, "building": 24.0},
    actions={"cancel": {"queued": "cancelled", "planning": "cancelled", "building": "cancelled"}},
)
TERMINAL = frozenset({"active", "error", "cancelled"})

#: ``Prefer: outcome=`` values: Nuon's end states, plus the generic success/failure.
OUTCOMES = ("active", "error", "success", "failure")
_OUTCOME_ALIASES = {"success": "active", "failure": "error"}

#: Nuon's ``status_description`` sentences (ctl-api components worker).
DESCRIPTIONS = {
    "queued": "queued and waiting for runner to pick up",
    "planning": "creating build plan",
    "building": "building",
    "active": "build is active and ready to be deployed",
    "cancelled": "build was cancelled",
}
ERROR_DESCRIPTIONS = {
    "planning": "unable to get component build plan",
    "building": "build did not complete successfully",
}

#: Runner job status and its description for each build state.
JOB_STATUS = {
    "queued": ("queued", "job is queued"),
    "planning": ("queued", "job is queued"),
    "building": ("in-progress", "job is executing"),
    "active": ("finished", "job finished successfully"),
    "error": ("failed", "job failed"),
    "cancelled": ("cancelled", "job was cancelled"),
}
EXECUTION_STATUS = {
    "building": "in-progress",
    "active": "finished",
    "error": "failed",
    "cancelled": "cancelled",
}

#: Component types and the runner job type that builds each.
COMPONENT_TYPES = {
    "docker_build": "docker-build",
    "external_image": "container-image-build",
    "helm_chart": "helm-chart-build",
    "terraform_module": "terraform-module-build",
}
_NAMES = (
    "api",
    "web",
    "worker",
    "postgres",
    "redis",
    "ingress",
    "vpc",
    "certificate",
    "dns",
    "queue",
)
_SECOND = 1_000_000_000
#: Set on builds an app branch run triggered (fixtures only: the mock serves no app-branch API).
_BRANCH_KEYS = ("app_branch_id", "app_branch_run_id")
RUNNER_API_URL = "https://runner.nuon.co"


def valid_id(value: str | None, prefix: str) -> bool:
    """Whether ``value`` is a well-formed Nuon id with this prefix."""
    return value is not None and value.startswith(prefix) and bool(_ID.match(value))


def new_id(synth: Synth, prefix: str) -> str:
    """A fresh Nuon id with this prefix."""
    return synth.token(ids.BASE36, ID_LENGTH, prefix)


def resolve_outcome(wanted: str | None, synth: Synth) -> str:
    """The end state of a new build: forced with ``Prefer`` or drawn (mostly active)."""
    if wanted is not None:
        return _OUTCOME_ALIASES.get(wanted, wanted)
    return "active" if synth.uniform(0, 1) < 0.85 else "error"


def account_id(synth: Synth, org_id: str) -> str:
    """The account that acts for callers of ``org_id`` (the same for the same org)."""
    return new_id(synth.derive("account", org_id), "acc")


def implied_app(synth: Synth, component_id: str) -> str:
    """The app an undeclared component belongs to when first used outside an app's path."""
    return new_id(synth.derive("component-app", component_id), "app")


def synth_component(
    synth: Synth, component_id: str, *, org_id: str, app_id: str, name: str | None = None,
    type_: str | None = None, config_version: int | None = None,
) -> dict[str, Any]:  # fmt: skip
    """A component record; anything not given is derived from the id (same seed, same component)."""
    derived = synth.derive("component", component_id)
    owner = derived.company_slug() or "acme"
    return {
        "id": component_id,
        "org_id": org_id,
        "app_id": app_id,
        "name": name or derived.choice(_NAMES),
        "type": type_ or derived.choice(tuple(COMPONENT_TYPES)),
        "config_version": config_version or derived.integer(1, 12),
        "connection_id": new_id(derived, "cmp"),
        "vcs_connection_id": new_id(synth.derive("vcs-connection", org_id), "vcs"),
        "repo": f"{owner}/{derived.word()}-{derived.word()}",
        "created_by_id": account_id(synth, org_id),
    }


def plan_build(
    synth: Synth,
    component: dict[str, Any],
    *,
    now: float,
    speed: float,
    git_ref: str | None,
    outcome: str,
    app_id: str,
    created_by_id: str,
) -> dict[str, Any]:
    """A new build record: ids, VCS commit and the timeline, fixed at creation.

    Without ``git_ref`` (``use_latest``) the build is of the latest commit, and ``git_ref`` shows its SHA.
    """
    build_id = new_id(synth, "bld")
    ref = (git_ref or "").strip()
    sha = ref.lower() if re.fullmatch(r"[0-9a-fA-F]{40}", ref) else synth.sha()
    author, _, email = synth.person()
    scale = {phase: synth.uniform(0.7, 1.3) for phase in BUILD.phases}
    stop_after = None
    if outcome == "error":
        stop_after = "planning" if synth.chance(0.25) else "building"
    marks = BUILD.plan(now, outcome, speed=speed, scale=scale, stop_after=stop_after)
    job_type = COMPONENT_TYPES[component["type"]]
    return {
        "id": build_id,
        "org_id": component["org_id"],
        "app_id": app_id,
        "component_id": component["id"],
        "component_name": component["name"],
        "component_config_version": component["config_version"],
        "component_config_connection_id": component["connection_id"],
        "created_by_id": created_by_id,
        "git_ref": git_ref or sha,
        "created_at": now,
        "outcome": outcome,
        "marks": marks.to_json(),
        "commit": {
            "id": new_id(synth, "vcs"),
            "connection_id": component["vcs_connection_id"],
            "at": now - synth.uniform(60, 3 * 86400),
            "sha": sha,
            "author_name": author,
            "author_email": email,
            "message": synth.commit_message(),
        },
        "job": {
            "id": new_id(synth, "job"),
            "type": job_type,
            "runner_id": new_id(synth.derive("runner", component["org_id"]), "run"),
            "execution_id": new_id(synth, "run"),
            "outputs_id": new_id(synth, "run"),
            "result_id": new_id(synth, "run"),
        },
        "log_stream_id": new_id(synth, "log"),
        "outputs": _outputs(synth, component, build_id, job_type),
        "releases": [],
    }


def _outputs(
    synth: Synth, component: dict[str, Any], build_id: str, job_type: str
) -> dict[str, Any]:
    repository = f"{component['org_id']}.dkr.nuon.run/{component['app_id']}/{component['name']}"
    key = "image" if job_type in ("docker-build", "container-image-build") else "artifact"
    return {key: {"repository": repository, "tag": build_id, "digest": f"sha256:{synth.hex(64)}"}}


def plan_release(
    synth: Synth, record: dict[str, Any], installs: list[str], at: float
) -> dict[str, Any]:
    """A release of a finished build to ``installs`` (one step), starting at ``at``."""
    step_id = new_id(synth, "rel")
    return {
        "id": new_id(synth, "rel"),
        "step_id": step_id,
        "at": at,
        "installs": [
            {"install_id": install, "deploy_id": new_id(synth, "dpl"),
             "install_component_id": new_id(synth.derive("install-component", install, record["component_id"]), "inc"),
             "job_id": new_id(synth, "job"), "log_stream_id": new_id(synth, "log")}
            for install in installs
        ],
    }  # fmt: skip


# -- rendering ----------------------------------------------------------------------------------


def timeline(record: dict[str, Any]) -> Timeline:
    """The build's (possibly cut) timeline."""
    return Timeline.from_json(record["marks"])


def status_at(record: dict[str, Any], now: float) -> str:
    """The build status at ``now``."""
    return timeline(record).state_at(now)


def cancel(record: dict[str, Any], now: float) -> dict[str, Any]:
    """The record with its timeline cut at ``now`` and ending ``cancelled`` (IllegalTransition once it has finished)."""
    cut = BUILD.apply(timeline(record), "cancel", now)
    return {**record, "marks": cut.to_json()}


def _last_change(tl: Timeline, now: float) -> float:
    reached = tl.reached(now)
    return reached[-1][1] if reached else tl.start


def _description(record: dict[str, Any], tl: Timeline, state: str, now: float) -> str:
    if state != "error":
        return DESCRIPTIONS[state]
    failed_in = tl.reached(now)[-2][0] if len(tl.reached(now)) > 1 else "planning"
    return ERROR_DESCRIPTIONS.get(failed_in, ERROR_DESCRIPTIONS["building"])


def _stamp(record: dict[str, Any], at: float, org: bool = True) -> dict[str, Any]:
    body = {"created_at": iso(at), "updated_at": iso(at), "created_by_id": record["created_by_id"]}
    if org:
        body["org_id"] = record["org_id"]
    return body


def render_log_stream(
    record: dict[str, Any],
    stream_id: str,
    owner_id: str,
    owner_type: str,
    start: float,
    updated: float,
    open_: bool,
) -> dict[str, Any]:
    """An ``app.LogStream``."""
    return {
        "id": stream_id,
        **_stamp(record, start),
        "updated_at": iso(updated),
        "owner_id": owner_id,
        "owner_type": owner_type,
        "open": open_,
        "attrs": {"component_id": record["component_id"], "app_id": record["app_id"]},
        "runner_api_url": RUNNER_API_URL,
        "write_token": "",
    }


def render_runner_job(
    record: dict[str, Any], now: float, tl: Timeline | None = None
) -> dict[str, Any]:
    """The build's ``app.RunnerJob`` as it stands at ``now`` (``tl``: its timeline, if read)."""
    tl = tl or timeline(record)
    state = tl.state_at(now)
    job = record["job"]
    status, description = JOB_STATUS[state]
    created = record["created_at"] + 0.25
    started = tl.entered("building", now)
    ended = tl.end if state in TERMINAL else None
    body: dict[str, Any] = {
        "id": job["id"],
        **_stamp(record, created),
        "updated_at": iso(max(created, _last_change(tl, now))),
        "runner_id": job["runner_id"],
        "owner_id": record["id"],
        "owner_type": "component_builds",
        "log_stream_id": record["log_stream_id"],
        "queue_timeout": 3600 * _SECOND,
        "available_timeout": 300 * _SECOND,
        "execution_timeout": 3600 * _SECOND,
        "overall_timeout": 7200 * _SECOND,
        "max_executions": 3,
        "execution_count": 1 if started is not None else 0,
        "execution_time": int(((ended or now) - started) * _SECOND) if started is not None else 0,
        "status": status,
        "status_description": description,
        "type": job["type"],
        "group": "build",
        "operation": "build",
        "executions": [],
    }
    if started is not None:
        body["started_at"] = iso(started)
        body["executions"] = [_execution(record, state, started, ended, now)]
    if ended is not None:
        body["finished_at"] = iso(ended)
        if started is not None:
            body["final_runner_job_execution_id"] = job["execution_id"]
    if state == "active":
        body["outputs"] = record["outputs"]
        body["outputs_json"] = orjson.dumps(record["outputs"], option=orjson.OPT_SORT_KEYS).decode()
    return body


def _execution(
    record: dict[str, Any], state: str, started: float, ended: float | None, now: float
) -> dict[str, Any]:
    job = record["job"]
    body: dict[str, Any] = {
        "id": job["execution_id"],
        **_stamp(record, started),
        "updated_at": iso(ended if ended is not None else started),
        "runner_job_id": job["id"],
        "status": EXECUTION_STATUS[state],
    }
    if ended is None or state == "cancelled":
        return body
    if state == "active":
        body["outputs"] = {
            "id": job["outputs_id"],
            **_stamp(record, ended - 0.4),
            "runner_job_execution_id": job["execution_id"],
            "outputs": record["outputs"],
            "outputs_json": orjson.dumps(record["outputs"], option=orjson.OPT_SORT_KEYS).decode(),
        }
    body["result"] = {
        "id": job["result_id"],
        **_stamp(record, ended - 0.2),
        "runner_job_execution_id": job["execution_id"],
        "success": state == "active",
        "error_code": 0 if state == "active" else 1,
        "error_metadata": {} if state == "active" else {"reason": "build step exited with code 1"},
    }
    return body


def _deploy_state(start: float, now: float) -> tuple[str, str, str]:
    """(deploy status, description, runner job status) of a deploy begun at ``start``."""
    if now < start + 5:
        return "queued", "deploy is queued", "queued"
    if now < start + 25:
        return "planning", "deploy is in progress", "in-progress"
    return "active", "deploy is active", "finished"


def _render_deploy(
    record: dict[str, Any], release: dict[str, Any], target: dict[str, Any], now: float
) -> dict[str, Any]:
    start = release["at"]
    status, description, job_status = _deploy_state(start, now)
    updated = start if status == "queued" else start + 5 if status == "planning" else start + 25
    job_type = {"docker-build": "helm-chart-deploy", "container-image-build": "helm-chart-deploy",
                "helm-chart-build": "helm-chart-deploy"}.get(record["job"]["type"], "terraform-deploy")  # fmt: skip
    job: dict[str, Any] = {
        "id": target["job_id"], **_stamp(record, start), "updated_at": iso(updated),
        "runner_id": record["job"]["runner_id"], "owner_id": target["deploy_id"], "owner_type": "install_deploys",
        "log_stream_id": target["log_stream_id"], "queue_timeout": 3600 * _SECOND,
        "available_timeout": 300 * _SECOND, "execution_timeout": 3600 * _SECOND,
        "overall_timeout": 7200 * _SECOND, "max_executions": 3, "execution_count": 0, "execution_time": 0,
        "status": job_status, "status_description": f"job is {job_status}", "type": job_type,
        "group": "deploy", "operation": "apply-plan", "executions": [],
    }  # fmt: skip
    if status != "queued":
        job["started_at"] = iso(start + 5)
    if status == "active":
        job["finished_at"] = iso(start + 25)
    return {
        "id": target["deploy_id"],
        **_stamp(record, start, org=False),
        "updated_at": iso(updated),
        "build_id": record["id"],
        "install_component_id": target["install_component_id"],
        "install_id": target["install_id"],
        "component_id": record["component_id"],
        "component_name": record["component_name"],
        "component_config_version": record["component_config_version"],
        "release_id": release["step_id"],
        "install_deploy_type": "apply",
        "status": status,
        "status_description": description,
        "log_stream": render_log_stream(
            record,
            target["log_stream_id"],
            target["deploy_id"],
            "install_deploys",
            start,
            updated,
            status != "active",
        ),
        "runner_jobs": [job],
    }


def render_releases(record: dict[str, Any], now: float) -> list[dict[str, Any]]:
    """The build's releases (with steps and install deploys) that exist at ``now``."""
    shown = []
    for release in record["releases"]:
        if release["at"] > now:
            continue
        deploys = [_render_deploy(record, release, t, now) for t in release["installs"]]
        done = all(d["status"] == "active" for d in deploys)
        status = "active" if done else "executing"
        updated = max([release["at"], *(_parse_done(release, d) for d in deploys)])
        step = {
            "id": release["step_id"], **_stamp(record, release["at"], org=False), "updated_at": iso(updated),
            "component_release_id": release["id"], "status": status,
            "status_description": "release step is active" if done else "release step is executing",
            "delay": "0s", "requested_install_ids": [t["install_id"] for t in release["installs"]],
            "install_deploys": deploys,
        }  # fmt: skip
        shown.append({
            "id": release["id"], **_stamp(record, release["at"], org=False), "updated_at": iso(updated),
            "build_id": record["id"], "status": status,
            "status_description": "release is active" if done else "release is executing",
            "total_release_steps": 1, "release_steps": [step],
        })  # fmt: skip
    return shown


def _parse_done(release: dict[str, Any], deploy: dict[str, Any]) -> float:
    start = release["at"]
    return (
        start + 25
        if deploy["status"] == "active"
        else start + 5
        if deploy["status"] == "planning"
        else start
    )


def render_build(record: dict[str, Any], now: float) -> dict[str, Any]:
    """The ``app.ComponentBuild`` as Nuon would send it at ``now``."""
    tl = timeline(record)
    state = tl.state_at(now)
    releases = render_releases(record, now)
    commit = record["commit"]
    changed = _last_change(tl, now)
    return {
        "id": record["id"],
        **_stamp(record, record["created_at"], org=False),
        "updated_at": iso(changed),
        "component_config_connection_id": record["component_config_connection_id"],
        "component_id": record["component_id"],
        "component_name": record["component_name"],
        "component_config_version": record["component_config_version"],
        "git_ref": record["git_ref"],
        "status": state,
        "status_description": _description(record, tl, state, now),
        "runner_job": render_runner_job(record, now, tl),
        "log_stream": render_log_stream(
            record,
            record["log_stream_id"],
            record["id"],
            "component_builds",
            record["created_at"],
            changed,
            state not in TERMINAL,
        ),
        "vcs_connection_commit": {
            "id": commit["id"],
            "created_at": iso(commit["at"]),
            "updated_at": iso(commit["at"]),
            "created_by_id": record["created_by_id"],
            "vcs_connection_id": commit["connection_id"],
            "sha": commit["sha"],
            "author_name": commit["author_name"],
            "author_email": commit["author_email"],
            "message": commit["message"],
        },
        "releases": releases,
        "install_deploys": [
            d for r in releases for s in r["release_steps"] for d in s["install_deploys"]
        ],
        **{key: record[key] for key in _BRANCH_KEYS if key in record},
    }


def change_times(record: dict[str, Any]) -> tuple[float, ...]:
    """The times at which :func:`render_build`'s answer changes, sorted (outside
    :func:`live_window`, it reads ``now`` only against the marks and the releases' phases)."""
    times = {float(at) for _, at in record["marks"]}
    for release in record["releases"]:
        times.update(float(release["at"]) + offset for offset in (0, 5, 25))
    return tuple(sorted(times))


def live_window(record: dict[str, Any]) -> tuple[float, float] | None:
    """While building, the runner job's ``execution_time`` follows ``now`` itself."""
    started = timeline(record).entered("building", math.inf)
    return None if started is None else (started, float(record["marks"][-1][1]))


def follow_build(
    rendered: dict[str, Any], window: tuple[float, float], now: float
) -> dict[str, Any]:
    """:func:`render_build` at ``now`` from its rendering earlier in the build's
    :func:`live_window`: only the runner job's ``execution_time`` has moved."""
    return _with_execution_time(rendered, int((now - window[0]) * _SECOND))


def follow_encoded(
    rendered: dict[str, Any], window: tuple[float, float]
) -> Callable[[float], bytes]:
    """``orjson.dumps(follow_build(rendered, window, now))`` for any ``now``: the bytes encoded
    once around the one value that moves, which is written in for each ``now``."""
    head, found, tail = orjson.dumps(_with_execution_time(rendered, _MARK)).partition(_MARK_TEXT)
    if not found or _MARK_TEXT in tail:
        raise ValueError("the marked execution time is not in the rendering exactly once")
    start = window[0]
    return lambda now: b"%b%d%b" % (head, int((now - start) * _SECOND), tail)


#: A value no rendering holds (a negative time), to find where ``execution_time`` is written.
_MARK = -4_611_686_018_427_387_903
_MARK_TEXT = b"%d" % _MARK


def _with_execution_time(rendered: dict[str, Any], value: int) -> dict[str, Any]:
    return {**rendered, "runner_job": {**rendered["runner_job"], "execution_time": value}}


def render_history_item(record: dict[str, Any], now: float) -> dict[str, Any]:
    """A ``service.OrgComponentBuildHistoryItem``: the build and where it belongs."""
    return {
        "build": render_build(record, now),
        "app_id": record["app_id"],
        "component_id": record["component_id"],
        "component_name": record["component_name"],
        "build_runner_job_id": record["job"]["id"],
    }
