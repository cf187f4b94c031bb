"""Vela builds: per-repo numbers, a pending approval gate and timelines from pending to an outcome."""

from __future__ import annotations

import ast
import base64
import functools
import hashlib
import hmac
import json
import re
from typing import Any

from buildmock.core.errors import ApiError
from buildmock.core.lifecycle import Lifecycle, Timeline
from buildmock.domain import vela_pipeline as pipeline
from buildmock.synth.factory import Synth

#: Every status a Vela build can show (``constants/status.go``).
STATUSES = (
    "pending", "pending approval", "running", "success", "failure", "error", "killed", "canceled", "skipped",
)  # fmt: skip
EVENTS = ("push", "pull_request", "tag", "deployment", "comment", "schedule", "delete")
#: What ``Prefer: outcome=`` may force: the statuses a build can end in by itself.
OUTCOMES = ("success", "failure", "error", "killed")
#: Statuses from which Vela cancels a build.
CANCELABLE = ("running", "pending", "pending approval")

#: ``pending approval`` only for builds that need it (see :func:`needs_approval`), then queued, then run.
LIFECYCLE = Lifecycle(
    phases=("pending approval", "pending", "running"),
    outcomes=OUTCOMES,
    durations={"pending": 8.0, "running": 90.0},
    actions={
        "cancel": dict.fromkeys(CANCELABLE, "canceled"),
        "approve": {"pending approval": "pending"},
    },
    refusal_status=400,
)

#: The ``Build`` fields in the order Vela v0.23 sends them (go-vela/types v0.23.3 ``library.Build``), with
#: the values the database gives an unset field: every field is sent, ``deploy_payload`` as ``{}``.
FIELDS: dict[str, Any] = {
    "id": 0, "repo_id": 0, "pipeline_id": 0, "number": 0, "parent": 0, "event": "push",
    "event_action": "", "status": "pending", "error": "", "enqueued": 0, "created": 0, "started": 0,
    "finished": 0, "deploy": "", "deploy_number": 0, "deploy_payload": {}, "clone": "", "source": "",
    "title": "", "message": "", "commit": "", "sender": "", "author": "", "email": "", "link": "",
    "branch": "", "ref": "", "base_ref": "", "head_ref": "", "host": "", "runtime": "",
    "distribution": "", "approved_at": 0, "approved_by": "",
}  # fmt: skip
INT_FIELDS = frozenset(
    k for k, v in FIELDS.items() if isinstance(v, int) and not isinstance(v, bool)
)
#: Fields that the lifecycle derives; giving any of them in an update pins the build as given.
LIFECYCLE_FIELDS = (
    "status",
    "error",
    "enqueued",
    "started",
    "finished",
    "host",
    "runtime",
    "distribution",
)
#: Fields a worker's ``PUT …/builds/{build}`` may change (each only when non-empty / > 0).
WORKER_FIELDS = (*LIFECYCLE_FIELDS, "title", "message")
#: Fields the server sets on create and restart, whatever the body says.
SERVER_FIELDS = frozenset(
    {"id", "repo_id", "number", "parent", "status", "created", "link"}
) | frozenset(LIFECYCLE_FIELDS)

UI = "https://vela.company.localhost"
#: The queue route a build is published to (``constants.DefaultRoute``).
QUEUE_ROUTE = "vela"
_NAME = re.compile(r"^[A-Za-z0-9_.-]{1,100}$")
_INT64 = (-(2**63), 2**63 - 1)
_GO_TYPES = {int: "int64", str: "string", bool: "bool"}


@functools.lru_cache(maxsize=4096)  # names come from paths: a few, asked for on every request
def valid_name(name: str) -> bool:
    """Whether ``name`` is a well-formed org or repo name (such repos exist implicitly)."""
    return bool(_NAME.match(name)) and name not in (".", "..")


def draw_outcome(synth: Synth) -> str:
    """The outcome of a build nobody forced: mostly success."""
    return synth.weighted((("success", 0.8), ("failure", 0.12), ("error", 0.05), ("killed", 0.03)))


def check_int64(body: dict[str, Any]) -> None:
    """Vela decodes into Go int64s: a number out of range is its decode error (400), the earliest
    in the document as ``encoding/json`` reports it (not an order of our own: the same body names
    the same field on every run)."""
    for name, value in body.items():
        if (
            name in INT_FIELDS
            and isinstance(value, int)
            and not isinstance(value, bool)
            and not _INT64[0] <= value <= _INT64[1]
        ):
            raise ApiError(
                400,
                f"unable to decode JSON for build {body.get('id', 0)}: json: cannot unmarshal number "
                f"{value} into Go struct field Build.{name} of type int64",
            )


