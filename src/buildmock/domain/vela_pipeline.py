"""Vela build sub-resources: steps, services, their logs and the build graph, derived from a build at ``now``.

A build record carries its compiled pipeline (stages of steps, services), the ids Vela gave them, the window in
which a worker runs it and, once cancelled or pinned, the moment that stopped it. Everything here is rendered
from that and the clock: a step runs, ends and its log grows while it runs; a manual clock freezes it all.
"""

from __future__ import annotations

import base64
import copy
from collections import Counter
from typing import Any

from buildmock.core.errors import ApiError
from buildmock.synth.factory import Synth

CLONE_IMAGE = "target/vela-git:v0.8.0"
INIT_IMAGE = "#init"
#: Graph clusters (api/build/graph.go): services, pipeline stages, built-in stages.
SERVICE_CLUSTER, PIPELINE_CLUSTER, BUILTIN_CLUSTER = 0, 1, 2
#: How long each kind of step takes, relative to the others (the build's running window is shared out).
_WEIGHT = {"init": 1.0, "clone": 2.0}
_FINISHED = ("success", "failure", "error", "killed")

#: Pipelines a build may compile to: (stages, services). A stage is (name, steps, needs), a step (name,
#: image, commands). ``stages`` named "" are the steps of a pipeline without stages.
TEMPLATES: tuple[tuple[tuple[tuple[str, tuple[tuple[str, str, tuple[str, ...]], ...], tuple[str, ...]], ...],
                       tuple[tuple[str, str], ...]], ...] = (
    (
        (
            ("", (("install", "golang:1.21", ("go mod download",)),
                  ("test", "golang:1.21", ("go vet ./...", "go test ./...")),
                  ("build", "golang:1.21", ("go build -o release/app .",))), ()),
        ),
        (),
    ),
    (
        (
            ("test", (("install", "node:20", ("npm ci",)),
                      ("test", "node:20", ("npm test",))), ("clone",)),
            ("build", (("build", "node:20", ("npm run build",)),), ("test", "clone")),
            ("publish", (("publish", "target/vela-docker:v0.7.0", ("docker build -t app .",
                                                                     "docker push app")),),
             ("build", "clone")),
        ),
        (("postgres", "postgres:15-alpine"),),
    ),
)  # fmt: skip


def _compile(
    template: tuple[tuple[tuple[str, tuple[tuple[str, str, tuple[str, ...]], ...], tuple[str, ...]], ...],
                    tuple[tuple[str, str], ...]],
) -> tuple[list[list[Any]], list[list[Any]], list[list[Any]]]:  # fmt: skip
    """A template's steps (numbered as Vela's compiler does), stages graph and services."""
    stages, services = template
    staged = bool(stages[0][0])
    steps: list[list[Any]] = [["init", INIT_IMAGE, "init" if staged else "", []],
                              ["clone", CLONE_IMAGE, "clone" if staged else "", []]]  # fmt: skip
    graph: list[list[Any]] = [["init", []], ["clone", []]] if staged else []
    for name, members, needs in stages:
        steps.extend([step, image, name, list(commands)] for step, image, commands in members)
        if staged:
            graph.append([name, list(needs)])
    return steps, graph, [list(service) for service in services]


#: Each template compiled once; a build's record refers to these lists (records are read-only).
COMPILED = tuple(_compile(template) for template in TEMPLATES)


def plan_pipeline(synth: Synth) -> dict[str, Any]:
    """The compiled pipeline of a new build: its steps (numbered as Vela's compiler does) and services."""
    steps, graph, services = synth.choice(COMPILED)
    return {
        "steps": steps,
        "stages": graph,
        "services": services,
        #: The step that ends a build that fails (a user step, not init or clone).
        "fail_at": 2 + synth.integer(0, len(steps) - 3),
    }


def _windows(record: dict[str, Any]) -> list[tuple[float, float] | None]:
    """When each step runs (start, end), or None for a step the build never reaches."""
    steps = record["pipeline"]["steps"]
    run = record.get("run")
    if run is None:
        return [None] * len(steps)
    last = len(steps) - 1 if record["outcome"] == "success" else record["pipeline"]["fail_at"]
    weights = [_WEIGHT.get(step[0], 4.0) if i <= last else 0.0 for i, step in enumerate(steps)]
    start, end = run
    total, spent = sum(weights), 0.0
    windows: list[tuple[float, float] | None] = []
    for i, weight in enumerate(weights):
        if i > last:
            windows.append(None)
            continue
        begin = start + (end - start) * spent / total
        spent += weight
        windows.append((begin, start + (end - start) * spent / total))
    return windows


