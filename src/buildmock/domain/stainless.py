"""Stainless builds: per-target codegen and check steps laid out as timelines."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from buildmock.core import ids
from buildmock.core.errors import ApiError
from buildmock.core.lifecycle import Lifecycle, Timeline
from buildmock.synth.factory import Synth, iso

TARGETS = (
    "node",
    "typescript",
    "python",
    "go",
    "java",
    "kotlin",
    "ruby",
    "terraform",
    "cli",
    "php",
    "csharp",
)
CHECKS = ("lint", "build", "test")

COMMIT_CONCLUSIONS = (
    "error",
    "warning",
    "note",
    "success",
    "merge_conflict",
    "upstream_merge_conflict",
    "fatal",
    "payment_required",
    "cancelled",
    "timed_out",
    "noop",
    "version_bump",
)
CHECK_CONCLUSIONS = (
    "success",
    "failure",
    "skipped",
    "cancelled",
    "action_required",
    "neutral",
    "timed_out",
)
#: Commit conclusions after which the SDK was generated and its checks run.
GENERATED = frozenset({"success", "warning", "note", "noop", "version_bump"})
#: Every outcome ``Prefer: outcome=`` accepts: any documented conclusion of a commit or a check.
OUTCOMES = tuple(dict.fromkeys(("success", "failure", *COMMIT_CONCLUSIONS, *CHECK_CONCLUSIONS)))

#: A target: queued briefly, then code generation, then post-generation checks (seconds at speed 1).
TARGET = Lifecycle(
    phases=("not_started", "codegen", "postgen"),
    outcomes=("completed",),
    durations={"not_started": 2.0, "codegen": 6.0, "postgen": 9.0},
)

BUILD_ID = ids.matcher("bui_", ids.BASE32, 26)
_PROJECT = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$")
_SHA = re.compile(r"^[0-9a-f]{7,40}$")
SEVERITY = ("fatal", "error", "warning", "note")


@dataclass(frozen=True)
class Project:
    """A Stainless project: the org it belongs to and its configured SDK targets."""

    name: str
    org: str
    targets: tuple[str, ...]


def valid_project(name: str) -> bool:
    """Whether ``name`` is a well-formed project slug."""
    return bool(_PROJECT.match(name))


def synth_project(synth: Synth, name: str) -> Project:
    """The project a well-formed name implies, the same for the same seed and name."""
    derived = synth.derive("project", name)
    org = name.split("-", 1)[0].split("_", 1)[0].lower() or derived.company_slug()
    extra = [t for t in TARGETS if t not in ("typescript", "python") and derived.chance(0.3)]
    return Project(name, org, ("typescript", "python", *extra))


def infer_branch(revision: Any, branch: str | None) -> str:
    """The project branch a build modifies; 400 when the revision does not tell and none is given.

    A branch name names itself; a merge command ``base..head`` builds on ``head``; a commit SHA or
    file contents say nothing about the branch.
    """
    if branch is not None:
        return branch
    if isinstance(revision, str) and not _SHA.match(revision):
        base, dots, head = revision.partition("..")
        return (head or base or revision) if dots else revision
    shown = revision if isinstance(revision, str) else "file contents"
    raise ApiError(400, f"could not infer a branch from revision {shown}; pass `branch`")


def plan_build(
    synth: Synth,
    project: Project,
    *,
    now: float,
    speed: float,
    revision: Any,
    branch: str,
    targets: tuple[str, ...],
    outcome: str,
) -> dict[str, Any]:
    """A new build record: ids, commits and every step's timeline, fixed at creation."""
    build_id = synth.token(ids.BASE32, 26, "bui_")
    victim = synth.choice(targets)
    planned = {
        name: _plan_target(
            synth, project, name, now, speed, branch, _conclusions(outcome, name == victim)
        )
        for name in targets
    }
    return {
        "id": build_id,
        "org": project.org,
        "project": project.name,
        "branch": branch,
        "revision": revision if isinstance(revision, str) else "files",
        "config_commit": synth.sha(),
        "created_at": now,
        "outcome": outcome,
        "targets": planned,
    }


def draw_outcome(synth: Synth) -> str:
    """The outcome of a build nobody forced: mostly success."""
    roll = synth.uniform(0, 1)
    return (
        "success"
        if roll < 0.8
        else "failure"
        if roll < 0.92
        else "warning"
        if roll < 0.97
        else "error"
    )


def _conclusions(outcome: str, victim: bool) -> tuple[str, str]:
    """``(commit conclusion, test conclusion)`` for one target of a build ending in ``outcome``."""
    if not victim or outcome == "success":
        return "success", "success"
    if outcome == "failure":
        return "success", "failure"
    if outcome in COMMIT_CONCLUSIONS:
        return outcome, "success"
    return "success", outcome


