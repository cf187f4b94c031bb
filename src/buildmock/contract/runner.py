"""``buildmock contract`` as a library call: options in, a redacted report and an exit code out."""

from __future__ import annotations

import copy
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

from buildmock.contract.auth import MOCK_TOKEN, mock_headers
from buildmock.contract.engine import (
    ALL_PHASES,
    Finding,
    RunResult,
    execute,
    make_config,
    spec_profile,
)
from buildmock.contract.redact import Redactor
from buildmock.contract.safety import (
    SAFE_METHODS,
    HostClassifier,
    RequestGuard,
    allowed_methods,
    check_reachable,
    guarded,
    url_host,
)
from buildmock.contract.strict import close_responses
from buildmock.core.net import is_loopback_host
from buildmock.settings import SPECS_DIR

#: Exit codes: the API conforms / drift or failures found / usage error, unreachable server, unusable spec.
EXIT_OK, EXIT_FINDINGS, EXIT_ERROR = 0, 1, 2


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


@dataclass
class ApiRun:
    """One API's part of a run."""

    api: str
    target: str
    result: RunResult
    requests: int = 0
    read_only: bool = False
    seconds: float = 0.0


@dataclass
class ContractReport:
    """A finished run: per-API results (already redacted), the exit code and its reason."""

    runs: list[ApiRun] = field(default_factory=list)
    exit_code: int = EXIT_OK
    reason: str = ""
    strict: bool = False
    stopped_by_budget: bool = False

    @property
    def findings(self) -> list[Finding]:
        """Every finding of every API."""
        return [f for run in self.runs for f in run.result.findings]

    @property
    def errors(self) -> list[str]:
        """Every error of every API, prefixed with the API's name."""
        return [f"{run.api}: {e}" for run in self.runs for e in run.result.errors]


def load_spec(specs: Path, api: str) -> dict[str, Any]:
    """The parsed ``specs/<api>.yaml``; ContractError if it is missing or not an OpenAPI document."""
    path = specs / f"{api}.yaml"
    try:
        spec = yaml.safe_load(path.read_text())
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


def _config(options: ContractOptions, headers: Mapping[str, str], base_url: str | None,
            read_only: bool, spec: Mapping[str, Any]) -> SchemathesisConfig:  # fmt: skip
    extra: dict[str, Any] = spec_profile(spec)
    if options.rate_limit:
        extra["rate-limit"] = options.rate_limit
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


_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")


def operation_labels(spec: Mapping[str, Any], wanted: Sequence[str]) -> list[str]:
    """Labels (``GET /path``) of the operations named in ``wanted`` by operationId or by label."""
    labels = []
    matched: set[str] = set()
    for path, item in (spec.get("paths") or {}).items():
        for method, operation in (item or {}).items():
            if method not in _METHODS or not isinstance(operation, dict):
                continue
            label = f"{method.upper()} {path}"
            for want in wanted:
                if want == operation.get("operationId") or want.upper() == label.upper():
                    labels.append(label)
                    matched.add(want)
    missing = [w for w in wanted if w not in matched]
    if missing:
        raise ContractError(f"--include-operation {missing[0]!r} matches no operation")
    return labels


def _filter(schema: Any, spec: Mapping[str, Any], options: ContractOptions, read_only: bool) -> Any:
    if options.include_operations:
        schema = schema.include(name=operation_labels(spec, options.include_operations))
    if read_only:
        schema = schema.include(method=sorted(m.lower() for m in SAFE_METHODS))
    return schema


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
        print(self.redactor.text(line), file=self.stream, flush=True)


def _redact_result(result: RunResult, redactor: Redactor, api: str) -> RunResult:
    findings = []
    for f in result.findings:
        findings.append(Finding(
            f.operation, f.check, f.code, redactor.text(f.title), redactor.text(f.message),
            redactor.text(f.reproduce), f.status, redactor.text(f.response), f.kind, redactor.text(f.path),
            redactor.text(f.expected), redactor.text(f.actual), api,
        ))  # fmt: skip
    return RunResult(findings, [redactor.text(e) for e in result.errors], result.scenarios, result.stop_reason,
                     result.unreachable)  # fmt: skip


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
    user_headers = dict(options.headers)
    secrets = list(user_headers.values())
    if options.mock:
        secrets += [v for api in apis for v in mock_headers(api, specs[api]).values()]
    redactor = Redactor(secrets)
    if options.base_url is not None:
        url_host(options.base_url)  # a usage error if it is not an http(s) URL
    report = ContractReport(strict=options.strict)
    stream_box: list[Any] = []

    def stop_all() -> None:
        for stream in stream_box:
            stream.stop()

    guard = RequestGuard(max_requests=options.max_requests, on_exhausted=stop_all)
    for api in apis:
        spec = close_responses(specs[api]) if options.strict else copy.deepcopy(specs[api])
        url = target_url(options.base_url, api, len(apis) > 1) if options.base_url else None
        methods = allowed_methods(url, options.allow_writes, classify)
        read_only = methods is not None
        if url is not None:
            reason = check_reachable(url)
            if reason is not None:
                raise ContractError(f"{redactor.text(url)}: {reason}")
        headers = {**(mock_headers(api, spec) if options.mock else {}), **user_headers}
        try:
            config = _config(options, headers, url, read_only, specs[api])
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
            print(redactor.text(f"[{api}] contract run against {url or 'the bundled mock'}{mode}"),
                  file=progress, flush=True)  # fmt: skip
        with guarded(guard):
            result = execute(schema, Progress(api, redactor, progress), on_stream=stream_box.append)
        report.runs.append(ApiRun(api, url or f"mock:{api}", _redact_result(result, redactor, api),
                                  guard.sent - before, read_only, time.perf_counter() - started))  # fmt: skip
        if guard.exhausted:
            report.stopped_by_budget = True
            break
    _decide(report)
    if options.report_dir is not None:
        from buildmock.contract.report import write_reports

        write_reports(report, options.report_dir, redactor)
    return report


def _decide(report: ContractReport) -> None:
    if report.findings:
        n = len(report.findings)
        report.exit_code, report.reason = EXIT_FINDINGS, f"{n} finding{'s' * (n != 1)}"
    elif any(run.result.unreachable for run in report.runs):
        report.exit_code, report.reason = EXIT_ERROR, "the server stopped responding"
    elif report.errors:
        report.exit_code, report.reason = EXIT_ERROR, report.errors[0].splitlines()[0]
    elif not any(run.result.scenarios for run in report.runs):
        report.exit_code, report.reason = EXIT_ERROR, "nothing was tested (no operation selected?)"
    else:
        report.exit_code, report.reason = EXIT_OK, "the API conforms"


# Public names for the pytest plugin's contract tests (``buildmock.testing.contract``), so one
# operation test is configured and filtered exactly as a ``buildmock contract`` run is.
run_config = _config
select_operations = _filter
