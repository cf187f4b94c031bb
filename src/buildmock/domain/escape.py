"""Escape (EscapeKit State service): builds, deployment jobs and pipelines, and their executions.

The three resources share one machinery: a :class:`Family` says how a resource is addressed, which
fields it writes and what its messages say; executions of every family are planned and rendered
by the same functions. Status is derived from an execution's timeline at read time.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from typing import Any

from buildmock.core.lifecycle import Lifecycle, Timeline, span_at
from buildmock.synth.factory import Synth, iso

#: An execution: briefly ``new``, ``pending`` until a worker takes it, ``running``, then the outcome.
EXECUTION = Lifecycle(
    phases=("new", "pending", "running"),
    outcomes=("ok", "failed"),
    durations={"new": 1.0, "pending": 4.0, "running": 45.0},
    actions={"cancel": {"new": "failed", "pending": "failed", "running": "failed"}},
)
OUTCOMES = EXECUTION.outcomes
UNFINISHED = frozenset(EXECUTION.phases)

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
UUID_HEX = "0123456789abcdef"


@functools.lru_cache(maxsize=4096)  # names come from paths: a few, asked for on every request
def valid_name(name: str | None) -> bool:
    """Whether ``name`` is a well-formed project, environment or resource name."""
    return name is not None and len(name) <= 128 and bool(_NAME.match(name))


# -- zero values: Go's JSON decoding leaves absent fields at their zero value --------------------

BUILD_FIELDS: dict[str, Any] = {
    "branch": "", "disabled": False, "escape_auth_token": "", "private_key": "",
    "remote_escape_worker_url": "", "repo": "", "service_account_name": "",
    "service_account_team": "", "steps": None, "steps_from_yml": False,
}  # fmt: skip
STEP_FIELDS: dict[str, Any] = {
    "build_on_file_changes": None, "cache_release": False, "fat_package": False,
    "force_overwrite": False, "ignore_file_changes": None, "override_namespace": "",
    "plan_location": "", "providers": None, "push_release": False, "run_build": False,
    "run_deploy": False, "run_destroy": False, "run_destroy_build": False,
    "run_destroy_deploy": False, "run_smoke": False, "run_tests": False,
    "skip_if_exists": False, "tag_git": False, "variables": None,
}  # fmt: skip
DEPLOYMENT_JOB_FIELDS: dict[str, Any] = {}
PIPELINE_FIELDS: dict[str, Any] = {
    "disabled": False, "phases": None, "service_account_name": "", "triggers": None,
}  # fmt: skip
PIPELINE_STEP_KEYS = (
    "application", "build", "deployment", "environment", "errand_inputs", "errand_name",
    "ignore_failure", "namespace", "pipeline", "project", "tag", "tag_tagged_version",
    "tag_version", "team", "trigger_pipeline_on_build", "trigger_pipeline_on_deploy",
    "update_version", "update_version_deployment", "update_version_environment", "user",
    "wait_for_pipeline", "webhook_url",
)  # fmt: skip


def zero_fill(body: dict[str, Any], defaults: dict[str, Any]) -> dict[str, Any]:
    """``body``'s known fields, every missing one at its zero value (unknown fields dropped)."""
    return {
        key: body.get(key, zero) if body.get(key) is not None else zero
        for key, zero in defaults.items()
    }


@dataclass(frozen=True)
class Family:
    """A triggerable resource (build, deployment job, pipeline) and how its executions behave."""

    kind: str
    label: str
    in_environment: bool
    fields: dict[str, Any]
    #: Log lines of the running phase, formatted with the resource's fields.
    script: tuple[str, ...]

    @property
    def execution_kind(self) -> str:
        """The store kind of this family's executions."""
        return f"{self.kind}_execution"

    def still_running(self) -> str:
        """The 400 message of a trigger or retry while an execution is unfinished."""
        return f"{self.label} is still running"

    def disabled(self) -> str:
        """The 400 message of a trigger or retry of a disabled resource."""
        return f"{self.label} is disabled"

    def scope(self, project: str, environment: str | None) -> tuple[str, ...]:
        """The path names that contain a resource of this family."""
        return (project, environment or "") if self.in_environment else (project,)