def _stop(record: dict[str, Any]) -> tuple[str, float] | None:
    """How the build was stopped before its planned end: ("canceled" | "pinned", when)."""
    stop = record.get("stop")
    return (str(stop[0]), float(stop[1])) if stop else None


def _component(
    record: dict[str, Any], window: tuple[float, float] | None, now: float, final: str
) -> dict[str, Any]:
    """Status, timestamps and worker of a step or service whose run is ``window``, at ``now``."""
    stop = _stop(record)
    at = min(now, stop[1]) if stop else now
    waiting = "pending approval" if record.get("gated") else "pending"
    worker = record["worker"]
    shown: dict[str, Any] = {"status": waiting, "error": "", "exit_code": 0, "started": 0,
                             "finished": 0, "host": "", "runtime": "", "distribution": ""}  # fmt: skip
    if window is not None and at >= window[0]:
        shown.update(status="running", started=int(window[0]), host=worker["host"],
                     runtime=worker["runtime"], distribution=worker["distribution"])  # fmt: skip
        if at >= window[1]:
            shown.update(status=final, finished=int(window[1]))
            if final == "failure":
                shown["exit_code"] = 1
            elif final == "killed":
                shown["exit_code"] = 137
            elif final == "error":
                shown["error"] = record["failure_error"]
    canceled = stop is not None and stop[0] == "canceled"
    if canceled and shown["status"] not in _FINISHED:
        assert stop is not None
        # The server cancels a pending build's steps and services (status only); a worker cancelling a
        # running build also ends them now, starting now what it never reached (its CancelBuild).
        shown["status"] = "canceled"
        if record.get("run") and stop[1] >= record["run"][0]:
            shown["started"] = shown["started"] or int(stop[1])
            shown["finished"] = int(stop[1])
            shown.update(host=worker["host"], runtime=worker["runtime"],
                         distribution=worker["distribution"])  # fmt: skip
    return shown


def render_steps(record: dict[str, Any], now: float) -> list[dict[str, Any]]:
    """Every step of the build at ``now``, in number order (Vela's ``library.Step``)."""
    fields, ids = record["fields"], record["sub_ids"]
    last = record["pipeline"]["fail_at"]
    steps = []
    for i, ((name, image, stage, _), window) in enumerate(
        zip(record["pipeline"]["steps"], _windows(record), strict=True)
    ):
        final = record["outcome"] if i == last and record["outcome"] != "success" else "success"
        steps.append(
            {
                "id": ids["step"] + i,
                "build_id": fields["id"],
                "repo_id": fields["repo_id"],
                "number": i + 1,
                "name": name,
                "image": image,
                "stage": stage,
                **_component(record, window, now, final),
                "created": fields["created"],
            }
        )
    return [_step_order(step) for step in steps]


_STEP_KEYS = ("id", "build_id", "repo_id", "number", "name", "image", "stage", "status", "error",
              "exit_code", "created", "started", "finished", "host", "runtime", "distribution")  # fmt: skip


#: A step's fields with the zero values the database gives what a create leaves out.
_ZERO: dict[str, Any] = {"id": 0, "build_id": 0, "repo_id": 0, "number": 0, "name": "", "image": "",
                         "stage": "", "status": "", "error": "", "exit_code": 0, "created": 0,
                         "started": 0, "finished": 0, "host": "", "runtime": "", "distribution": ""}  # fmt: skip


def _step_order(step: dict[str, Any]) -> dict[str, Any]:
    """The step's fields in the order of ``library.Step``."""
    return {key: step[key] for key in _STEP_KEYS if key in step}


def render_services(record: dict[str, Any], now: float) -> list[dict[str, Any]]:
    """Every service of the build at ``now``, in number order (Vela's ``library.Service``)."""
    fields, ids = record["fields"], record["sub_ids"]
    run = record.get("run")
    window = (run[0], run[1]) if run else None
    final = "killed" if record["outcome"] == "killed" else "success"
    return [
        _step_order(
            {
                "id": ids["service"] + i,
                "build_id": fields["id"],
                "repo_id": fields["repo_id"],
                "number": i + 1,
                "name": name,
                "image": image,
                **_component(record, window, now, final),
                "created": fields["created"],
            }
        )
        for i, (name, image) in enumerate(record["pipeline"]["services"])
    ]