def check_query_int64(name: str, value: int | None, context: str) -> None:
    """Vela parses integer query parameters with ``strconv.ParseInt``: out of int64 range is a 400."""
    if value is not None and not _INT64[0] <= value <= _INT64[1]:
        raise ApiError(
            400,
            f"unable to convert {name} query parameter{context}: "
            f'strconv.ParseInt: parsing "{value}": value out of range',
        )


def admin_refusal(body: dict[str, Any]) -> str | None:
    """Vela's validation text for an admin update whose ``repo_id`` or ``number`` is <= 0."""
    for name in ("repo_id", "number"):
        value = body.get(name)
        if isinstance(value, int | float) and value <= 0:
            return f"unable to update build {body.get('id', 0)}: empty build {name} provided"
    return None


def admin_refusal_from_validation(message: str) -> str | None:
    """Recover the admin body from a schema ``not`` failure and give Vela's text for it, if it is one."""
    instance, sep, _ = message.partition(" should not be valid under ")
    if not sep or not instance.startswith("{"):
        return None
    try:
        body = ast.literal_eval(instance)
    except (ValueError, SyntaxError, MemoryError, RecursionError):
        return None
    return admin_refusal(body) if isinstance(body, dict) else None


def _clean(body: dict[str, Any]) -> dict[str, Any]:
    """The known build fields of a request body, integers as ints."""
    cleaned: dict[str, Any] = {}
    for name, value in body.items():
        if name not in FIELDS:
            continue
        if name in INT_FIELDS and isinstance(value, float):
            value = int(value)
        cleaned[name] = value
    return cleaned


def _defaults(synth: Synth, org: str, repo: str, event: str) -> dict[str, Any]:
    """Realistic values for the fields a create request left out."""
    html = f"https://github.com/{org}/{repo}"
    sha = synth.sha()
    _, user, email = synth.person()
    fields: dict[str, Any] = {
        "clone": f"{html}.git", "source": f"{html}/commit/{sha}", "title": f"{event} received from {html}",
        "message": synth.commit_message(), "commit": sha, "sender": user, "author": user,
        "email": email, "branch": "main", "ref": "refs/heads/main",
    }  # fmt: skip
    if event == "pull_request":
        pr = synth.integer(1, 999)
        head = synth.branch()
        fields.update(event_action="opened", source=f"{html}/pull/{pr}", ref=f"refs/pull/{pr}/head",
                      base_ref="main", head_ref=head, branch="main")  # fmt: skip
    elif event == "tag":
        fields["ref"] = (
            f"refs/tags/v{synth.integer(0, 9)}.{synth.integer(0, 30)}.{synth.integer(0, 99)}"
        )
    elif event == "deployment":
        fields.update(deploy="production", deploy_number=synth.integer(1, 99_999))
    elif event == "comment":
        fields["event_action"] = "created"
    elif event == "schedule":  # cmd/vela-server/schedule.go
        fields.update(deploy="nightly", source=f"{html}/tree/main",
                      message="triggered for nightly schedule with 0 0 * * * entry")  # fmt: skip
    elif event == "delete":  # scm/github/webhook.go: a deleted branch
        fields.update(event_action="branch", message="main branch deleted")
    return fields


def plan_build(
    synth: Synth,
    *,
    org: str,
    repo: str,
    ids: tuple[int, int, int, int],
    now: float,
    speed: float,
    outcome: str,
    given: dict[str, Any],
    approval: bool,
) -> dict[str, Any]:
    """A new build record: its fields, its compiled pipeline and its timeline, fixed at creation.

    ``ids`` is ``(id, repo_id, number, parent)``; ``given`` the body fields the server keeps. The ids of
    the build's steps, services and logs (``sub_ids``) are the caller's to fill in: see :func:`sub_counts`.
    """
    build_id, repo_id, number, parent = ids
    kept = {k: v for k, v in _clean(given).items() if k not in SERVER_FIELDS}
    event = kept.get("event", "push")
    fields = {**FIELDS, **_defaults(synth, org, repo, event), **kept}
    if fields["pipeline_id"] == 0:
        fields["pipeline_id"] = build_id
    fields.update(id=build_id, repo_id=repo_id, number=number, parent=parent, created=int(now),
                  link=f"{UI}/{org}/{repo}/{number}")  # fmt: skip
    timeline = (
        Timeline((("pending approval", now),)) if approval else _plan(synth, now, speed, outcome)
    )
    return {
        "id": build_id,
        "fields": fields,
        "marks": timeline.to_json(),
        "derived": True,
        "outcome": outcome,
        "worker": {
            "host": f"vela-worker-{synth.integer(1, 8)}.company.localhost",
            "runtime": synth.choice(("docker", "docker", "kubernetes")),
            "distribution": "linux",
        },
        "failure_error": "unable to execute step: container exited with an unexpected error",
        "pipeline": pipeline.plan_pipeline(synth),
        "run": None if approval else _run(timeline),
        "gated": approval,
        "stop": None,
        "sub_ids": {"step": 0, "service": 0, "log": 0},
    }


