"""Cocktail Cloud build runs: a run's state and its step runs laid out as timelines at creation."""

from __future__ import annotations

import functools
import random
from datetime import UTC, datetime
from typing import Any

from buildmock.core import ids
from buildmock.core.errors import ApiError
from buildmock.core.lifecycle import Lifecycle, Timeline
from buildmock.synth.factory import Synth

#: A run: created, then running its steps, then DONE or ERROR. Cancel cuts a RUNNING run to ERROR.
RUN = Lifecycle(
    phases=("CREATED", "RUNNING"),
    outcomes=("DONE", "ERROR"),
    durations={"CREATED": 2.0, "RUNNING": 1.0},
    actions={"cancel": {"RUNNING": "ERROR"}},
)
FINAL = frozenset(RUN.outcomes)

#: ``possibleActions`` as the vendor derives them from ``runState``.
ACTIONS: dict[str, list[str]] = {
    "CREATED": ["VIEW", "BUILD", "REMOVE"],
    "RUNNING": ["VIEW", "LOG", "CANCEL"],
    "DONE": ["VIEW", "BUILD", "LOG", "REMOVE"],
    "ERROR": ["VIEW", "BUILD", "LOG", "REMOVE"],
}

#: ``Prefer: outcome=`` values and the run state each forces.
OUTCOMES = {"DONE": "DONE", "done": "DONE", "success": "DONE",
            "ERROR": "ERROR", "error": "ERROR", "failure": "ERROR"}  # fmt: skip

#: Seconds (at speed 1) each kind of step takes, as a range.
STEP_SECONDS = {"INIT": (1.0, 3.0), "CODE_DOWN": (4.0, 12.0), "USER_TASK": (8.0, 30.0),
                "CREATE_IMAGE": (20.0, 60.0)}  # fmt: skip
#: The INIT step run the server adds to every run that has none (``createInitStepRun``).
INIT_STEP = {"buildStepSeq": 0, "config": {"stepType": "INIT", "stepTitle": "init", "stepOrder": 0}}
#: Seconds a CANCEL run takes to stop the build.
CANCEL_SECONDS = 3.0
#: Runs ``GET /v1/build/run?buildSeq=`` answers at most (the newest); the vendor's server sends them all.
LIST_LIMIT = 100
#: Default and largest ``limitCount`` of ``GET /v1/build/run/latest`` (the server's default is 5).
LATEST_DEFAULT, LATEST_MAX = 5, 1000

_REGISTRY_HOSTS = ("regi.cocktailcloud.io", "harbor.acornsoft.io", "registry.cocktailcloud.io")
_SUFFIXES = ("api", "web", "batch", "gateway", "worker", "gradle", "maven", "node")
_NAMESPACES = ("ws-namespace", "build-ns", "ci-namespace", "devops")


# -- times -------------------------------------------------------------------------------------


@functools.lru_cache(maxsize=4096)  # a list renders the same stored times again and again
def cocktail_time(ts: float) -> str:
    """``yyyy-MM-dd HH:mm:ss`` (UTC), the server's ``created``/``updated`` format."""
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%d %H:%M:%S")


