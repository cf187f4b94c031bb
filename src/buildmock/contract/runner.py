"""``buildmock contract`` as a library call: options in, a redacted report and an exit code out."""

from __future__ import annotations

import contextlib
import copy
import io
import os
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

import schemathesis
import yaml
from schemathesis.config import SchemathesisConfig
from schemathesis.engine import events

from buildmock.contract.auth import MOCK_TOKEN, headers_from_spec, mock_headers
from buildmock.contract.engine import (
    ALL_PHASES,
    Finding,
    RunResult,
    error_modes,
    execute,
    make_config,
    spec_profile,
)
from buildmock.contract.redact import Redactor
from buildmock.contract.safety import (
    SAFE_METHODS,
    HostClassifier,
    RequestGuard,
    RequestRefused,
    allowed_methods,
    check_reachable,
    guarded,
    url_host,
)
from buildmock.contract.strict import close_responses
from buildmock.contract.target import Buildmock, accepts_any_credential, find_buildmock
from buildmock.contract.verdict import (
    EXIT_ERROR,
    EXIT_FINDINGS,
    EXIT_INCONCLUSIVE,
    EXIT_OK,
    Verdict,
    iter_parameters,
    judge,
    operations,
)
from buildmock.core import openapi
from buildmock.core.net import is_loopback_host
from buildmock.settings import SPECS_DIR

#: Schemathesis parameter locations ``--set-path`` / ``--set-query`` / ``--set-header`` override.
PARAMETER_LOCATIONS = ("path", "query", "header")

#: The check a default ``buildmock serve`` (any credential accepted) fails by design.
AUTH_CHECK = "ignored_auth"


#: libyaml's safe loader when PyYAML has it: the same documents, about 6x faster than the pure-Python one
#: (a run parses every tested spec before the first request).
_YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class ContractError(ValueError):
    """A run that cannot start or cannot be trusted: exit code 2 with a one-line reason."""


@dataclass(frozen=True)
class ContractOptions:
    """Everything ``buildmock contract`` takes; ``headers`` are ``(name, value)`` pairs."""

    mock: bool = False
    base_url: str | None = None
    apis: tuple[str, ...] = ()
    checks: tuple[str, ...] | None = None
    phases: tuple[str, ...] = ALL_PHASES
    max_examples: int | None = None
    seed: int | None = None
    workers: int = 1
    max_time: float | None = None
    headers: tuple[tuple[str, str], ...] = ()
    include_operations: tuple[str, ...] = ()
    strict: bool = False
    allow_writes: bool = False
    max_requests: int | None = None
    rate_limit: str | None = None
    report_dir: Path | None = None
    specs: Path = SPECS_DIR
    #: APIs tested at once in worker processes with ``mock`` (None: one per CPU core; 1: one after another).
    jobs: int | None = None
    #: ``(location, name, value)``: Schemathesis parameter overrides (``--set-path`` and friends).
    parameters: tuple[tuple[str, str, str], ...] = ()
    #: ``--error-status N``: the target answers every failure with HTTP N (None: with a 4xx/5xx).
    error_status: int | None = None


@dataclass
class ApiRun:
    """One API's part of a run."""

    api: str
    target: str
    result: RunResult
    requests: int = 0
    read_only: bool = False
    seconds: float = 0.0
    verdict: Verdict = field(default_factory=lambda: Verdict((), ()))
    #: Things the reader should know that are neither drift nor errors (one line each).
    notes: list[str] = field(default_factory=list)


@dataclass
class ContractReport:
    """A finished run: per-API results (already redacted), the exit code and its reason."""

    runs: list[ApiRun] = field(default_factory=list)
    exit_code: int = EXIT_OK
    reason: str = ""
    strict: bool = False
    stopped_by_budget: bool = False
    #: The budget that stopped the run early (``--max-requests 300``), if one did.
    budget: str = ""

    @property
    def findings(self) -> list[Finding]:
        """Every finding of every API."""
        return [f for run in self.runs for f in run.result.findings]

    @property
    def notes(self) -> list[str]:
        """Every note of every API, prefixed with the API's name."""
        return [f"{run.api}: {n}" for run in self.runs for n in run.notes]

    @property
    def errors(self) -> list[str]:
        """Every error of every API, prefixed with the API's name."""
        return [f"{run.api}: {e}" for run in self.runs for e in run.result.errors]