BUILD = Family(
    "build", "Build", True, BUILD_FIELDS,
    ("Cloning {repo} at {branch}", "Checked out {sha}", "Reading escape plan", "escape run build",
     "escape run test", "Packaging release", "escape push", "escape run deploy", "escape run smoke"),
)  # fmt: skip
DEPLOYMENT_JOB = Family(
    "deployment_job", "Deployment job", True, DEPLOYMENT_JOB_FIELDS,
    ("Resolving deployment {name}", "escape run deploy", "Waiting for rollout", "escape run smoke"),
)  # fmt: skip
PIPELINE = Family(
    "pipeline", "Pipeline", False, PIPELINE_FIELDS,
    ("Starting pipeline {name}", "Running phases", "Collecting results"),
)  # fmt: skip


def key(scope: tuple[str, ...], name: str) -> str:
    """The store key of a resource: its scope and name joined by ``/``."""
    return "/".join((*scope, name))


def uuid(synth: Synth) -> str:
    """A version-4 UUID drawn from ``synth``."""
    raw = synth.token(UUID_HEX, 32)
    return (
        f"{raw[:8]}-{raw[8:12]}-4{raw[13:16]}-{'89ab'[int(raw[16], 16) % 4]}{raw[17:20]}-{raw[20:]}"
    )


# -- resources -----------------------------------------------------------------------------------


def writable(family: Family, body: dict[str, Any]) -> dict[str, Any]:
    """The writable fields of a request body, normalised as the vendor stores them."""
    fields = zero_fill(body, family.fields)
    if family is BUILD and fields["steps"] is not None:
        fields["steps"] = [zero_fill(step, STEP_FIELDS) for step in fields["steps"]]
    if family is PIPELINE and fields["phases"] is not None:
        fields["phases"] = [
            {"name": phase.get("name") or "", "steps": _pipeline_steps(phase.get("steps"))}
            for phase in fields["phases"]
        ]
    return fields


def _pipeline_steps(steps: list[dict[str, Any]] | None) -> list[dict[str, Any]] | None:
    if steps is None:
        return None
    return [
        {
            "name": s.get("name") or "",
            "type": s["type"],
            **{k: as_go(s[k]) for k in PIPELINE_STEP_KEYS if k in s},
        }
        for s in steps
    ]


def as_go(value: Any) -> Any:
    """``value`` as Go's JSON decoding into ``interface{}`` keeps it: numbers beyond int64 are floats."""
    if isinstance(value, dict):
        return {k: as_go(v) for k, v in value.items()}
    if isinstance(value, list):
        return [as_go(v) for v in value]
    if isinstance(value, int) and not isinstance(value, bool) and not -(2**63) <= value < 2**63:
        return float(value)
    return value


def plan_resource(
    synth: Synth, family: Family, scope: tuple[str, ...], body: dict[str, Any], now: float
) -> dict[str, Any]:
    """A new resource record: its ids and tokens drawn now, its writable fields from ``body``."""
    record: dict[str, Any] = {
        "key": key(scope, body["name"]),
        "project": scope[0],
        "environment": scope[1] if family.in_environment else None,
        "name": body["name"],
        "id": uuid(synth),
        "created_at": now,
        "latest": None,
        "fields": writable(family, body),
    }
    if family is BUILD:
        record["webhook_token"] = synth.hex(32)
    if family is PIPELINE:
        record["fields"]["triggers"] = _triggers(synth, record["fields"]["triggers"])
    return record


def _triggers(synth: Synth, wanted: list[dict[str, Any]] | None) -> list[dict[str, Any]] | None:
    if wanted is None:
        return None
    return [{"id": uuid(synth), "type": t["type"], "webhooktoken": synth.hex(32)} for t in wanted]


def update_resource(
    synth: Synth, family: Family, record: dict[str, Any], body: dict[str, Any]
) -> dict[str, Any]:
    """The record after a PUT: every writable field replaced, the private key only when asked."""
    fields = writable(family, body)
    if family is BUILD and not body.get("update_private_key"):
        fields["private_key"] = record["fields"]["private_key"]
    if family is PIPELINE:
        fields["triggers"] = _triggers(synth, fields["triggers"])
    return {**record, "fields": fields}


