"""Stainless builds: per-target codegen and check steps laid out as timelines."""

from __future__ import annotations

import functools
import hashlib
import itertools
import math
import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import orjson

from buildmock.core import ids
from buildmock.core.errors import ApiError
from buildmock.core.lifecycle import Lifecycle
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
    "sql",
    "openapi",
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
_FULL_SHA = re.compile(r"[0-9a-f]{40}")
SEVERITY = ("fatal", "error", "warning", "note")
_CONFLICTS = ("merge_conflict", "upstream_merge_conflict")


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


#: A stored target, one flat tuple of atoms (a JSON array once stored elsewhere): its commit and
#: test conclusions and the times it enters each :data:`TARGET` phase and completes (postgen
#: ``None`` when skipped); then, only in a build read from a state document, its :data:`Details`.
#: A tuple holding only atoms is one object the garbage collector stops walking after its first
#: look, where a dict of tuples was ten it walked on every young collection and freed one by one at
#: eviction (bench/RESULTS.md).
Target = Sequence[Any]
_START = 2  # then code generation, postgen and completion
_TIMES = slice(_START, _START + 4)
_DETAILS = _START + 4
#: What a target's commit and checks show once they run: its SDK commit and tree SHAs, lines added
#: and deleted, merge-conflict PR (or ``None``) and its checks' run ids (as :data:`CHECKS`).
Details = tuple[str, str, int, int, int | None, int, int, int]
_WAIT, _CODEGEN, _POSTGEN = (TARGET.durations[phase] for phase in TARGET.phases)
#: A phase's duration factor is uniform in [0.7, 1.3], a check's run id an integer of ten digits,
#: lines added or deleted (and a merge-conflict PR's number) in [1, 900]; see :func:`plan_build`
#: and :func:`details`.
_FACTOR_LOW, _FACTOR_SPAN = 0.7, 1.3 - 0.7
_RUN_LOW, _RUN_SPAN = 10**9, 10**10 - 10**9
_CHANGES = 900
_UNHARMED = ("success", "success")


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
    """A new build record: ids and every target's conclusions and timeline, fixed at creation.

    What a target shows once it runs (SHAs, lines changed, run ids: :data:`Details`) is not drawn
    here but derived on reading from the build's one ``details`` draw (:func:`details`): a create
    answers before any of it shows, and drawing it was half the cost of planning a build. The
    commit and check timelines, URLs and repos follow at read time too (:func:`_steps`), so a
    stored build stays small and the store's cap bounds memory well below the issue's 200 MB. The
    timeline is ``TARGET.plan``'s, laid out inline (the same arithmetic).
    """
    if speed <= 0:
        raise ValueError("speed must be positive")
    planned = {}
    with synth.batch() as draw:  # the synth's lock taken once for every draw
        build_id = draw.token(ids.BASE32, 26, "bui_")
        victim = draw.choice(targets)
        # A target draws its phases' duration factors: what ``uniform_of(0.7, 1.3)`` draws,
        # written out (tests/domain holds them equal).
        random = draw.rng.random
        hit = _conclusions(outcome, True)
        for name in targets:
            conclusion, test = hit if name == victim else _UNHARMED
            waiting, coding, checking = (
                _FACTOR_LOW + _FACTOR_SPAN * random(),
                _FACTOR_LOW + _FACTOR_SPAN * random(),
                _FACTOR_LOW + _FACTOR_SPAN * random(),
            )
            codegen = now + _WAIT * waiting / speed
            postgen = codegen + _CODEGEN * coding / speed
            generated = conclusion in GENERATED
            planned[name] = (
                conclusion,
                test,
                now,
                codegen,
                # Without code generation there is no postgen phase: completed when it would begin.
                postgen if generated else None,
                postgen + _POSTGEN * checking / speed if generated else postgen,
            )
        config_commit = draw.sha()
        drawn = draw.rng.getrandbits(64)
    return {
        "id": build_id,
        "org": project.org,
        "project": project.name,
        "branch": branch,
        "revision": revision if isinstance(revision, str) else "files",
        "config_commit": config_commit,
        "created_at": now,
        "outcome": outcome,
        "targets": planned,
        "details": drawn,
    }