def load_spec(specs: Path, api: str) -> dict[str, Any]:
    """The parsed ``specs/<api>.yaml``; ContractError if it is missing or not an OpenAPI document."""
    path = specs / f"{api}.yaml"
    try:
        spec = yaml.load(path.read_text(), Loader=_YAML_LOADER)
    except OSError as exc:
        raise ContractError(f"spec for {api!r} unusable: {exc.strerror or exc} ({path})") from None
    except yaml.YAMLError as exc:
        raise ContractError(
            f"spec for {api!r} unusable: not YAML ({str(exc).splitlines()[0]})"
        ) from None
    if (
        not isinstance(spec, dict)
        or "openapi" not in spec
        or not isinstance(spec.get("paths"), dict)
    ):
        raise ContractError(f"spec for {api!r} unusable: not an OpenAPI document ({path})")
    return spec


def target_url(base_url: str, api: str, many: bool) -> str:
    """Where ``api`` lives: ``{api}`` in the URL is replaced; with several APIs ``/<api>`` is appended."""
    if "{api}" in base_url:
        return base_url.replace("{api}", api)
    return f"{base_url.rstrip('/')}/{api}" if many else base_url


def _config(options: ContractOptions, headers: Mapping[str, str], base_url: str | None, read_only: bool,
            spec: Mapping[str, Any], any_credential: bool = False,
            error_status: int | None = None) -> SchemathesisConfig:  # fmt: skip
    extra: dict[str, Any] = spec_profile(spec, error_status)
    if (
        any_credential
    ):  # a default ``buildmock serve``: accepting any credential is its documented behaviour
        extra.setdefault("checks", {})[AUTH_CHECK] = {"enabled": False}
    if options.rate_limit:
        extra["rate-limit"] = options.rate_limit
    if options.parameters:
        extra["parameters"] = {f"{loc}.{name}": value for loc, name, value in options.parameters}
    if read_only:
        # The coverage phase also tries undocumented methods on each path; only safe ones here.
        phases = extra.setdefault("phases", {})
        phases["coverage"] = {
            "unexpected-methods": sorted(m.lower() for m in SAFE_METHODS - {"HEAD"})
        }
    return make_config(
        phases=options.phases, checks=options.checks, max_examples=options.max_examples, seed=options.seed,
        headers=headers, workers=options.workers, max_time=options.max_time, base_url=base_url, extra=extra,
    )  # fmt: skip


def operation_labels(spec: Mapping[str, Any], wanted: Sequence[str]) -> list[str]:
    """Labels (``GET /path``) of the operations named in ``wanted`` by operationId or by label."""
    labels = []
    matched: set[str] = set()
    for path, method, operation in openapi.operations(spec):
        label = f"{method.upper()} {path}"
        for want in wanted:
            if want == operation.get("operationId") or want.upper() == label.upper():
                labels.append(label)
                matched.add(want)
    missing = [w for w in wanted if w not in matched]
    if missing:
        raise ContractError(f"--include-operation {missing[0]!r} matches no operation")
    return labels


def selected_operations(
    spec: Mapping[str, Any], options: ContractOptions, read_only: bool
) -> dict[str, set[str]]:
    """The operations a run tests (label -> path parameter names), after --include-operation and read-only."""
    found = operations(spec)
    if options.include_operations:
        wanted = set(operation_labels(spec, options.include_operations))
        found = {label: params for label, params in found.items() if label in wanted}
    if read_only:
        found = {label: p for label, p in found.items() if label.split(" ", 1)[0] in SAFE_METHODS}
    return found


def check_checks(checks: Sequence[str] | None) -> None:
    """ContractError unless every name in ``checks`` is a Schemathesis check (or ``all``)."""
    import schemathesis.specs.openapi.checks  # noqa: F401  (registers the OpenAPI checks)
    from schemathesis.checks import CHECKS

    known = sorted(CHECKS.get_all_names())
    unknown = [name for name in checks or () if name != "all" and name not in known]
    if unknown:
        raise ContractError(
            f"--checks: unknown check {unknown[0]!r} (known: all, {', '.join(known)})"
        )


