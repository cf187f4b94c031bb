"""Running Schemathesis's engine in-process and collecting what it finds."""

from __future__ import annotations

import ast
import contextlib
import copy
import gc
import threading
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import schemathesis
from schemathesis.config import SchemathesisConfig
from schemathesis.engine import Status, events, from_schema

from buildmock.contract import ALL_PHASES
from buildmock.contract.drift import classify
from buildmock.contract.safety import RequestRefused


@dataclass(frozen=True)
class Finding:
    """One failed check: which operation, which check, what Schemathesis said, how to reproduce."""

    operation: str
    check: str
    code: str
    title: str
    message: str
    reproduce: str
    status: int | None = None
    response: str = ""
    #: Drift kind (a key of ``drift.KINDS``), JSON path in the body, what the spec says, what came back.
    kind: str = "check_failed"
    path: str = ""
    expected: str = ""
    actual: str = ""
    #: Which API (vendor spec) the finding belongs to; filled in by the runner.
    api: str = ""
    #: The Schemathesis phase that found it (``examples``, ``coverage``, ``fuzzing``, ``stateful``).
    phase: str = ""


@dataclass
class Evidence:
    """What one operation answered in one phase: responses by status code, checks that judged a 2xx."""

    #: Responses by exact status code (0: no response).
    codes: Counter[int] = field(default_factory=Counter)
    #: Checks that ran (passed or failed) on a 2xx response: the ones that judged a success body.
    success_checks: set[str] = field(default_factory=set)

    @property
    def statuses(self) -> dict[str, int]:
        """Responses by status class (``2xx``, ``4xx``, ...; ``none`` when no response came)."""
        out: Counter[str] = Counter()
        for code, n in self.codes.items():
            out[f"{code // 100}xx" if code else "none"] += n
        return dict(sorted(out.items()))

    @property
    def verified(self) -> bool:
        """Whether some check judged a success (2xx) response."""
        return bool(self.success_checks)

    def add(self, other: Evidence) -> None:
        """Fold ``other`` into this one."""
        self.codes.update(other.codes)
        self.success_checks |= other.success_checks


@dataclass
class RunResult:
    """Everything a run found, plus errors that stopped parts of it."""

    findings: list[Finding] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    scenarios: int = 0
    #: Why the engine stopped (``completed``, ``max_time``, ``server_unavailable``, ...).
    stop_reason: str = ""
    #: Whether Schemathesis gave up because the server stopped answering.
    unreachable: bool = False
    #: ``{operation label: {phase: Evidence}}``, for every operation a request was sent to.
    evidence: dict[str, dict[str, Evidence]] = field(default_factory=dict)

    def operation_evidence(self) -> dict[str, Evidence]:
        """Evidence per operation, all phases together."""
        out: dict[str, Evidence] = {}
        for operation, phases in self.evidence.items():
            total = out.setdefault(operation, Evidence())
            for evidence in phases.values():
                total.add(evidence)
        return out

    @property
    def ok(self) -> bool:
        """Whether nothing failed and nothing broke."""
        return not self.findings and not self.errors


#: Top-level spec extension holding Schemathesis settings that a vendor's documented behaviour needs.
PROFILE_KEY = "x-buildmock-contract"


def spec_profile(spec: Mapping[str, Any], error_status: int | None = None) -> dict[str, Any]:
    """The Schemathesis settings a spec asks for (``x-buildmock-contract.schemathesis``), if any.

    A vendor that answers a schema-valid request with a documented 400 (Vela refuses to cancel a
    finished build with 400, not 409) says so here, per operation, instead of the check being
    loosened for every vendor; it applies to mock and real targets alike. ``error_status`` is the
    status the target answers every failure with (200 for Cocktail's server), or None when failures
    carry their own 4xx/5xx status: the profile's ``modes`` whose ``when.error-status`` equals it are
    merged over the base settings, and no other.
    """
    profile = spec.get(PROFILE_KEY) or {}
    settings = copy.deepcopy(dict(profile.get("schemathesis") or {}))
    if error_status is not None:
        for mode in profile.get("modes") or ():
            if (mode.get("when") or {}).get("error-status") == error_status:
                _merge(settings, copy.deepcopy(mode.get("schemathesis") or {}), append=True)
    return settings


def error_modes(spec: Mapping[str, Any]) -> list[int]:
    """The error statuses (``when.error-status``) the spec's profile has a mode for."""
    modes = (spec.get(PROFILE_KEY) or {}).get("modes") or ()
    return sorted(
        {int(m["when"]["error-status"]) for m in modes if "error-status" in (m.get("when") or {})}
    )