def details(record: dict[str, Any], name: str) -> Details:
    """Target ``name``'s :data:`Details`: as a state document gave them, else derived from the
    build's ``details`` draw and the target's name (the same build, the same details)."""
    target = record["targets"][name]
    if len(target) > _DETAILS:
        return tuple(target[_DETAILS:])
    return _derived(record["details"], name, target[0])


@functools.lru_cache(maxsize=4096)
def _derived(drawn: int, name: str, conclusion: str) -> Details:
    """:func:`details` from the build's draw: one BLAKE2b digest of 64 bytes gives the two SHAs
    (20 bytes each), the three run ids (6 bytes each) and the lines added and deleted (3 bytes
    each), each number reduced modulo its span (uniform to within 2**-14); a merge-conflict PR, only
    for a target ending in one, takes a second, personalised digest. Kept for the builds being read:
    a running build is rendered anew at each of its changes."""
    key = f"{drawn}:{name}".encode()
    digest = hashlib.blake2b(key, digest_size=64).digest()
    number, noop = int.from_bytes, conclusion == "noop"
    return (
        digest[:20].hex(),
        digest[20:40].hex(),
        0 if noop else 1 + number(digest[58:61]) % _CHANGES,
        0 if noop else 1 + number(digest[61:64]) % _CHANGES,
        1 + number(hashlib.blake2b(key, digest_size=4, person=b"merge_pr").digest()) % _CHANGES
        if conclusion in _CONFLICTS
        else None,
        _RUN_LOW + number(digest[40:46]) % _RUN_SPAN,
        _RUN_LOW + number(digest[46:52]) % _RUN_SPAN,
        _RUN_LOW + number(digest[52:58]) % _RUN_SPAN,
    )


#: The states of a target's timeline, as a state document names them.
_STATES = (*TARGET.phases, "completed")


def target_marks(target: Target) -> list[tuple[str, float]]:
    """A stored target's timeline: each :data:`TARGET` state it enters and when."""
    return [
        (state, at) for state, at in zip(_STATES, target[_TIMES], strict=True) if at is not None
    ]


def document_form(record: dict[str, Any]) -> dict[str, Any]:
    """A stored build as state documents write it: each target an object (``marks`` as
    ``[state, time]`` pairs, ``changes`` and ``runs`` as arrays, its :func:`details` written out),
    not :data:`Target`'s tuple; the ``details`` draw they came from is not written."""
    targets = {}
    for name, target in record["targets"].items():
        sha, tree, additions, deletions, merge_pr, *runs = details(record, name)
        targets[name] = {
            "marks": target_marks(target),
            "conclusion": target[0],
            "test": target[1],
            "sha": sha,
            "tree": tree,
            "changes": (additions, deletions),
            "runs": tuple(runs),
            "merge_pr": merge_pr,
        }
    written = {key: value for key, value in record.items() if key != "details"}
    return {**written, "targets": targets}