def check_parameters(
    spec: Mapping[str, Any], api: str, parameters: Sequence[tuple[str, str, str]]
) -> None:
    """ContractError unless each ``--set-<location> NAME`` names a parameter some operation of ``spec`` has."""
    known: dict[str, set[str]] = {loc: set() for loc in PARAMETER_LOCATIONS}
    for _, param in iter_parameters(spec):
        if param.get("in") in known:
            known[param["in"]].add(str(param.get("name")))
    for loc, name, _ in parameters:
        names = {n.lower() for n in known[loc]} if loc == "header" else known[loc]
        if (name.lower() if loc == "header" else name) not in names:
            listed = ", ".join(sorted(known[loc])) or "none"
            raise ContractError(
                f"--set-{loc} {name}: {api} has no {loc} parameter of that name ({listed})"
            )


def check_report_dir(directory: Path) -> None:
    """ContractError unless ``directory`` is (or can be made) a writable directory; checked before a run."""
    if directory.exists() and not directory.is_dir():
        raise ContractError(f"--report {directory}: exists and is not a directory")
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ContractError(f"--report {directory}: {exc.strerror or exc}") from None
    probe = directory / ".buildmock-write-probe"
    try:
        probe.write_text("")
        probe.unlink()
    except OSError as exc:
        raise ContractError(f"--report {directory}: not writable ({exc.strerror or exc})") from None


def _load(
    options: ContractOptions, api: str, spec: dict[str, Any], config: SchemathesisConfig
) -> Any:
    if options.mock:
        from buildmock.server import create_app
        from buildmock.settings import Settings

        app = create_app(Settings(apis=(api,), token=MOCK_TOKEN, clock="real", speed=60.0, fixtures=None,
                                  specs=options.specs))  # fmt: skip
        spec = {**spec, "servers": [{"url": f"/{api}"}]}
        schema = schemathesis.openapi.from_dict(spec, config=config)
        schema.app = app
        return schema
    return schemathesis.openapi.from_dict(spec, config=config)


def _filter(schema: Any, spec: Mapping[str, Any], options: ContractOptions, read_only: bool) -> Any:
    if options.include_operations:
        schema = schema.include(name=operation_labels(spec, options.include_operations))
    if read_only:
        schema = schema.include(method=sorted(m.lower() for m in SAFE_METHODS))
    return schema


class Progress:
    """Prints what the engine is doing, one line per scenario, to a stream (stderr by default)."""

    def __init__(self, api: str, redactor: Redactor, stream: TextIO | None) -> None:
        self.api, self.redactor, self.stream = api, redactor, stream
        self.scenarios = self.failed = 0

    def __call__(self, event: Any) -> None:
        if self.stream is None:
            return
        if isinstance(event, events.PhaseStarted):
            self._print(f"[{self.api}] phase {event.phase.name.value}")
        elif isinstance(event, events.ScenarioFinished) and event.recorder.label:
            self.scenarios += 1
            bad = any(
                n.failure_info is not None
                for nodes in event.recorder.checks.values()
                for n in nodes
            )
            self.failed += bad
            mark = "FAIL" if bad else "ok  "
            self._print(
                f"  {mark} {event.recorder.label} ({event.phase.value}, {len(event.recorder.cases)} cases)"
            )

    def _print(self, line: str) -> None:
        assert self.stream is not None
        try:
            print(self.redactor.text(line), file=self.stream, flush=True)
        except (BrokenPipeError, ValueError):  # the reader went away (``| head``): stop printing
            self.stream = None


def _redact_result(result: RunResult, redactor: Redactor, api: str) -> RunResult:
    findings = []
    for f in result.findings:
        findings.append(Finding(
            f.operation, f.check, f.code, redactor.text(f.title), redactor.text(f.message),
            redactor.text(f.reproduce), f.status, redactor.text(f.response), f.kind, redactor.text(f.path),
            redactor.text(f.expected), redactor.text(f.actual), api, f.phase,
        ))  # fmt: skip
    return RunResult(findings, [redactor.text(e) for e in result.errors], result.scenarios, result.stop_reason,
                     result.unreachable, result.evidence)  # fmt: skip