def make_config(
    *,
    phases: Iterable[str] = ALL_PHASES,
    checks: Iterable[str] | None = None,
    max_examples: int | None = None,
    seed: int | None = None,
    headers: Mapping[str, str] | None = None,
    workers: int = 1,
    max_time: float | None = None,
    base_url: str | None = None,
    extra: Mapping[str, Any] | None = None,
) -> SchemathesisConfig:
    """A Schemathesis config: every check unless ``checks`` names some, the given phases.

    ``extra`` is merged (recursively) over the result, in Schemathesis's config-file keys.
    """
    wanted = set(phases)
    data: dict[str, Any] = {
        "phases": {name: {"enabled": name in wanted} for name in ALL_PHASES},
        "workers": workers,
        # No example database: a run neither replays nor writes ``.hypothesis/`` examples, so it is the
        # same run in CI and on a laptop (reproducible with ``seed``), and skips the database's upkeep.
        "generation": {"database": "none"},
    }
    if checks is None or "all" in set(checks):
        data["checks"] = {"enabled": True}
    else:
        data["checks"] = {"enabled": False, **{name: {"enabled": True} for name in checks}}
    if max_examples is not None:
        data["generation"]["max-examples"] = max_examples
    if seed is not None:
        data["seed"] = seed
    if headers:
        data["headers"] = dict(headers)
    if max_time is not None:
        data["max-time"] = max_time
    if base_url is not None:
        data["base-url"] = base_url
    _merge(data, dict(extra or {}))
    return SchemathesisConfig.from_dict(data)


def _merge(into: dict[str, Any], extra: Mapping[str, Any], append: bool = False) -> None:
    """Merge ``extra`` into ``into``: tables recursively; lists replaced, or appended if ``append``."""
    for key, value in extra.items():
        if isinstance(value, Mapping) and isinstance(into.get(key), dict):
            _merge(into[key], value, append)
        elif append and isinstance(value, list) and isinstance(into.get(key), list):
            into[key] = into[key] + value
        else:
            into[key] = value


def load_asgi(app: Any, api: str, config: SchemathesisConfig) -> Any:
    """Load ``/<api>/openapi.json`` from an in-process ASGI app, requests going to ``/<api>``."""
    schema = schemathesis.openapi.from_asgi(f"/{api}/openapi.json", app, config=config)
    return schema.configure(base_url=f"/{api}") if hasattr(schema, "configure") else schema


def _refused(exc: BaseException | None) -> bool:
    """Whether ``exc`` (or anything it was raised from) is a request our own guard refused."""
    seen = 0
    while exc is not None and seen < 10:
        if isinstance(exc, RequestRefused):
            return True
        exc = exc.__cause__ or exc.__context__
        seen += 1
    return False


def _error_text(event: Any) -> str:
    info = getattr(event, "info", None)
    return info.format() if info is not None and hasattr(info, "format") else repr(event.value)


_AST_LOCK = threading.Lock()
_AST_PARSE = ast.parse
_serial_runs = 0
_serial_count_lock = threading.Lock()


def _serial_parse(*args: Any, **kwargs: Any) -> Any:
    with _AST_LOCK:
        return _AST_PARSE(*args, **kwargs)


@contextlib.contextmanager
def serial_ast_parsing() -> Iterator[None]:
    """While the block runs, ``ast.parse`` is taken one thread at a time.

    With ``--workers N`` Schemathesis draws in N threads, and Hypothesis (describing strategies eagerly,
    for validation messages, and mining constants) and Schemathesis parse Python source with ``ast.parse``.
    CPython 3.11's AST constructor keeps its recursion depth per interpreter, not per thread
    (python/cpython#106905), so two parses at once can fail with "SystemError: AST constructor recursion
    depth mismatch" -- which Schemathesis reports as "Inconsistent results" / Runtime Error. Serialising
    the parses removes the race; the original ``ast.parse`` is back once no run needs the lock.
    """
    global _serial_runs
    with _serial_count_lock:
        _serial_runs += 1
        ast.parse = _serial_parse
    try:
        yield
    finally:
        with _serial_count_lock:
            _serial_runs -= 1
            if _serial_runs == 0:
                ast.parse = _AST_PARSE


#: During a run, a full (oldest-generation) collection comes after this many younger ones instead of
#: CPython's 10; see :func:`quiet_collector`.
FULL_COLLECTION_EVERY = 100
_collector_runs = 0
_collector_saved: tuple[int, ...] = ()
_collector_found_frozen = False
#: What the process said of its own heap (:func:`declare_frozen_heap`); None: unsaid, counted.
_process_froze: bool | None = None


def declare_frozen_heap(frozen: bool = True) -> None:
    """Tell :func:`quiet_collector` whether this process froze (``gc.freeze``) its own heap, so a run
    need not count the frozen objects to know: ``gc.get_freeze_count`` walks every one of them
    (~80 ms for a test worker's heap, at every run). A process that says nothing is counted."""
    global _process_froze
    _process_froze = frozen