def stored_form(document: dict[str, Any]) -> dict[str, Any]:
    """Inverse of :func:`document_form` (each target's details as written, not derived);
    ``ValueError`` for a build it could not have written: a hand-edited document is refused on load
    rather than answered with a 500 (or an answer off the spec) later."""
    for field in ("id", "org", "project", "branch", "revision", "config_commit"):
        _expect(isinstance(document[field], str), field, "a string")
    _expect(_is_time(document["created_at"]), "created_at", "a time in unix seconds")
    _expect(document["outcome"] in OUTCOMES, "outcome", f"one of {', '.join(OUTCOMES)}")
    targets = {}
    for name, target in document["targets"].items():
        marks = target["marks"]
        states = tuple(state for state, _ in marks)
        if states not in (_STATES, _STATES[:2] + _STATES[3:]):
            raise ValueError(f"target {name}: marks must go through {', '.join(_STATES)}")
        times = dict(marks)
        where = f"target {name}: "
        _expect(all(map(_is_time, times.values())), where + "marks", "[state, unix seconds] pairs")
        if any(later < earlier for earlier, later in itertools.pairwise(times.values())):
            raise ValueError(f"target {name}: marks must not go back in time")
        _expect(name in TARGETS, where + "name", f"one of {', '.join(TARGETS)}")
        _expect(
            target["conclusion"] in COMMIT_CONCLUSIONS, where + "conclusion", "a commit conclusion"
        )
        _expect(target["test"] in CHECK_CONCLUSIONS, where + "test", "a check conclusion")
        for field in ("sha", "tree"):
            _expect(_is_sha(target[field]), where + field, "40 hex digits")
        additions, deletions = target["changes"]
        run0, run1, run2 = target["runs"]
        _expect(all(_is_count(n) for n in (additions, deletions)), where + "changes", "counts")
        _expect(all(_is_count(n) for n in (run0, run1, run2)), where + "runs", "run ids")
        merge_pr = target["merge_pr"]
        _expect(merge_pr is None or _is_count(merge_pr), where + "merge_pr", "a PR number or null")
        targets[name] = (
            target["conclusion"],
            target["test"],
            *(times.get(state) for state in _STATES),
            target["sha"],
            target["tree"],
            additions,
            deletions,
            merge_pr,
            run0,
            run1,
            run2,
        )
    # A build read back holds its details as written: the draw they came from is not kept.
    written = {key: value for key, value in document.items() if key != "details"}
    return {**written, "targets": targets}


def _expect(holds: bool, what: str, should_be: str) -> None:
    if not holds:
        raise ValueError(f"{what} must be {should_be}")