def any_credential_note(url: str, spec: Mapping[str, Any]) -> str:
    """What a run says when it leaves ``ignored_auth`` out for a buildmock server accepting any credential."""
    hint = (
        " ".join(f"-H '{k}: {v}'" for k, v in headers_from_spec(spec, "T").items())
        or "-H with that token"
    )
    return (
        f"{url} is a buildmock server accepting any credential (started without --token), so {AUTH_CHECK} "
        f"was not run; to check auth start it with `buildmock serve --token T` and pass {hint} "
        "(or run `buildmock contract --mock`)"
    )


def check_error_status(options: ContractOptions, specs: Mapping[str, Mapping[str, Any]]) -> None:
    """ContractError unless ``--error-status`` targets a server and some tested spec has a mode for it."""
    wanted = options.error_status
    if wanted is None:
        return
    if options.mock:
        raise ContractError(
            "--error-status is for a server (--base-url): the bundled mock answers failures with a 4xx"
        )
    if not any(wanted in error_modes(spec) for spec in specs.values()):
        modes = [
            f"{api} ({', '.join(map(str, m))})"
            for api, spec in specs.items()
            if (m := error_modes(spec))
        ]
        raise ContractError(
            f"--error-status {wanted}: no tested spec has a profile for it (profiles: {', '.join(modes) or 'none'})"
        )


def judged_error_status(
    api: str, spec: Mapping[str, Any], wanted: int | None, server: Buildmock | None
) -> tuple[int | None, str]:
    """The status ``api``'s target answers failures with (None: a 4xx/5xx each), and a note on the choice.

    A buildmock server says how it answers (``GET /__buildmock/health``), and its word beats
    ``--error-status``; any other target is judged as ``--error-status`` says.
    """
    status, notes = wanted, []
    if server is not None:
        status = server.error_status.get(api)
        if wanted is not None and status != wanted:
            answers = f"with HTTP {status}" if status is not None else "with a 4xx"
            notes.append(
                f"--error-status {wanted} not used: the buildmock server answers {api}'s failures {answers}"
            )
    if status is not None:
        if status in error_modes(spec):
            notes.append(f"judged as a target answering failures with HTTP {status} "
                         f"(the spec's x-buildmock-contract mode for it)")  # fmt: skip
        else:
            notes.append(f"answers failures with HTTP {status}, and the spec has no profile for it: "
                         "judged with its default profile")  # fmt: skip
    return status, "; ".join(notes)


def run_contract(
    options: ContractOptions,
    *,
    progress: TextIO | None = sys.stderr,
    classify: HostClassifier = is_loopback_host,
    available: Callable[[Path], Sequence[str]] | None = None,
) -> ContractReport:
    """Run Schemathesis per API against the mock or ``base_url``; ContractError for exit-2 conditions."""
    if options.mock == (options.base_url is not None):
        raise ContractError("give exactly one target: --mock or --base-url URL")
    check_checks(options.checks)
    if available is None:
        from buildmock.vendors import available as available_vendors

        available = available_vendors
    known = list(available(options.specs)) if options.mock else []
    apis = list(options.apis) or (known if options.mock else
                                  sorted(p.stem for p in options.specs.glob("*.yaml")))  # fmt: skip
    if not apis:
        raise ContractError(f"no API specs found in {options.specs}")
    for api in apis:
        if options.mock and api not in known:
            raise ContractError(
                f"--api {api}: no bundled mock (available: {', '.join(known) or 'none'})"
            )
    specs = {api: load_spec(options.specs, api) for api in apis}
    for api in apis:
        check_parameters(specs[api], api, options.parameters)
    check_error_status(options, specs)
    shown: list[tuple[str, str]] = list(options.headers)
    if options.mock:
        shown += [pair for api in apis for pair in mock_headers(api, specs[api]).items()]
    redactor = Redactor(shown)
    if options.base_url is not None:
        url_host(options.base_url)  # a usage error if it is not an http(s) URL
    if options.report_dir is not None:
        check_report_dir(options.report_dir)
    if parallel_jobs(options, apis) > 1:
        report = _run_parallel(options, apis, specs, redactor, progress, classify)
    else:
        report = _run_serial(options, apis, specs, redactor, progress, classify)
    _decide(report)
    if options.report_dir is not None:
        from buildmock.contract.report import write_reports

        try:
            write_reports(report, options.report_dir)
        except OSError as exc:
            raise ContractError(f"--report {options.report_dir}: {exc.strerror or exc}") from None
    return report