def _log_lines(record: dict[str, Any], kind: str, index: int) -> list[str]:
    """The whole log of a step or service, line by line."""
    fields = record["fields"]
    if kind == "service":
        name, image = record["pipeline"]["services"][index]
        return [
            f"{name} | starting {image}",
            f"{name} | database system is ready to accept connections",
        ]
    name, _, _, commands = record["pipeline"]["steps"][index]
    if name == "init":
        return ["> Inspecting runtime network...", "> Inspecting runtime volume...",
                f"$ docker image inspect {CLONE_IMAGE}"]  # fmt: skip
    if name == "clone":
        sha = fields["commit"]
        return ["$ git init", f"$ git remote add origin {fields['clone']}",
                f"$ git fetch --depth 100 origin {sha}", f"$ git reset --hard {sha}"]  # fmt: skip
    lines = []
    for command in commands:
        lines += [f"$ {command}", f"{command.split()[0]}: done"]
    return lines


def _log_data(
    record: dict[str, Any], kind: str, index: int, shown: dict[str, Any], now: float
) -> str:
    """The part of the log written by ``now``, base64-encoded as Go encodes a ``[]byte``."""
    lines = _log_lines(record, kind, index)
    if shown["started"] == 0:
        count = 0
    elif shown["finished"]:
        count = len(lines)
    else:
        stop = _stop(record)
        at = min(now, stop[1]) if stop else now
        window = _windows(record)[index] if kind == "step" else tuple(record["run"])
        begin, end = window if window else (at, at)
        count = (
            min(len(lines), int(len(lines) * (at - begin) / (end - begin))) if end > begin else 0
        )
    text = "".join(f"{line}\n" for line in lines[:count])
    return base64.b64encode(text.encode()).decode()


def _planned(record: dict[str, Any], kind: str, now: float) -> list[dict[str, Any]]:
    """The steps or services the server planned for the build, as its lifecycle has them at ``now``."""
    return (render_services if kind == "service" else render_steps)(record, now)


def _planned_index(record: dict[str, Any], kind: str, component: dict[str, Any]) -> int | None:
    """The index in the compiled pipeline of a planned step or service (None for one a caller added)."""
    index = component["id"] - record["sub_ids"][kind]
    return index if 0 <= index < len(record["pipeline"][f"{kind}s"]) else None


def _writes(record: dict[str, Any]) -> dict[str, Any]:
    """A copy of what workers and admins wrote to the build's steps, services and logs."""
    writes = copy.deepcopy(record.get("writes") or {})
    for part in ("edits", "extra", "removed", "logs"):
        writes.setdefault(part, {})
    return writes


def render_components(record: dict[str, Any], kind: str, now: float) -> list[dict[str, Any]]:
    """The build's steps (``kind`` "step") or services ("service") at ``now``, oldest id first.

    The planned ones follow the lifecycle, with what a worker reported laid over them; the ones a caller
    added are as stored; deleted ones are gone.
    """
    writes = record.get("writes") or {}
    removed = set(writes.get("removed", {}).get(kind, []))
    edits = writes.get("edits", {}).get(kind, {})
    shown = [
        {**component, **edits.get(str(component["number"]), {})}
        for component in _planned(record, kind, now)
        if component["number"] not in removed
    ]
    return shown + [dict(component) for component in writes.get("extra", {}).get(kind, [])]


def find(record: dict[str, Any], kind: str, number: int, now: float) -> dict[str, Any] | None:
    """The step or service with this number at ``now``, if the build has one."""
    return next((c for c in render_components(record, kind, now) if c["number"] == number), None)


def _log(
    record: dict[str, Any], kind: str, component: dict[str, Any], log_id: int, data: str
) -> dict[str, Any]:
    fields = record["fields"]
    return {"id": log_id, "build_id": fields["id"], "repo_id": fields["repo_id"],
            "service_id": component["id"] if kind == "service" else 0,
            "step_id": component["id"] if kind == "step" else 0, "data": data}  # fmt: skip