def sub_counts(record: dict[str, Any]) -> dict[str, int]:
    """How many step, service and log ids the build needs (one log per step and per service)."""
    steps, services = len(record["pipeline"]["steps"]), len(record["pipeline"]["services"])
    return {"step": steps, "service": services, "log": steps + services}


def _run(timeline: Timeline) -> list[float]:
    """The window a worker runs the build in: from entering ``running`` to its planned end."""
    started = timeline.entered("running", timeline.end)
    return [timeline.end if started is None else started, timeline.end]


def _plan(synth: Synth, start: float, speed: float, outcome: str) -> Timeline:
    scale = {"pending": synth.uniform(0.5, 1.5), "running": synth.uniform(0.6, 1.6)}
    return LIFECYCLE.plan(start, outcome, speed=speed, skip=("pending approval",), scale=scale)


def status_at(record: dict[str, Any], now: float) -> str:
    """The build's status at ``now``."""
    return Timeline.from_json(record["marks"]).state_at(now)


def render_build(record: dict[str, Any], now: float) -> dict[str, Any]:
    """The ``Build`` object as Vela would send it at ``now``."""
    fields = dict(record["fields"])
    timeline = Timeline.from_json(record["marks"])
    status = timeline.state_at(now)
    fields["status"] = status
    if not record["derived"]:
        return fields
    pending = timeline.entered("pending", now)
    started = timeline.entered("running", now)
    ended = timeline.end if timeline.end <= now and status in (*OUTCOMES, "canceled") else None
    fields["enqueued"] = int(pending) if pending is not None else 0
    fields["started"] = int(started) if started is not None else 0
    fields["finished"] = int(ended) if ended is not None and started is not None else 0
    for name in ("host", "runtime", "distribution"):
        fields[name] = record["worker"][name] if started is not None else ""
    if pending is not None and started is None:
        # Publishing to the queue saves the route as the host until a worker picks the build up.
        fields["host"] = QUEUE_ROUTE
    if not fields["error"] and status == "error":
        fields["error"] = record["failure_error"]
    return fields


def change_times(record: dict[str, Any]) -> tuple[float, ...]:
    """Every time at which :func:`render_build`'s answer changes, sorted: it reads ``now`` only
    against the record's marks, so it is constant in between."""
    return tuple(sorted({float(at) for _, at in record["marks"]}))


def render_created(record: dict[str, Any], now: float) -> dict[str, Any]:
    """The build as create and restart answer it: read back before it is published to the queue, so
    not yet ``enqueued`` and without the queue route as its host."""
    fields = render_build(record, now)
    if record["derived"] and fields["status"] == "pending":
        fields.update(enqueued=0, host="")
    return fields


def freeze(record: dict[str, Any], now: float) -> dict[str, Any]:
    """The record pinned as it stands at ``now``: no more lifecycle, every field stored."""
    fields = render_build(record, now)
    stop = record.get("stop") or ["pinned", now]
    return {
        **record,
        "fields": fields,
        "marks": [[fields["status"], now]],
        "derived": False,
        "stop": stop,
    }


def overwrite(record: dict[str, Any], body: dict[str, Any], now: float) -> dict[str, Any]:
    """The admin update: every field given is stored as given (``id`` only selects the build)."""
    given = {k: v for k, v in _clean(body).items() if k != "id"}
    if any(k in given for k in LIFECYCLE_FIELDS):
        record = freeze(record, now)
    fields = {**record["fields"], **given}
    marks = [[fields["status"], now]] if "status" in given else record["marks"]
    return {**record, "fields": fields, "marks": marks}


def worker_update(record: dict[str, Any], body: dict[str, Any], now: float) -> dict[str, Any]:
    """A worker's update: only progress fields, and only those non-empty or greater than 0."""
    given = {k: v for k, v in _clean(body).items() if k in WORKER_FIELDS and v not in ("", 0, None)}
    given = {k: v for k, v in given.items() if not (isinstance(v, int) and v < 0)}
    return overwrite(record, given, now) if given else record


def cancel(record: dict[str, Any], now: float, full_name: str, user: str) -> dict[str, Any]:
    """Cancel a running, pending or pending approval build; Vela's 400 from any other status."""
    status = status_at(record, now)
    if not LIFECYCLE.allowed("cancel", status):
        number = record["fields"]["number"]
        raise ApiError(400, f"found build {full_name}/{number} but its status was {status}")
    timeline = LIFECYCLE.apply(Timeline.from_json(record["marks"]), "cancel", now)
    fields = {**record["fields"], "error": f"build was canceled by {user}"}
    if not record["derived"] and fields["started"] > 0 and fields["finished"] == 0:
        fields["finished"] = int(now)
    stop = record.get("stop") or ["canceled", now]
    return {**record, "fields": fields, "marks": timeline.to_json(), "stop": stop}