def parallel_jobs(options: ContractOptions, apis: Sequence[str]) -> int:
    """How many APIs a run tests at once, each in its own process (1: one after another, in this one).

    Only the in-process mock runs APIs side by side: each gets its own mock and Schemathesis engine, so
    the results are those of a serial run. A server target, ``--max-requests`` and ``--max-time`` (budgets
    shared by the whole run) keep the serial order.
    """
    if not options.mock or options.max_requests is not None or options.max_time is not None:
        return 1
    return max(1, min(len(apis), options.jobs or available_cpus()))


def available_cpus() -> int:
    """The CPU cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def _run_parallel(
    options: ContractOptions,
    apis: Sequence[str],
    specs: Mapping[str, dict[str, Any]],
    redactor: Redactor,
    progress: TextIO | None,
    classify: HostClassifier,
) -> ContractReport:
    """Each API in a worker process; progress and results reported in ``apis`` order, as a serial run would."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor
    from concurrent.futures.process import BrokenProcessPool

    # Not a plain fork: this process may have threads (an earlier run's, a test runner's) holding locks a
    # forked child would inherit held. A fork server starts clean, imports the heavy modules once, and
    # forks each worker from there.
    forkserver = "forkserver" in multiprocessing.get_all_start_methods()
    context = multiprocessing.get_context("forkserver" if forkserver else "spawn")
    if forkserver:
        multiprocessing.set_forkserver_preload(["buildmock.contract.runner", "buildmock.server"])
    # Longest first (by operation count), so the pool does not end on one big API alone.
    order = sorted(apis, key=lambda api: -len(operations(specs[api])))
    report = ContractReport(strict=options.strict)
    pool = ProcessPoolExecutor(parallel_jobs(options, apis), context)
    try:
        futures = {
            api: pool.submit(
                _run_one, options, api, specs[api], redactor, progress is not None, classify
            )
            for api in order
        }
        for api in apis:
            run, lines = futures[api].result()
            if progress is not None and lines:
                _say(progress, lines.rstrip("\n"))
            report.runs.append(run)
    except BrokenProcessPool:
        raise ContractError(
            "a worker process of the run died (out of memory?); --jobs 1 runs in one"
        ) from None
    finally:  # on an error, APIs not started yet are not started
        pool.shutdown(cancel_futures=True)
    return report


def _run_one(
    options: ContractOptions,
    api: str,
    spec: dict[str, Any],
    redactor: Redactor,
    show: bool,
    classify: HostClassifier,
) -> tuple[ApiRun, str]:
    """A worker process's job: one API's run and the progress lines it printed."""
    buffer = io.StringIO()
    report = _run_serial(options, [api], {api: spec}, redactor, buffer if show else None, classify)
    return report.runs[0], buffer.getvalue()