def _plan_target(
    synth: Synth,
    project: Project,
    target: str,
    start: float,
    speed: float,
    branch: str,
    conclusions: tuple[str, str],
) -> dict[str, Any]:
    commit_conclusion, test_conclusion = conclusions
    generated = commit_conclusion in GENERATED
    scale = {phase: synth.uniform(0.7, 1.3) for phase in TARGET.phases}
    timeline = TARGET.plan(
        start, "completed", speed=speed, scale=scale, skip=() if generated else ("postgen",)
    )
    codegen_at = timeline.entered("codegen", float("inf")) or start
    postgen_at = timeline.entered("postgen", float("inf"))
    done_at = timeline.end
    commit_marks = [
        ("not_started", start),
        ("queued", (start + codegen_at) / 2),
        ("in_progress", codegen_at),
        ("completed", postgen_at or done_at),
    ]
    repo = f"{project.name}-{target}"
    checks: dict[str, Any] = {}
    for index, check in enumerate(CHECKS):
        if postgen_at is None:
            marks = [("not_started", start), ("completed", done_at)]
            conclusion = "skipped"
        else:
            span = done_at - postgen_at
            finish = postgen_at + span * (index + 2) / (len(CHECKS) + 1)
            marks = [
                ("not_started", start),
                ("queued", postgen_at),
                ("in_progress", postgen_at + span * 0.1 * (index + 1)),
                ("completed", finish),
            ]
            conclusion = test_conclusion if check == "test" else "success"
        checks[check] = {
            "marks": Timeline(tuple(marks)).to_json(),
            "conclusion": conclusion,
            "url": f"https://github.com/{project.org}/{repo}/actions/runs/{synth.integer(10**9, 10**10 - 1)}",
        }
    sha = synth.sha()
    merge_pr = None
    if commit_conclusion in ("merge_conflict", "upstream_merge_conflict"):
        merge_pr = {"number": synth.integer(1, 900), "repo": {"name": repo, "owner": project.org}}
    return {
        "marks": timeline.to_json(),
        "commit": {
            "marks": Timeline(tuple(commit_marks)).to_json(),
            "conclusion": commit_conclusion,
            "commit": None
            if commit_conclusion not in GENERATED
            else {
                "repo": {"branch": branch, "name": repo, "owner": project.org},
                "sha": sha,
            },
            "merge_conflict_pr": merge_pr,
        },
        "install_url": f"https://pkg.stainless.com/s/{repo}/{sha}" if generated else None,
        "checks": checks,
    }


def _step(step: dict[str, Any], now: float, completed: dict[str, Any]) -> dict[str, Any]:
    status = Timeline.from_json(step["marks"]).state_at(now)
    return (
        {"status": status, "completed": completed} if status == "completed" else {"status": status}
    )


def render_target(target: dict[str, Any], now: float) -> dict[str, Any]:
    """One ``BuildTarget`` as it stands at ``now``."""
    commit = target["commit"]
    body: dict[str, Any] = {
        "object": "build_target",
        "status": Timeline.from_json(target["marks"]).state_at(now),
        "install_url": None,
        "commit": _step(
            commit,
            now,
            {
                "commit": commit["commit"],
                "conclusion": commit["conclusion"],
                "merge_conflict_pr": commit["merge_conflict_pr"],
            },
        ),
    }
    if body["commit"]["status"] == "completed":
        body["install_url"] = target["install_url"]
    for name, check in target["checks"].items():
        body[name] = _step(check, now, {"conclusion": check["conclusion"], "url": check["url"]})
    return body


def last_change(record: dict[str, Any], now: float) -> float:
    """When anything in the build last changed, as of ``now``."""
    latest = record["created_at"]
    for target in record["targets"].values():
        for marks in (
            target["marks"],
            target["commit"]["marks"],
            *(c["marks"] for c in target["checks"].values()),
        ):
            for _, at in marks:
                if latest < at <= now:
                    latest = at
    return float(latest)


def is_done(record: dict[str, Any], now: float) -> bool:
    """Whether every target is completed."""
    return all(Timeline.from_json(t["marks"]).end <= now for t in record["targets"].values())


def render_build(record: dict[str, Any], now: float) -> dict[str, Any]:
    """The ``Build`` object as Stainless would send it at ``now``."""
    targets = record["targets"]
    done = is_done(record, now)
    return {
        "id": record["id"],
        "config_commit": record["config_commit"],
        "created_at": iso(record["created_at"]),
        "updated_at": iso(last_change(record, now)),
        "documented_spec": {
            "type": "url",
            "url": f"https://storage.stainless.com/specs/{record['project']}/{record['config_commit'][:12]}.yml",
            "expires": iso(last_change(record, now) + 3600),
        }
        if done
        else None,
        "object": "build",
        "org": record["org"],
        "project": record["project"],
        "targets": {name: render_target(targets[name], now) for name in targets},
    }


def target_completed(record: dict[str, Any], target: str, now: float) -> bool:
    """Whether ``target`` finished code generation successfully by ``now``."""
    planned = record["targets"][target]
    commit = Timeline.from_json(planned["commit"]["marks"])
    return commit.state_at(now) == "completed" and planned["commit"]["conclusion"] in GENERATED


def diagnostics(synth: Synth, record: dict[str, Any]) -> list[dict[str, Any]]:
    """The diagnostics of a build, derived from its id (same build, same diagnostics)."""
    derived = synth.derive("diagnostics", record["id"])
    found = []
    for _ in range(derived.integer(0, 6)):
        level = derived.choice(SEVERITY)
        code = derived.choice(
            (
                "Schema/EnumHasOneMember",
                "Method/NameNotAllowed",
                "Schema/ObjectHasNoProperties",
                "Endpoint/NotConfigured",
                "Model/Recommended",
                "Parameter/MissingDescription",
            )
        )
        entry: dict[str, Any] = {
            "code": code,
            "ignored": derived.chance(0.1),
            "level": level,
            "message": derived.sentence(),
            "config_ref": f"#/resources/{derived.word()}/methods/{derived.word()}",
            "oas_ref": f"#/paths/~1v1~1{derived.word()}/get",
            "_target": derived.choice((None, *record["targets"])),
        }
        found.append(entry)
    return found