def render_resource(
    family: Family, record: dict[str, Any], latest: dict[str, Any] | None, now: float
) -> dict[str, Any]:
    """The resource as the vendor sends it; its status follows its latest execution."""
    status = execution_status(latest, now) if latest is not None else "new"
    fields = record["fields"]
    if family is BUILD:
        return {
            **fields, "environment": record["environment"], "id": record["id"], "name": record["name"],
            "project": record["project"], "status": status, "update_private_key": False,
            "webhook_token": record["webhook_token"],
        }  # fmt: skip
    if family is DEPLOYMENT_JOB:
        return {"id": record["id"], "name": record["name"], "project": record["project"],
                "environment": record["environment"], "status": status}  # fmt: skip
    return {
        "disabled": fields["disabled"], "name": record["name"], "permission": "owner",
        "phases": _render_phases(fields["phases"], latest, now), "project": record["project"],
        "service_account_name": fields["service_account_name"], "status": status,
        "triggers": fields["triggers"],
    }  # fmt: skip


def steady_span(
    family: Family, latest: dict[str, Any] | None, now: float
) -> tuple[float, float] | None:
    """The span around ``now`` in which :func:`render_resource` gives the same resource: between
    two changes of its latest execution's status (always, without one); None for a pipeline whose
    execution is running (its phases follow ``now`` itself)."""
    if family is PIPELINE and latest is not None and execution_status(latest, now) == "running":
        return None
    return span_at([] if latest is None else [float(at) for _, at in latest["marks"]], now)


def _render_phases(
    phases: list[dict[str, Any]] | None, execution: dict[str, Any] | None, now: float
) -> list[dict[str, Any]] | None:
    """Phases of a pipeline: the running span of its execution is split evenly between them."""
    if phases is None:
        return None
    states = _phase_states(len(phases), execution, now)
    return [
        {"name": phase["name"], "status": state,
         "steps": None if phase["steps"] is None else [
             {**step, "status": "queued" if state == "new" and execution is not None else state}
             for step in phase["steps"]]}
        for phase, state in zip(phases, states, strict=True)
    ]  # fmt: skip


def _phase_states(count: int, execution: dict[str, Any] | None, now: float) -> list[str]:
    if execution is None or count == 0:
        return ["new"] * count
    timeline = Timeline.from_json(execution["marks"])
    state = timeline.state_at(now)
    if state in ("new", "pending"):
        return [state] * count
    started = timeline.entered("running", now) or timeline.start
    ended = timeline.end if state in OUTCOMES else now
    planned = execution["planned_end"]
    span = max(planned - started, 1e-9)
    done = min(int((ended - started) / span * count), count)
    states = ["ok"] * done + ["new"] * (count - done)
    if done < count:
        states[done] = "running" if state == "running" else state
    return states


# -- executions ----------------------------------------------------------------------------------


def plan_execution(
    synth: Synth,
    family: Family,
    resource: dict[str, Any],
    *,
    execution_id: int,
    now: float,
    speed: float,
    outcome: str,
    run_nr: int | None = None,
) -> dict[str, Any]:
    """A new execution of ``resource``: its timeline, fixed now, and a snapshot of the resource."""
    scale = {phase: synth.uniform(0.7, 1.3) for phase in EXECUTION.phases}
    if outcome == "failed":
        scale["running"] *= synth.uniform(0.2, 0.9)
    timeline = EXECUTION.plan(now, outcome, speed=speed, scale=scale)
    full_name, _, email = synth.person()
    worker_commit = {
        "sha": synth.sha(), "message": synth.commit_message(), "author": f"{full_name} <{email}>",
        "branch": resource["fields"].get("branch") or "master",
    }  # fmt: skip
    return {
        "id": str(execution_id),
        "family": family.kind,
        "key": resource["key"],
        "project": resource["project"],
        "environment": resource["environment"],
        "name": resource["name"],
        "resource": resource,
        "marks": timeline.to_json(),
        "planned_end": timeline.end,
        "outcome": outcome,
        "cancelled": False,
        "created_at": now,
        "commit": None,
        "worker_commit": worker_commit if family is BUILD else None,
        "logs": [],
        "run_nr": run_nr,
    }


#: The outcome of an execution nobody forced (``Prefer: outcome=failed`` forces a failure).
DEFAULT_OUTCOME = "ok"


def execution_status(execution: dict[str, Any], now: float) -> str:
    """The status of an execution at ``now``."""
    return Timeline.from_json(execution["marks"]).state_at(now)