@functools.lru_cache(maxsize=4096)
def iso_time(ts: float) -> str:
    """ISO-8601 with milliseconds and ``+00:00``, as the server sends ``beginTime``/``endTime``."""
    millis = round(ts * 1000)
    moment = datetime.fromtimestamp(millis // 1000, UTC).strftime("%Y-%m-%dT%H:%M:%S")
    return f"{moment}.{millis % 1000:03d}+00:00"


def _ms(ts: float) -> float:
    return round(ts, 3)


def _seconds(begin: float, end: float) -> int:
    return max(0, round(end - begin))


# -- build definitions ---------------------------------------------------------------------------

#: The fields of a build definition a fixture may set.
BUILD_FIELDS = (
    "buildName", "buildDesc", "registryName", "imageName", "accountSeq", "registryProjectId",
    "externalRegistrySeq", "buildServerHost", "autotagUseYn", "autotagPrefix", "autotagSeqType",
)  # fmt: skip


def synth_build(synth: Synth, build_seq: int) -> dict[str, Any]:
    """The build definition ``buildSeq`` implies: the same for the same seed and number."""
    d = synth.derive("build", build_seq)
    name = d.slug(2)
    image = f"{name}-{d.choice(_SUFFIXES)}"
    autotag = d.chance(0.3)
    registry = d.choice(("dev", "ops", "prod", "stage", name.split("-", 1)[0]))
    repository = f"github.com/{d.company_slug()}/{image}.git"
    steps: list[dict[str, Any]] = [
        {"stepType": "CODE_DOWN", "repositoryType": "GIT", "stepTitle": "code repository task",
         "repositoryUrl": repository, "branchName": d.choice(("master", "main", "develop")),
         "codeSaveDir": "repo", "commonType": "COMMON", "protocolType": "https"},
    ]  # fmt: skip
    if d.chance(0.6):
        command = d.choice(("./gradlew build", "mvn -B package", "npm ci && npm run build"))
        steps.append({"stepType": "USER_TASK", "stepTitle": "build task", "workingDir": "repo",
                      "command": command})  # fmt: skip
    steps.append({"stepType": "CREATE_IMAGE", "stepTitle": "create image", "dockerFile": "repo/Dockerfile",
                  "imageName": image, "registryName": registry, "tagName": ""})  # fmt: skip
    day = f"2023{d.integer(1, 12):02d}{d.integer(1, 28):02d}"
    base = d.integer(1, 20_000_000) * 8
    return {
        "buildSeq": build_seq,
        "buildName": name,
        "buildDesc": d.sentence() if d.chance(0.7) else None,
        "registryName": registry,
        "imageName": image,
        "registryHost": d.choice(_REGISTRY_HOSTS),
        "accountSeq": d.integer(1, 20),
        "registryProjectId": d.integer(1, 200),
        "externalRegistrySeq": 0,
        "buildServerHost": f"topic:build-{day}-{d.choice(_NAMESPACES)}-{d.word()}cluster",
        "autotagUseYn": "Y" if autotag else "N",
        "autotagPrefix": d.word() if autotag else None,
        "autotagSeqType": d.choice(("DATETIME", "SEQUENCE")) if autotag else None,
        "steps": [{"buildStepSeq": base + i + 1, "config": cfg} for i, cfg in enumerate(steps)],
    }  # fmt: skip


def declared_build(entry: dict[str, Any], implied: dict[str, Any]) -> dict[str, Any]:
    """A fixture's build definition: the implied one with the fields the fixture sets."""
    build = dict(implied)
    for key in BUILD_FIELDS:
        if key in entry:
            build[key] = entry[key]
    return build


# -- planning ------------------------------------------------------------------------------------


def draw_outcome(synth: Synth) -> str:
    """The end state of a run nobody forced: mostly DONE."""
    return "DONE" if synth.uniform(0, 1) < 0.85 else "ERROR"


def run_tag(build: dict[str, Any], build_no: int, now: float, requested: str | None) -> str:
    """The run's tag: the build's autotag whenever it is on (the request's is ignored, as the server
    does), else the requested one, else ``latest``."""
    if build["autotagUseYn"] != "Y":
        return requested or "latest"
    if build["autotagSeqType"] == "SEQUENCE":
        sequence = f"{build_no:05d}"
    else:  # DATETIME, in the server's region time zone (UTC here)
        sequence = datetime.fromtimestamp(now, UTC).strftime("%Y%m%d-%H%M%S")
    return f"{build['autotagPrefix']}-{sequence}"


@functools.cache
def resource_prefix(seed: int) -> str:
    """The install's resource prefix that starts every ``logId`` (one per seed)."""
    rng = random.Random(f"{seed}:cocktail:resource-prefix")
    return "".join(rng.choice(ids.BASE36) for _ in range(6))


def log_id(prefix: str, build_seq: int, build_run_seq: int, step_run_seq: int, kind: str) -> str:
    """``<resource prefix>-<buildSeq>.<buildRunSeq>.<buildStepRunSeq>-<steptype>`` (``getBuildLogId``)."""
    return f"{prefix}-{build_seq}.{build_run_seq}.{step_run_seq}-{kind.lower()}"


def callback_with_user(url: str | None, user: dict[str, str]) -> str | None:
    """The callback URL as the server stores it: the caller's gateway headers appended as a query.

    As ``addParamToCallbackURL`` does, ``user-workspace`` carries the user id and ``?`` is added even when
    the URL has a query already.
    """
    if url is None:
        return None
    params = []
    if user.get("user-id", "").isdigit() and int(user["user-id"]) > 0:
        params.append(f"user-id={int(user['user-id'])}")
    if user.get("user-role"):
        params.append(f"user-role={user['user-role']}")
    if user.get("user-workspace", "").isdigit() and int(user["user-workspace"]) > 0:
        params.append(f"user-workspace={user.get('user-id', '')}")
    return f"{url}?{'&'.join(params)}"


def plan_run(
    synth: Synth,
    build: dict[str, Any],
    *,
    build_run_seq: int,
    build_no: int,
    step_run_seqs: list[int],
    now: float,
    speed: float,
    outcome: str,
    tag_name: str | None,
    description: str | None,
    callback_url: str | None,
    steps_from: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """A new BUILD run: its timeline, every step's times and log lines, its image; fixed now.

    ``steps_from`` (``buildStepSeq`` and ``config`` of each step) re-runs a history run's steps.
    """
    if outcome not in FINAL:
        raise ValueError(f"unknown outcome {outcome!r}")
    start = _ms(now)
    running_at = _ms(start + synth.uniform(1.0, 3.0) / speed)
    configs = [INIT_STEP, *(steps_from if steps_from is not None else build["steps"])]
    # The INIT step run is inserted after the build's own (on the run's first read), so it has the last number.
    seqs = [step_run_seqs[-1], *step_run_seqs[:-1]]
    victim = synth.integer(1, len(configs) - 1) if outcome == "ERROR" else None
    prefix = resource_prefix(synth.seed)
    steps: list[dict[str, Any]] = []
    at = running_at
    for order, (step, seq) in enumerate(zip(configs, seqs, strict=True)):
        kind = step["config"]["stepType"]
        low, high = STEP_SECONDS.get(kind, (5.0, 20.0))
        seconds = synth.uniform(low, high)
        failed = victim == order
        if failed:
            seconds *= synth.uniform(0.3, 0.9)
        reached = victim is None or order <= victim
        begin, end = (at, _ms(at + seconds / speed)) if reached else (None, None)
        steps.append({
            "buildStepRunSeq": seq, "buildStepSeq": step["buildStepSeq"], "stepType": kind,
            "stepOrder": order, "config": step["config"], "begin": begin, "end": end,
            "final": "ERROR" if failed else "DONE",
            "logId": log_id(prefix, build["buildSeq"], build_run_seq, seq, kind),
            "lines": _log_lines(synth, kind, begin, end, failed) if begin is not None and end is not None else [],
        })  # fmt: skip
        if end is not None:
            at = end
    marks = (("CREATED", start), ("RUNNING", running_at), (outcome, at))
    tag = run_tag(build, build_no, now, tag_name)
    return {
        "kind": "BUILD",
        "buildRunSeq": build_run_seq,
        "buildSeq": build["buildSeq"],
        "buildNo": build_no,
        "runDesc": description,
        "tagName": tag,
        "callbackUrl": callback_url,
        "build": {k: v for k, v in build.items() if k != "steps"},
        "marks": Timeline(marks).to_json(),
        "imageUrl": image_url(build, tag),
        "imageSize": synth.integer(20_000_000, 900_000_000),
        "imageDigest": "sha256:" + synth.hex(64),
        "steps": steps,
        "cancelled": False,
    }


def image_url(build: dict[str, Any], tag: str) -> str:
    """``<registry host>/<registryName>/<imageName>:<tag>``, fixed when the run is created."""
    return f"{build['registryHost']}/{build['registryName']}/{build['imageName']}:{tag}"


def history_steps(run: dict[str, Any]) -> list[dict[str, Any]]:
    """The build's own steps of a run, as a re-run from its history repeats them (INIT is added anew)."""
    return [
        {"buildStepSeq": s["buildStepSeq"], "config": s["config"]}
        for s in run["steps"]
        if s["stepType"] != "INIT"
    ]


def same_image_runs(
    run: dict[str, Any], runs: list[dict[str, Any]], now: float
) -> list[dict[str, Any]]:
    """The runs a delete of ``run`` removes too (``getOtherRemoveRunsFromDB``): the build's other runs
    whose pushed image has the same digest; none while ``run`` has no pushed image."""
    if image_of(run, now)[0] == 0:
        return []
    digest = run["imageDigest"]
    return [
        r
        for r in runs
        if r["buildRunSeq"] != run["buildRunSeq"]
        and r["buildSeq"] == run["buildSeq"]
        and image_of(r, now) == (r["imageSize"], digest)
    ]


def image_of(run: dict[str, Any], now: float) -> tuple[int, str | None]:
    """``(imageSize, imageDigest)`` at ``now``: 0 and null until a BUILD run's image is pushed (DONE)."""
    if run["kind"] == "BUILD" and state_of(run, now) == "DONE":
        return run["imageSize"], run["imageDigest"]
    return 0, None


def plan_cancel(
    run: dict[str, Any],
    *,
    build_run_seq: int,
    step_run_seq: int,
    now: float,
    speed: float,
    callback_url: str | None,
    seed: int,
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Cancel a RUNNING run: ``(the run cut to ERROR now, the new CANCEL run)``; 409 otherwise.

    The CANCEL run has one CANCEL step run (as the server's createBuildRunByBuildCancel adds it) numbered
    ``step_run_seq``, and the INIT step run the server adds on first read, numbered ``step_run_seq + 1``.
    """
    check_cancellable(run, now)
    timeline = Timeline.from_json(run["marks"])
    cut = {**run, "marks": RUN.apply(timeline, "cancel", _ms(now)).to_json(), "cancelled": True}
    start = _ms(now)
    stop = _ms(start + CANCEL_SECONDS / speed)
    marks = (("CREATED", start), ("RUNNING", start), ("DONE", stop))
    prefix = resource_prefix(seed)
    step = {
        "buildStepRunSeq": step_run_seq, "buildStepSeq": None, "stepType": "CANCEL", "stepOrder": 1,
        "config": {"stepType": "CANCEL", "refBuildRunSeq": run["buildRunSeq"]},
        "begin": start, "end": stop, "final": "DONE",
        "logId": log_id(prefix, run["buildSeq"], build_run_seq, step_run_seq, "CANCEL"),
        "lines": [[start, f"Cancelling build run {run['buildRunSeq']}..."], [stop, "Build run cancelled."]],
    }  # fmt: skip
    # The server adds an INIT step run to this run too when it first reads it; nothing ever runs it.
    init = {
        "buildStepRunSeq": step_run_seq + 1, "buildStepSeq": 0, "stepType": "INIT", "stepOrder": 0,
        "config": INIT_STEP["config"], "begin": None, "end": None, "final": "DONE",
        "logId": log_id(prefix, run["buildSeq"], build_run_seq, step_run_seq + 1, "INIT"), "lines": [],
    }  # fmt: skip
    cancel = {
        **{k: run[k] for k in ("buildSeq", "buildNo", "tagName", "build", "imageUrl")},
        "kind": "CANCEL",
        "buildRunSeq": build_run_seq,
        "runDesc": f"Cancel build run {run['buildRunSeq']}",
        "callbackUrl": callback_url,
        "marks": Timeline(marks).to_json(),
        "imageSize": None,
        "imageDigest": None,
        "steps": [init, step],
        "cancelled": False,
        "cancels": run["buildRunSeq"],
    }
    return cut, cancel


def check_cancellable(run: dict[str, Any], now: float) -> None:
    """Only a RUNNING BUILD run can be cancelled; anything else is InvalidState (409)."""
    state = state_of(run, now)
    if run["kind"] != "BUILD" or state != "RUNNING":
        raise invalid_state(run, state)


def invalid_state(run: dict[str, Any], state: str) -> ApiError:
    """Cocktail's InvalidState (CCCM1007000) for a cancel the run's state refuses."""
    return ApiError(
        409,
        f"Build is not running! [buildSeq : {run['buildSeq']}, buildRunSeq : {run['buildRunSeq']}]",
        code="CCCM1007000",
        state=state,
    )


def check_removable(run: dict[str, Any], now: float) -> None:
    """Refuse to delete a RUNNING run (BuildHistoryOfRunningTaskDeleteFail, CCBD1014000)."""
    if state_of(run, now) == "RUNNING":
        raise ApiError(
            409,
            f"The build task is running and cannot be deleted. [buildRunSeq : {run['buildRunSeq']}]",
            code="CCBD1014000",
        )


_LOG_LINES: dict[str, tuple[str, ...]] = {
    "CODE_DOWN": ("Cloning into 'repo'...", "remote: Enumerating objects: {n}, done.",
                  "Receiving objects: 100% ({n}/{n}), done.", "HEAD is now at {sha} {msg}"),
    "USER_TASK": ("$ {cmd}", "> Task :compileJava", "> Task :processResources", "> Task :test",
                  "BUILD SUCCESSFUL in {n}s"),
    "CREATE_IMAGE": ("Step 1/6 : FROM eclipse-temurin:17-jre", "Step 2/6 : WORKDIR /app",
                     "Step 3/6 : COPY build/libs/*.jar app.jar",
                     'Step 6/6 : ENTRYPOINT ["java","-jar","app.jar"]', "Successfully built {short}",
                     "The push refers to repository", "latest: digest: sha256:{sha64} size: {n}"),
}  # fmt: skip


def _log_lines(synth: Synth, kind: str, begin: float, end: float, failed: bool) -> list[list[Any]]:
    """Log lines of one step, each with the time it is written, spread over the step."""
    templates = _LOG_LINES.get(kind, ("Running {kind}...", "{kind} finished"))
    values = {"n": synth.integer(40, 4000), "sha": synth.sha()[:7], "msg": synth.commit_message(),
              "cmd": "./gradlew build", "short": synth.hex(12), "sha64": synth.hex(64), "kind": kind}  # fmt: skip
    count = max(1, round(len(templates) * (synth.uniform(0.3, 0.8) if failed else 1.0)))
    texts = [t.format(**values) for t in templates[:count]]
    if failed:
        texts.append(f"ERROR: {kind.lower()} failed: exit status {synth.choice((1, 2, 125, 137))}")
    span = end - begin
    return [[_ms(begin + span * (i + 1) / (len(texts) + 1)) if i < len(texts) - 1 or not failed else end, text]
            for i, text in enumerate(texts)]  # fmt: skip


# -- rendering -----------------------------------------------------------------------------------


def state_of(run: dict[str, Any], now: float) -> str:
    """The run's ``runState`` at ``now``."""
    return Timeline.from_json(run["marks"]).state_at(now)


def end_of(run: dict[str, Any]) -> float:
    """When the run reaches DONE or ERROR (its callback is due then)."""
    return Timeline.from_json(run["marks"]).end


def _step_times(step: dict[str, Any], run_end: float) -> tuple[float, float, str] | None:
    """``(begin, effective end, final state)`` of a step within a run ending at ``run_end``."""
    begin, end = step["begin"], step["end"]
    if begin is None or end is None or begin >= run_end:
        return None
    if end > run_end:
        return begin, run_end, "ERROR"
    return begin, end, step["final"]


def _step_state(times: tuple[float, float, str] | None, now: float) -> str:
    if times is None or now < times[0]:
        return "WAIT"
    return "RUNNING" if now < times[1] else times[2]


def render_step(
    run: dict[str, Any], step: dict[str, Any], now: float, *, with_log: bool
) -> dict[str, Any]:
    """One ``BuildStepRun`` at ``now`` (``log`` filled only for the log operation)."""
    created = Timeline.from_json(run["marks"]).start
    times = _step_times(step, end_of(run))
    state = _step_state(times, now)
    begin = times[0] if times is not None and state != "WAIT" else None
    end = times[1] if times is not None and state in FINAL else None
    log = None
    if with_log:
        log = _step_log(step, times, now) if times is not None and state != "WAIT" else ""
    return {
        "useYn": "Y",
        "created": cocktail_time(created),
        "updated": cocktail_time(
            end if end is not None else begin if begin is not None else created
        ),
        "buildStepRunSeq": step["buildStepRunSeq"],
        "buildStepSeq": step["buildStepSeq"],
        "buildRunSeq": run["buildRunSeq"],
        "stepType": step["stepType"],
        "stepConfig": None,
        "stepState": state,
        "stepOrder": step["stepOrder"],
        "logId": step["logId"],
        "log": log,
        "beginTime": iso_time(begin) if begin is not None else None,
        "endTime": iso_time(end) if end is not None else None,
        "runTimeBySec": _seconds(begin, end) if begin is not None and end is not None else None,
        "useFlag": True,
        "buildStepConfig": step["config"],
    }


def _step_log(step: dict[str, Any], times: tuple[float, float, str], now: float) -> str:
    limit = min(now, times[1])
    lines = [text for at, text in step["lines"] if at <= limit]
    if now >= times[1] and times[1] < step["end"]:
        lines.append("Build run was cancelled.")
    return "\n".join(lines)


def _updated(run: dict[str, Any], now: float) -> float:
    timeline = Timeline.from_json(run["marks"])
    latest = max(at for _, at in timeline.reached(now)) if timeline.reached(now) else timeline.start
    run_end = timeline.end
    for step in run["steps"]:
        times = _step_times(step, run_end)
        if times is not None:
            latest = max([latest, *(t for t in times[:2] if t <= now)])
    return latest


def render_run(run: dict[str, Any], now: float) -> dict[str, Any]:
    """The build execution model as Cocktail sends it at ``now``."""
    timeline = Timeline.from_json(run["marks"])
    state = timeline.state_at(now)
    build = run["build"]
    begin = timeline.entered("RUNNING", now)
    end = timeline.end if state in FINAL else None
    image = image_of(run, now)
    steps = [render_step(run, s, now, with_log=False) for s in run["steps"]]
    actions = list(ACTIONS[state])
    if state == "RUNNING" and run["kind"] == "BUILD" and not _init_done(steps):
        actions.remove("CANCEL")  # the server's checkBuildCancelState
    return {
        "useYn": "Y",
        "created": cocktail_time(timeline.start),
        "updated": cocktail_time(_updated(run, now)),
        "buildName": build["buildName"],
        "buildDesc": build["buildDesc"],
        "registryName": build["registryName"],
        "imageName": build["imageName"],
        "accountSeq": build["accountSeq"],
        "registryProjectId": build["registryProjectId"],
        "externalRegistrySeq": build["externalRegistrySeq"],
        "buildServerHost": build["buildServerHost"],
        "buildServerTlsVerify": "N",
        "buildServerCacrt": None,
        "buildServerClientCert": None,
        "buildServerClientKey": None,
        "buildRunSeq": run["buildRunSeq"],
        "buildSeq": run["buildSeq"],
        "buildNo": run["buildNo"],
        "runType": run["kind"],
        "runDesc": run["runDesc"],
        "runState": state,
        "autotagUseYn": build["autotagUseYn"],
        "autotagPrefix": build["autotagPrefix"],
        "autotagSeqType": build["autotagSeqType"],
        "tagName": run["tagName"],
        "callbackUrl": run["callbackUrl"],
        "imageUrl": run["imageUrl"],
        "imageSize": image[0],
        "imageDigest": image[1],
        "pipelineSeq": run.get("pipelineSeq", 0),
        "relatedPipelineInfo": run.get("relatedPipelineInfo"),
        "beginTime": iso_time(begin) if begin is not None else None,
        "endTime": iso_time(end) if end is not None else None,
        "runTimeBySec": _seconds(begin, end) if begin is not None and end is not None else None,
        "possibleActions": actions,
        "buildStepRuns": steps,
    }


def change_times(run: dict[str, Any]) -> tuple[float, ...]:
    """Every time at which :func:`render_run`'s answer changes, sorted: it is constant in
    between (it reads ``now`` only against the run's marks and its steps' begin and end)."""
    times = {float(at) for _, at in run["marks"]}
    for step in run["steps"]:
        times.update(float(t) for t in (step["begin"], step["end"]) if t is not None)
    return tuple(sorted(times))


def _init_done(steps: list[dict[str, Any]]) -> bool:
    return all(s["stepState"] == "DONE" for s in steps if s["stepType"] == "INIT")


def render_log(run: dict[str, Any], now: float, step_run_seq: int | None = None) -> dict[str, Any]:
    """The run with each step's log so far (``BuildRunLogVO``), or only step run ``step_run_seq``'s."""
    timeline = Timeline.from_json(run["marks"])
    steps = [s for s in run["steps"] if step_run_seq in (None, s["buildStepRunSeq"])]
    state = timeline.state_at(now)
    build = run["build"]
    return {
        "useYn": "Y",
        "created": cocktail_time(timeline.start),
        "updated": cocktail_time(_updated(run, now)),
        "buildRunSeq": run["buildRunSeq"],
        "buildSeq": run["buildSeq"],
        "runState": state,
        "registryProjectId": build["registryProjectId"],
        "externalRegistrySeq": build["externalRegistrySeq"],
        "buildServerHost": build["buildServerHost"],
        "dbLog": state in FINAL,
        "buildRunLogs": [render_step(run, s, now, with_log=True) for s in steps],
    }