def _is_time(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _is_count(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 0 <= value < 2**63


def _is_sha(value: Any) -> bool:
    return isinstance(value, str) and _FULL_SHA.fullmatch(value) is not None


def draw_outcome(synth: Synth) -> str:
    """The outcome of a build nobody forced: mostly success."""
    return synth.weighted((("success", 0.8), ("failure", 0.12), ("warning", 0.05), ("error", 0.03)))


def _conclusions(outcome: str, victim: bool) -> tuple[str, str]:
    """``(commit conclusion, test conclusion)`` for one target of a build ending in ``outcome``."""
    if not victim or outcome == "success":
        return "success", "success"
    if outcome == "failure":
        return "success", "failure"
    if outcome in COMMIT_CONCLUSIONS:
        return outcome, "success"
    return "success", outcome


def _steps(target: Target) -> tuple[list[tuple[str, float]], dict[str, Any]]:
    """The commit step's timeline and each check's ``(timeline, conclusion)`` of a target."""
    start, codegen, postgen, done = target[_TIMES]
    start, done_at = float(start), float(done)
    codegen_at = float(codegen) or start
    postgen_at = None if postgen is None else float(postgen)
    commit = [
        ("not_started", start),
        ("queued", (start + codegen_at) / 2),
        ("in_progress", codegen_at),
        ("completed", postgen_at or done_at),
    ]
    checks: dict[str, Any] = {}
    for index, check in enumerate(CHECKS):
        if postgen_at is None:
            checks[check] = ([("not_started", start), ("completed", done_at)], "skipped")
            continue
        span = done_at - postgen_at
        finish = postgen_at + span * (index + 2) / (len(CHECKS) + 1)
        checks[check] = (
            [
                ("not_started", start),
                ("queued", postgen_at),
                ("in_progress", postgen_at + span * 0.1 * (index + 1)),
                ("completed", finish),
            ],
            target[1] if check == "test" else "success",
        )
    return commit, checks


def _target_state(target: Target, now: float) -> str:
    """:func:`_state` of :func:`target_marks` (whose times never decrease), without making them."""
    if target[_START + 1] > now:
        return "not_started"
    postgen = target[_START + 2]
    if target[_START + 3] <= now:
        return "completed"
    return "codegen" if postgen is None or postgen > now else "postgen"


def _state(marks: Sequence[Sequence[Any]], now: float) -> str:
    """``Timeline.state_at`` over a stored timeline, without building a ``Timeline`` on every read."""
    current = marks[0][0]
    for state, at in marks:
        if at > now:
            break
        current = state
    return str(current)


def _commit_step(
    marks: Sequence[Sequence[Any]], now: float, completed: Callable[[], dict[str, Any]]
) -> dict[str, Any]:
    """A commit step at ``now``; once completed, ``completed()``'s fields both at the top level and
    (the SDK's deprecated form) under ``completed`` — built only then: most reads find steps running."""
    status = _state(marks, now)
    if status != "completed":
        return {"status": status}
    detail = completed()
    return {"status": status, **detail, "completed": dict(detail)}


def _check_step(
    marks: Sequence[Sequence[Any]], now: float, conclusion: str, url: str | None
) -> dict[str, Any]:
    """A lint, build or test step at ``now``: its run's ``url`` from queued on, the conclusion once
    completed (top level and, deprecated, under ``completed``)."""
    status = _state(marks, now)
    if status == "not_started":
        return {"status": status}
    if status != "completed":
        return {"status": status, "url": url}
    return {
        "status": status,
        "conclusion": conclusion,
        "url": url,
        "completed": {"conclusion": conclusion, "url": url},
    }


def output_commit(
    record: dict[str, Any], name: str, found: Details | None = None
) -> dict[str, Any] | None:
    """The generated SDK commit of target ``name`` (``None`` if code generation failed);
    ``found``: its :func:`details`, if known."""
    if record["targets"][name][0] not in GENERATED:
        return None
    sha, tree, additions, deletions = (found or details(record, name))[:4]
    repo = f"{record['project']}-{name}"
    return {
        "repo": {"branch": record["branch"], "name": repo, "owner": record["org"]},
        "sha": sha,
        "stats": {"additions": additions, "deletions": deletions, "total": additions + deletions},
        "tree_oid": tree,
    }


Steps = tuple[list[tuple[str, float]], dict[str, Any]]


def render_target(
    record: dict[str, Any], name: str, now: float, steps: Steps | None = None
) -> dict[str, Any]:
    """One ``BuildTarget`` of a build as it stands at ``now`` (``steps``: its ``_steps``, if known)."""
    target = record["targets"][name]
    org, repo = record["org"], f"{record['project']}-{name}"
    commit_marks, checks = steps or _steps(target)
    conclusion, status = target[0], _target_state(target, now)
    found = details(record, name)
    sha, merge_pr, runs = found[0], found[4], found[5:]
    commit = _commit_step(
        commit_marks,
        now,
        lambda: {
            "commit": output_commit(record, name, found),
            "completed_at": iso(commit_marks[-1][1]),
            "conclusion": conclusion,
            "merge_conflict_pr": None
            if merge_pr is None
            else {"number": merge_pr, "repo": {"name": repo, "owner": org}},
        },
    )
    generated = conclusion in GENERATED
    body: dict[str, Any] = {
        "object": "build_target",
        "status": status,
        "install_url": f"https://pkg.stainless.com/s/{repo}/{sha}"
        if generated and commit["status"] == "completed"
        else None,
        "commit": commit,
    }
    for (check, (marks, verdict)), run in zip(checks.items(), runs, strict=True):
        # A check skipped because code generation failed never ran, so it has no run to link to.
        url = f"https://github.com/{org}/{repo}/actions/runs/{run}" if generated else None
        body[check] = _check_step(marks, now, verdict, url)
    return body


def _times(record: dict[str, Any]) -> Iterator[Sequence[Any]]:
    """Each target's own times (postgen ``None`` when skipped)."""
    for target in record["targets"].values():
        yield target[_TIMES]


def _step_marks(
    record: dict[str, Any], steps: dict[str, Steps] | None = None
) -> Iterator[Sequence[Sequence[Any]]]:
    """Each step's timeline of each target."""
    for name, target in record["targets"].items():
        commit, checks = steps[name] if steps else _steps(target)
        yield commit
        for marks, _ in checks.values():
            yield marks


def last_change(record: dict[str, Any], now: float, steps: dict[str, Steps] | None = None) -> float:
    """When anything in the build last changed, as of ``now``."""
    latest = record["created_at"]
    for times in _times(record):
        for at in times:
            if at is not None and latest < at <= now:
                latest = at
    for marks in _step_marks(record, steps):
        for _, at in marks:
            if latest < at <= now:
                latest = at
    return float(latest)


def change_times(record: dict[str, Any]) -> tuple[float, ...]:
    """Every time at which the build's rendering changes, sorted: it is constant in between."""
    changes = {float(at) for times in _times(record) for at in times if at is not None}
    changes.update(float(at) for marks in _step_marks(record) for _, at in marks)
    return tuple(sorted(changes))


def is_done(record: dict[str, Any], now: float) -> bool:
    """Whether every target is completed."""
    return all(t[_START + 3] <= now for t in record["targets"].values())


def unstarted(record: dict[str, Any], now: float) -> bool:
    """Whether at ``now`` every step of every target still shows ``not_started`` and nothing has
    changed since the build was created: how a create answers (and most of a build's first second).

    A target's first change is its commit step being queued, halfway from its start to code
    generation (:func:`_steps`); everything else of it comes at or after code generation.
    """
    created = record["created_at"]
    for target in record["targets"].values():
        start, codegen = target[_START], target[_START + 1]
        if start > created or not now < (start + (float(codegen) or start)) / 2:
            return False
    return bool(record["targets"])


def _unstarted_target() -> dict[str, Any]:
    """:func:`render_target` of a target of an :func:`unstarted` build (a new object each time)."""
    return {
        "object": "build_target",
        "status": "not_started",
        "install_url": None,
        "commit": {"status": "not_started"},
        **{check: {"status": "not_started"} for check in CHECKS},
    }


@functools.lru_cache(maxsize=256)
def _unstarted_encoded(names: tuple[str, ...]) -> orjson.Fragment:
    """The ``targets`` of an :func:`unstarted` build of these targets, encoded once."""
    return orjson.Fragment(orjson.dumps({name: _unstarted_target() for name in names}))


def render_build(record: dict[str, Any], now: float, *, encoded: bool = False) -> dict[str, Any]:
    """The ``Build`` object as Stainless would send it at ``now``.

    ``encoded``: for a rendering that is only sent, never read: what needs no deriving (an
    unstarted build's targets) may come as an ``orjson.Fragment`` of the same JSON.
    """
    if unstarted(record, now):
        # Nothing to derive: every target's rendering is the same, and the build ends nowhere soon.
        changed, done = float(record["created_at"]), False
        names = tuple(record["targets"])
        targets: Any = (
            _unstarted_encoded(names) if encoded else {name: _unstarted_target() for name in names}
        )
    else:
        # Every target's steps are derived once and shared by the parts that need them.
        steps = {name: _steps(target) for name, target in record["targets"].items()}
        changed, done = last_change(record, now, steps), is_done(record, now)
        targets = {name: render_target(record, name, now, steps[name]) for name in steps}
    return {
        "id": record["id"],
        "config_commit": record["config_commit"],
        "created_at": iso(record["created_at"]),
        "updated_at": iso(changed),
        "documented_spec": {
            "type": "url",
            "url": f"https://storage.stainless.com/specs/{record['project']}/{record['config_commit'][:12]}.yml",
            "expires": iso(changed + 3600),
        }
        if done
        else None,
        "object": "build",
        "org": record["org"],
        "project": record["project"],
        "targets": targets,
    }


def target_completed(record: dict[str, Any], target: str, now: float) -> bool:
    """Whether ``target`` finished code generation successfully by ``now``."""
    planned = record["targets"][target]
    commit, _ = _steps(planned)
    return _state(commit, now) == "completed" and planned[0] in GENERATED


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
        more = derived.choice(("markdown", "raw", None))
        entry: dict[str, Any] = {
            "code": code,
            "ignored": derived.chance(0.1),
            "level": level,
            "message": derived.sentence(),
            "more": {"type": more, more: derived.sentence()} if more else None,
            "config_ref": f"#/resources/{derived.word()}/methods/{derived.word()}",
            "oas_ref": f"#/paths/~1v1~1{derived.word()}/get",
            "_target": derived.choice((None, *record["targets"])),
        }
        found.append(entry)
    return found