def _run_serial(
    options: ContractOptions,
    apis: Sequence[str],
    specs: Mapping[str, dict[str, Any]],
    redactor: Redactor,
    progress: TextIO | None,
    classify: HostClassifier,
) -> ContractReport:
    """Each API in turn, in this process; stops at an exhausted ``--max-requests``."""
    user_headers = dict(options.headers)
    report = ContractReport(strict=options.strict)
    stream_box: list[Any] = []

    def stop_all() -> None:
        for stream in stream_box:
            stream.stop()

    guard = RequestGuard(max_requests=options.max_requests, on_exhausted=stop_all)

    def probe() -> None:
        guard.admit("GET")  # the target probes count against --max-requests too

    for api in apis:
        spec = close_responses(specs[api]) if options.strict else copy.deepcopy(specs[api])
        url = target_url(options.base_url, api, len(apis) > 1) if options.base_url else None
        methods = allowed_methods(url, options.allow_writes, classify)
        read_only = methods is not None
        any_credential = False
        found = None
        if url is not None:
            reason = check_reachable(url)
            if reason is not None:
                raise ContractError(f"{redactor.text(url)}: {reason}")
            try:
                found = find_buildmock(url, api, admit=probe)
            except RequestRefused:
                found = None
            if found is not None and found[1]:
                raise ContractError(
                    f"{url} is a buildmock server's root, not an API: use --base-url {found[0].root}/{api}"
                )
            if found is not None and (options.checks is None or "all" in options.checks):
                with contextlib.suppress(RequestRefused):
                    any_credential = accepts_any_credential(url, specs[api], admit=probe)
        error_status, error_note = judged_error_status(
            api, specs[api], options.error_status, found[0] if found is not None else None
        )
        headers = {**(mock_headers(api, spec) if options.mock else {}), **user_headers}
        try:
            config = _config(
                options, headers, url, read_only, specs[api], any_credential, error_status
            )
            schema = _filter(_load(options, api, spec, config), spec, options, read_only)
        except ContractError:
            raise
        except Exception as exc:  # Schemathesis refuses the spec or the configuration
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise ContractError(f"spec for {api!r} unusable: {redactor.text(first)}") from None
        guard.methods = methods
        before = guard.sent
        started = time.perf_counter()
        stream_box.clear()
        if progress is not None:
            mode = (
                " (read-only: GET/HEAD/OPTIONS; --allow-writes to send writes)" if read_only else ""
            )
            _say(
                progress,
                redactor.text(f"[{api}] contract run against {url or 'the bundled mock'}{mode}"),
            )
        with guarded(guard):
            result = execute(schema, Progress(api, redactor, progress), on_stream=stream_box.append)
        run = ApiRun(api, url or f"mock:{api}", _redact_result(result, redactor, api),
                     guard.sent - before, read_only, time.perf_counter() - started)  # fmt: skip
        if any_credential and url is not None:
            run.notes.append(any_credential_note(url, specs[api]))
        if error_note:
            run.notes.append(error_note)
        if guard.exhausted:
            report.stopped_by_budget = True
            report.budget = f"--max-requests {options.max_requests}"
        elif result.stop_reason == "max_time":
            report.stopped_by_budget = True
            report.budget = f"--max-time {options.max_time:g}"
        run.verdict = judge(selected_operations(specs[api], options, read_only), run.result.operation_evidence(),
                            budget=report.budget, cut_short=guard.exhausted)  # fmt: skip
        report.runs.append(run)
        if guard.exhausted:
            break
    return report


def _say(stream: TextIO, line: str) -> None:
    """Print a progress line; a reader that went away (``| head``) is not an error."""
    with contextlib.suppress(BrokenPipeError, ValueError):
        print(line, file=stream, flush=True)


def _decide(report: ContractReport) -> None:
    """Exit code and one-line reason: 2 broke, 3 auth/URL refused everything, 1 drift, 3 too little verified, 0."""
    inconclusive = [run for run in report.runs if run.verdict.inconclusive]
    refused = [
        r
        for r in inconclusive
        if r.verdict.cause.startswith(("credentials refused", "wrong base URL"))
    ]
    first = (refused or inconclusive)[:1]
    why = f"{first[0].api}: {first[0].verdict.cause}" if first else ""
    if any(run.result.unreachable for run in report.runs):
        report.exit_code, report.reason = EXIT_ERROR, "the server stopped responding"
    elif refused:  # findings on 401s or 404s only are artefacts of the refusal, not drift
        report.exit_code, report.reason = EXIT_INCONCLUSIVE, why
    elif report.findings:
        n = len(report.findings)
        report.exit_code, report.reason = EXIT_FINDINGS, f"{n} finding{'s' * (n != 1)}"
    elif report.errors:
        report.exit_code, report.reason = EXIT_ERROR, report.errors[0].splitlines()[0]
    elif not any(run.result.scenarios for run in report.runs):
        report.exit_code, report.reason = EXIT_ERROR, "nothing was tested (no operation selected?)"
    elif inconclusive:
        report.exit_code, report.reason = EXIT_INCONCLUSIVE, why
    else:
        early = f" (stopped early by {report.budget})" if report.stopped_by_budget else ""
        report.exit_code, report.reason = EXIT_OK, f"the API conforms{early}"


# Public names for the pytest plugin's contract tests (``buildmock.testing.contract``), so one
# operation test is configured and filtered exactly as a ``buildmock contract`` run is.
run_config = _config
select_operations = _filter