@contextlib.contextmanager
def quiet_collector() -> Iterator[None]:
    """While the block runs, the cyclic garbage collector skips what was loaded before it and runs fully less often.

    A run allocates short-lived objects by the million (Hypothesis draws, cases, responses) on top of a large
    heap that lives as long as the run (Schemathesis, Hypothesis, the parsed spec, the mock). CPython's full
    collections walk all of it, over and over (17 % of Nuon's run's CPU, bench/RESULTS.md). Here the heap the run
    starts with is frozen (``gc.freeze``: never collected, so never walked) and a full collection comes
    after :data:`FULL_COLLECTION_EVERY` younger ones; young objects are collected as usual. What is
    generated and checked does not change. The collector's settings are back once no run needs them
    (a heap the process had frozen itself stays frozen).
    """
    global _collector_runs, _collector_saved, _collector_found_frozen
    with _serial_count_lock:
        _collector_runs += 1
        if _collector_runs == 1:
            _collector_saved = gc.get_threshold()
            said = _process_froze
            _collector_found_frozen = gc.get_freeze_count() > 0 if said is None else said
            gc.freeze()
            gc.set_threshold(_collector_saved[0], _collector_saved[1], FULL_COLLECTION_EVERY)
    try:
        yield
    finally:
        with _serial_count_lock:
            _collector_runs -= 1
            if _collector_runs == 0:
                gc.set_threshold(*_collector_saved)
                # gc cannot unfreeze only what it froze: a process that froze its own heap
                # (a test session) keeps it frozen, with what was live when the run started.
                if not _collector_found_frozen:
                    gc.unfreeze()


def _record_evidence(result: RunResult, event: Any) -> None:
    """Count each response by operation, phase and status code; note the checks that judged a 2xx."""
    phase = str(getattr(event.phase, "value", event.phase))
    recorder = event.recorder
    for case_id, interaction in recorder.interactions.items():
        node = recorder.cases.get(case_id)
        operation = node.value.operation.label if node is not None else recorder.label
        evidence = result.evidence.setdefault(operation, {}).setdefault(phase, Evidence())
        response = interaction.response
        if response is None:
            evidence.codes[0] += 1
            continue
        evidence.codes[response.status_code] += 1
        if 200 <= response.status_code < 300:
            for check in recorder.checks.get(case_id, ()):
                if check.status in (Status.SUCCESS, Status.FAILURE):
                    evidence.success_checks.add(check.name)


def execute(
    schema: Any,
    on_event: Callable[[Any], None] | None = None,
    *,
    on_stream: Callable[[Any], None] | None = None,
) -> RunResult:
    """Run the engine over ``schema`` and collect failed checks (classified as drift), evidence and errors.

    ``on_stream`` gets the engine's event stream before the run starts (to ``stop()`` it early).
    Errors caused by requests the run's own guard refused are not errors.
    """
    with serial_ast_parsing(), quiet_collector():
        return _execute(schema, on_event, on_stream)


def _execute(
    schema: Any, on_event: Callable[[Any], None] | None, on_stream: Callable[[Any], None] | None
) -> RunResult:
    result = RunResult()
    seen: set[tuple[str, str, str, str, str]] = set()
    stream = from_schema(schema).execute()
    if on_stream is not None:
        on_stream(stream)
    for event in stream:
        if on_event is not None:
            on_event(event)
        if isinstance(event, events.ScenarioFinished):
            result.scenarios += 1
            _record_evidence(result, event)
            phase = str(getattr(event.phase, "value", event.phase))
            for case_id, nodes in event.recorder.checks.items():
                for node in nodes:
                    info = node.failure_info
                    if info is None:
                        continue
                    failure = info.failure
                    operation = failure.operation or event.recorder.label
                    interaction = event.recorder.interactions.get(case_id)
                    response = interaction.response if interaction is not None else None
                    status = response.status_code if response is not None else None
                    body = (
                        response.content[:2000].decode("utf-8", "replace")
                        if response is not None
                        else ""
                    )
                    drift = classify(failure, status, body)
                    key = (operation, node.name, failure.title, drift.kind, drift.path)
                    if key in seen:
                        continue
                    seen.add(key)
                    result.findings.append(
                        Finding(
                            operation,
                            node.name,
                            failure.code,
                            failure.title,
                            failure.message,
                            info.code_sample,
                            status,
                            body,
                            drift.kind,
                            drift.path,
                            drift.expected,
                            drift.actual,
                            phase=phase,
                        )
                    )
        elif isinstance(event, events.NonFatalError):
            if not _refused(event.value):
                result.errors.append(f"{event.label}: {_error_text(event)}")
        elif isinstance(event, events.FatalError):
            if not _refused(event.exception):
                result.errors.append(f"fatal: {event.exception!r}")
        elif isinstance(event, events.EngineFinished):
            result.stop_reason = str(getattr(event, "stop_reason", "") or "")
            result.unreachable = result.stop_reason == "server_unavailable"
    return result
