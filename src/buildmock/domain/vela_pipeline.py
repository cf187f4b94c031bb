"""Vela build sub-resources: steps, services, their logs and the build graph, derived from a build at ``now``.

A build record carries its compiled pipeline (stages of steps, services), the ids Vela gave them, the window in
which a worker runs it and, once cancelled or pinned, the moment that stopped it. Everything here is rendered
from that and the clock: a step runs, ends and its log grows while it runs; a manual clock freezes it all.
"""

from __future__ import annotations

import base64
from collections import Counter
from typing import Any

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


def plan_pipeline(synth: Synth) -> dict[str, Any]:
    """The compiled pipeline of a new build: its steps (numbered as Vela's compiler does) and services."""
    stages, services = synth.choice(TEMPLATES)
    staged = bool(stages[0][0])
    steps: list[list[Any]] = [["init", INIT_IMAGE, "init" if staged else "", []],
                              ["clone", CLONE_IMAGE, "clone" if staged else "", []]]  # fmt: skip
    graph: list[list[Any]] = [["init", []], ["clone", []]] if staged else []
    for name, members, needs in stages:
        steps.extend([step, image, name, list(commands)] for step, image, commands in members)
        if staged:
            graph.append([name, list(needs)])
    user = len(steps) - 2
    return {
        "steps": steps,
        "stages": graph,
        "services": [list(service) for service in services],
        #: The step that ends a build that fails (a user step, not init or clone).
        "fail_at": 2 + synth.integer(0, user - 1),
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


def render_components(record: dict[str, Any], kind: str, now: float) -> list[dict[str, Any]]:
    """The build's steps (``kind`` "step") or services ("service") at ``now``, in number order."""
    return (render_services if kind == "service" else render_steps)(record, now)


def render_log(record: dict[str, Any], kind: str, index: int, now: float) -> dict[str, Any]:
    """The log of step or service ``index`` at ``now`` (Vela's ``library.Log``)."""
    fields, ids = record["fields"], record["sub_ids"]
    services = len(record["pipeline"]["services"])
    shown = render_components(record, kind, now)[index]
    return {
        "id": ids["log"] + (index if kind == "service" else services + index),
        "build_id": fields["id"],
        "repo_id": fields["repo_id"],
        "service_id": shown["id"] if kind == "service" else 0,
        "step_id": shown["id"] if kind == "step" else 0,
        "data": _log_data(record, kind, index, shown, now),
    }


def render_logs(record: dict[str, Any], now: float) -> list[dict[str, Any]]:
    """Every log of the build: services' first, then steps' (``service_id ASC NULLS LAST, step_id ASC``)."""
    services = len(record["pipeline"]["services"])
    steps = len(record["pipeline"]["steps"])
    return [render_log(record, "service", i, now) for i in range(services)] + [
        render_log(record, "step", i, now) for i in range(steps)
    ]


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
    steps = list(reversed(render_steps(record, now)))  # ListStepsForBuild: id DESC
    by_stage: dict[str, list[dict[str, Any]]] = {}
    for step in steps:
        by_stage.setdefault(step["stage"] or step["name"], []).append(step)
    nodes: list[dict[str, Any]] = []
    edges: list[dict[str, Any]] = []
    for service in render_services(record, now):
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