def approve(
    synth: Synth, record: dict[str, Any], now: float, speed: float, full_name: str, user: str
) -> dict[str, Any]:
    """Approve a build pending approval: it is queued now and runs to its planned outcome."""
    status = status_at(record, now)
    number = record["fields"]["number"]
    if not LIFECYCLE.allowed("approve", status):
        raise ApiError(
            400,
            f"unable to approve build {full_name}/{number}: build not in pending approval state",
        )
    if record["fields"]["sender"] == user:
        raise ApiError(
            400,
            f"unable to approve build {full_name}/{number}: approver cannot be the sender of the build",
        )
    kept = [m for m in record["marks"] if m[1] < now]
    rest = _plan(synth, now, speed, record["outcome"])
    fields = {**record["fields"], "approved_at": int(now), "approved_by": user}
    marks = [*kept, *rest.to_json()]
    run = _run(rest)
    return {**record, "fields": fields, "marks": marks, "derived": True, "run": run, "stop": None}


def restart_refusal(record: dict[str, Any], now: float, full_name: str) -> None:
    """Vela refuses to restart a build that is still pending approval."""
    if status_at(record, now) == "pending approval":
        number = record["fields"]["number"]
        raise ApiError(
            400,
            f"unable to restart build {full_name}/{number}: cannot restart a build pending approval",
        )


def restart_fields(record: dict[str, Any], now: float, user: str) -> dict[str, Any]:
    """The body a restart copies from the old build: all but what the server sets, sent by the caller
    (``approved_at`` and ``approved_by`` are carried over, as v0.23's ``RestartBuild`` does)."""
    fields = render_build(record, now)
    copied = {k: v for k, v in fields.items() if k not in SERVER_FIELDS}
    if copied["event"] == "pull_request" and not copied["event_action"]:
        copied["event_action"] = "opened"  # v0.23's restart, for builds of pre-0.14 servers
    return {**copied, "sender": user}


#: A build token lives for the repo's build timeout (default 30 min) plus the buffer (default 5 min).
BUILD_TOKEN_SECONDS = (30 + 5) * 60


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def build_token(record: dict[str, Any], now: float, full_name: str, key: bytes) -> dict[str, str]:
    """The ``library.Token`` Vela mints for a worker about to run a pending build (HS256 JWT).

    The claims are those of v0.23's ``token.Claims`` for ``WorkerBuild``; ``key`` stands in for the
    server's private key. A build that is not pending is Vela's 409.
    """
    status = status_at(record, now)
    if status != "pending":
        raise ApiError(409, "unable to mint build token: build is not in pending state")
    claims = {
        "build_id": record["fields"]["id"], "is_active": False, "is_admin": False,
        "repo": full_name, "token_type": "WorkerBuild", "sub": record["worker"]["host"],
        "exp": int(now) + BUILD_TOKEN_SECONDS, "iat": int(now),
    }  # fmt: skip
    header = _b64url(b'{"alg":"HS256","typ":"JWT"}')
    payload = _b64url(json.dumps(claims, separators=(",", ":")).encode())
    signature = hmac.new(key, f"{header}.{payload}".encode(), hashlib.sha256).digest()
    return {"token": f"{header}.{payload}.{_b64url(signature)}"}


def queue_entry(record: dict[str, Any], now: float, full_name: str) -> dict[str, Any] | None:
    """The admin queue entry of a pending or running build, else None."""
    status = status_at(record, now)
    if status not in ("pending", "running"):
        return None
    fields = record["fields"]
    return {
        "status": status,
        "number": fields["number"],
        "created": fields["created"],
        "full_name": full_name,
    }


def paging_headers(url: str, page: int, per_page: int, total: int) -> dict[str, str]:
    """Vela's ``Link`` and ``X-Total-Count`` headers, sent only when there is more than one page."""
    if total <= per_page:
        return {}
    last = max(1, -(-total // per_page))
    rels = {"first": 1, "prev": page - 1 if page > 1 else 1,
            "next": page + 1 if page < last else page, "last": last}  # fmt: skip
    if page == 1:
        del rels["first"], rels["prev"]
    if page == last:
        del rels["next"], rels["last"]
    links = [f'<{url}?per_page={per_page}&page={n}>; rel="{rel}"' for rel, n in rels.items()]
    return {"X-Total-Count": str(total), "Link": ", ".join(links)}