def render_log(
    record: dict[str, Any], kind: str, component: dict[str, Any], now: float
) -> dict[str, Any] | None:
    """The log of a step or service at ``now`` (Vela's ``library.Log``), or None when it has none."""
    key = f"{kind}:{component['id']}"
    stored = (record.get("writes") or {}).get("logs", {})
    if key in stored:
        entry = stored[key]
        return None if entry is None else _log(record, kind, component, entry["id"], entry["data"])
    index = _planned_index(record, kind, component)
    if index is None:
        return None  # Vela's create of a step or service makes no log
    services = len(record["pipeline"]["services"])
    log_id = record["sub_ids"]["log"] + (index if kind == "service" else services + index)
    planned = _planned(record, kind, now)[index]
    return _log(record, kind, component, log_id, _log_data(record, kind, index, planned, now))


def render_logs(record: dict[str, Any], now: float) -> list[dict[str, Any]]:
    """Every log of the build: services' first, then steps' (``service_id ASC NULLS LAST, step_id ASC``).

    A deleted step or service leaves its log behind, as Vela's tables do.
    """
    logs = []
    for kind in ("service", "step"):
        extra = (record.get("writes") or {}).get("extra", {}).get(kind, [])
        for component in [*_planned(record, kind, now), *extra]:
            log = render_log(record, kind, component, now)
            if log is not None:
                logs.append(log)
    return logs


#: What a worker's update of a step or service may set (each only when non-empty / greater than 0).
EDITABLE = (
    "status",
    "error",
    "exit_code",
    "started",
    "finished",
    "host",
    "runtime",
    "distribution",
)


def add_component(
    record: dict[str, Any], kind: str, body: dict[str, Any], new_id: int, now: float, entry: str
) -> tuple[dict[str, Any], dict[str, Any]]:
    """A step or service created by a caller (v0.23 ``CreateStep``/``CreateService``); 409 on a taken number."""
    number = body.get("number", 0)
    if find(record, kind, number, now) is not None:
        raise ApiError(
            409, f"unable to create {kind} for build {entry}: {kind} {number} already exists"
        )
    fields = record["fields"]
    component = {**{key: zero for key, zero in _ZERO.items() if kind == "step" or key != "stage"},
                 **{k: v for k, v in body.items() if k in _ZERO}}  # fmt: skip
    component.update(id=new_id, build_id=fields["id"], repo_id=fields["repo_id"])
    component["status"] = component["status"] or "pending"
    component["created"] = component["created"] or int(now)
    component = _step_order(component)
    writes = _writes(record)
    writes["extra"].setdefault(kind, []).append(component)
    return {**record, "writes": writes}, component


def edit_component(
    record: dict[str, Any], kind: str, component: dict[str, Any], body: dict[str, Any]
) -> tuple[dict[str, Any], dict[str, Any]]:
    """A worker's update of a step or service: the progress fields it gives, as given, from now on."""
    given = {k: v for k, v in body.items() if k in EDITABLE and v not in ("", 0, None)}
    given = {k: v for k, v in given.items() if not (isinstance(v, int) and v < 0)}
    writes = _writes(record)
    updated = {**component, **given}
    if _planned_index(record, kind, component) is None:
        writes["extra"][kind] = [
            updated if c["id"] == component["id"] else c for c in writes["extra"][kind]
        ]
    else:
        edits = writes["edits"].setdefault(kind, {})
        edits[str(component["number"])] = {**edits.get(str(component["number"]), {}), **given}
    return {**record, "writes": writes}, updated


def remove_component(
    record: dict[str, Any], kind: str, component: dict[str, Any]
) -> dict[str, Any]:
    """Delete a step or service (its log stays, as in Vela's tables)."""
    writes = _writes(record)
    if _planned_index(record, kind, component) is None:
        writes["extra"][kind] = [c for c in writes["extra"][kind] if c["id"] != component["id"]]
    else:
        writes["removed"].setdefault(kind, []).append(component["number"])
    return {**record, "writes": writes}


