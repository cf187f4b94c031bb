"""Running Schemathesis's engine in-process and collecting what it finds."""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import schemathesis
from schemathesis.config import SchemathesisConfig
from schemathesis.engine import events, from_schema

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

    @property
    def ok(self) -> bool:
        """Whether nothing failed and nothing broke."""
        return not self.findings and not self.errors


#: Top-level spec extension holding Schemathesis settings that a vendor's documented behaviour needs.
PROFILE_KEY = "x-buildmock-contract"


def spec_profile(spec: Mapping[str, Any]) -> dict[str, Any]:
    """The Schemathesis settings a spec asks for (``x-buildmock-contract.schemathesis``), if any.

    A vendor that answers a schema-valid request with a documented 400 (Vela refuses to cancel a
    finished build with 400, not 409) says so here, per operation, instead of the check being
    loosened for every vendor; it applies to mock and real targets alike.
    """
    profile = spec.get(PROFILE_KEY) or {}
    return copy.deepcopy(dict(profile.get("schemathesis") or {}))


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
    }
    if checks is None or "all" in set(checks):
        data["checks"] = {"enabled": True}
    else:
        data["checks"] = {"enabled": False, **{name: {"enabled": True} for name in checks}}
    if max_examples is not None:
        data["generation"] = {"max-examples": max_examples}
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


def _merge(into: dict[str, Any], extra: Mapping[str, Any]) -> None:
    for key, value in extra.items():
        if isinstance(value, Mapping) and isinstance(into.get(key), dict):
            _merge(into[key], value)
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


def execute(
    schema: Any,
    on_event: Callable[[Any], None] | None = None,
    *,
    on_stream: Callable[[Any], None] | None = None,
) -> RunResult:
    """Run the engine over ``schema`` and collect failed checks (classified as drift) and errors.

    ``on_stream`` gets the engine's event stream before the run starts (to ``stop()`` it early).
    Errors caused by requests the run's own guard refused are not errors.
    """
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