def is_unfinished(execution: dict[str, Any] | None, now: float) -> bool:
    """Whether an execution is new, pending or running at ``now``."""
    return execution is not None and execution_status(execution, now) in UNFINISHED


def cancel(execution: dict[str, Any], now: float) -> dict[str, Any]:
    """The execution after a cancel: an unfinished one fails now; a finished one is unchanged."""
    timeline = Timeline.from_json(execution["marks"])
    if not EXECUTION.allowed("cancel", timeline.state_at(now)):
        return execution
    cut = EXECUTION.apply(timeline, "cancel", now)
    return {**execution, "marks": cut.to_json(), "cancelled": True}


def add_commit(execution: dict[str, Any], body: dict[str, Any]) -> dict[str, Any]:
    """The execution with commit information recorded."""
    commit = zero_fill(body, {"sha": "", "message": "", "author": "", "branch": ""})
    return {**execution, "commit": commit}


def commit(execution: dict[str, Any], now: float) -> dict[str, Any] | None:
    """The commit of a build execution: as added with PUT, else as the worker reports it on cloning."""
    if execution["commit"] is not None:
        return dict(execution["commit"])
    cloned = Timeline.from_json(execution["marks"]).entered("running", now) is not None
    return dict(execution["worker_commit"]) if cloned and execution["worker_commit"] else None


def add_logs(execution: dict[str, Any], lines: list[str], now: float) -> dict[str, Any]:
    """The execution with log lines appended at ``now``."""
    return {**execution, "logs": [*execution["logs"], *([now, line] for line in lines)]}


def render_execution(family: Family, execution: dict[str, Any], now: float) -> dict[str, Any]:
    """The execution as the vendor sends it at ``now``."""
    status = execution_status(execution, now)
    created = iso(execution["created_at"])
    if family is BUILD:
        return {"id": execution["id"], "project": execution["project"],
                "environment": execution["environment"], "build": execution["name"],
                "status": status, "commit": commit(execution, now), "created_at": created}  # fmt: skip
    resource = render_resource(family, execution["resource"], execution, now)
    if family is DEPLOYMENT_JOB:
        return {
            "deployment_job": resource,
            "id": execution["id"],
            "status": status,
            "created_at": created,
        }
    return {"id": execution["id"], "pipeline": resource, "run_nr": execution["run_nr"],
            "status": status, "created_at": created}  # fmt: skip


def log_lines(family: Family, execution: dict[str, Any], now: float) -> list[str]:
    """The log of an execution as far as it has run at ``now``, with any lines added to it."""
    timeline = Timeline.from_json(execution["marks"])
    label = f"{family.label} execution {execution['id']}"
    timed: list[tuple[float, str]] = [(timeline.start, f"{label} created for {execution['key']}")]
    pending = timeline.entered("pending", now)
    if pending is not None:
        timed.append((pending, "Waiting for an Escape worker"))
    running = timeline.entered("running", now)
    if running is not None:
        fields = {"name": execution["name"], **execution["resource"]["fields"],
                  **(execution["worker_commit"] or {})}  # fmt: skip
        values = _Blank({k: v for k, v in fields.items() if v not in ("", None)})
        span = execution["planned_end"] - running
        for index, line in enumerate(family.script):
            at = running + span * index / len(family.script)
            if at <= min(now, timeline.end):
                timed.append((at, line.format_map(values)))
    if timeline.end <= now:
        final = (
            "cancelled"
            if execution["cancelled"]
            else "succeeded"
            if timeline.final == "ok"
            else "failed"
        )
        timed.append((timeline.end, f"{label} {final}"))
    timed.extend((float(at), str(line)) for at, line in execution["logs"] if at <= now)
    return [line for _, line in sorted(timed, key=lambda pair: pair[0])]


class _Blank(dict[str, Any]):
    """Format values where a missing or empty field reads ``-``."""

    def __missing__(self, name: str) -> str:
        return "-"


def page_keep(page_from: str | None) -> int | None:
    """The numeric bound of ``page_from`` (every item's id is below it), or None."""
    return int(page_from) if page_from else None


def below(execution: dict[str, Any], bound: int | None) -> bool:
    """Whether an execution's id is below the paging bound."""
    return bound is None or int(execution["id"]) < bound