def write_log(
    record: dict[str, Any], kind: str, component: dict[str, Any], action: str, data: str,
    now: float, entry: str, new_id: int = 0,
) -> dict[str, Any]:  # fmt: skip
    """Create (``new_id``), update or delete the log of a step or service, with Vela's refusals."""
    current = render_log(record, kind, component, now)
    if action == "create" and current is not None:
        raise ApiError(409, f"unable to create logs for {kind} {entry}: a log already exists")
    if action != "create" and current is None:
        raise ApiError(404, f"unable to get logs for {kind} {entry}: record not found")
    writes = _writes(record)
    key = f"{kind}:{component['id']}"
    if action == "create":
        writes["logs"][key] = {"id": new_id, "data": data}
    elif action == "update":
        assert current is not None
        writes["logs"][key] = {"id": current["id"], "data": data or current["data"]}
    else:
        writes["logs"][key] = None
    return {**record, "writes": writes}


def _stage_status(steps: list[dict[str, Any]]) -> str:
    """``stg.GetOverallStatus`` of api/build/graph.go, rule for rule."""
    count = Counter(step["status"] for step in steps)
    for status in ("running", "failure", "error"):
        if count[status]:
            return status
    if count["killed"] >= len(steps):
        return "killed"
    for status in ("skipped", "success", "canceled"):
        if count[status]:
            return status
    return "pending"


def _node(node_id: int, cluster: int, name: str, steps: list[dict[str, Any]]) -> dict[str, Any]:
    started = finished = 0
    for step in steps:
        if finished == 0 or finished < step["finished"]:
            finished = step["finished"]
        if started == 0 or started > step["started"]:
            started = step["started"]
    return {"id": node_id, "cluster": cluster, "name": name, "status": _stage_status(steps),
            "started_at": started, "finished_at": finished, "steps": steps}  # fmt: skip


def render_graph(record: dict[str, Any], org: str, repo: str, now: float) -> dict[str, Any]:
    """The build graph of api/build/graph.go at ``now`` (nodes keyed by id, edges in a fixed order)."""
    steps = list(reversed(render_components(record, "step", now)))  # ListStepsForBuild: id DESC
    by_stage: dict[str, list[dict[str, Any]]] = {}
    for step in steps:
        by_stage.setdefault(step["stage"] or step["name"], []).append(step)
    nodes: list[dict[str, Any]] = []
    edges: list[dict[str, Any]] = []
    for service in render_components(record, "service", now):
        node_id = len(nodes)
        nodes.append({"id": node_id, "cluster": SERVICE_CLUSTER, "name": service["name"],
                      "status": service["status"], "started_at": service["started"],
                      "finished_at": service["finished"], "steps": []})  # fmt: skip
        if node_id > 0:
            edges.append({"cluster": SERVICE_CLUSTER, "source": node_id - 1,
                          "destination": node_id, "status": service["status"]})  # fmt: skip
    needs: dict[int, list[str]] = {}
    stages = record["pipeline"]["stages"] or [
        [s["name"], []] for s in sorted(steps, key=lambda s: s["number"])
    ]
    for name, stage_needs in stages:
        cluster = (
            BUILTIN_CLUSTER
            if record["pipeline"]["stages"] and name in ("init", "clone")
            else PIPELINE_CLUSTER
        )
        if name in by_stage:
            needs[len(nodes)] = stage_needs
            nodes.append(_node(len(nodes), cluster, name, by_stage[name]))
    for dest in nodes:
        if dest["id"] not in needs:
            continue
        for source in nodes:
            if source["id"] not in needs:
                continue
            builtin = (source["cluster"], dest["cluster"]) == (BUILTIN_CLUSTER, BUILTIN_CLUSTER)
            if builtin and dest["id"] - source["id"] == 1:
                edges.append(_edge(source, dest["id"]))
            if BUILTIN_CLUSTER in (source["cluster"], dest["cluster"]) or dest is source:
                continue
            if needs[dest["id"]]:
                edges.extend(
                    _edge(source, dest["id"])
                    for need in needs[dest["id"]]
                    if need != "clone" and need == source["name"]
                )
            else:
                edges.append(_edge(source, source["id"] + 1))
    return {
        "build_id": record["fields"]["id"],
        "build_number": record["fields"]["number"],
        "org": org,
        "repo": repo,
        "nodes": {str(node["id"]): node for node in nodes},
        "edges": edges,
    }


def _edge(source: dict[str, Any], destination: int) -> dict[str, Any]:
    return {"cluster": source["cluster"], "source": source["id"], "destination": destination,
            "status": source["status"]}  # fmt: skip
