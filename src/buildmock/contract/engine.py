"""Running Schemathesis's engine in-process and collecting what it finds."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import schemathesis
from schemathesis.config import SchemathesisConfig
from schemathesis.engine import events, from_schema

ALL_PHASES = ("examples", "coverage", "fuzzing", "stateful")


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


@dataclass
class RunResult:
    """Everything a run found, plus errors that stopped parts of it."""

    findings: list[Finding] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    scenarios: int = 0

    @property
    def ok(self) -> bool:
        """Whether nothing failed and nothing broke."""
        return not self.findings and not self.errors


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
) -> SchemathesisConfig:
    """A Schemathesis config: every check unless ``checks`` names some, the given phases."""
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
    return SchemathesisConfig.from_dict(data)


def load_asgi(app: Any, api: str, config: SchemathesisConfig) -> Any:
    """Load ``/<api>/openapi.json`` from an in-process ASGI app, requests going to ``/<api>``."""
    schema = schemathesis.openapi.from_asgi(f"/{api}/openapi.json", app, config=config)
    return schema.configure(base_url=f"/{api}") if hasattr(schema, "configure") else schema


def execute(schema: Any, on_event: Callable[[Any], None] | None = None) -> RunResult:
    """Run the engine over ``schema`` and collect failed checks and errors."""
    result = RunResult()
    seen: set[tuple[str, str, str]] = set()
    for event in from_schema(schema).execute():
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
                    key = (operation, node.name, failure.title)
                    if key in seen:
                        continue
                    seen.add(key)
                    interaction = event.recorder.interactions.get(case_id)
                    response = interaction.response if interaction is not None else None
                    result.findings.append(
                        Finding(operation, node.name, failure.code, failure.title,
                                failure.message, info.code_sample,
                                response.status_code if response is not None else None,
                                response.content[:2000].decode("utf-8", "replace") if response is not None else "")  # fmt: skip
                    )
        elif isinstance(event, events.NonFatalError):
            result.errors.append(f"{event.label}: {event.info.format() if hasattr(event.info, 'format') else event.value}")
        elif isinstance(event, events.FatalError):
            result.errors.append(f"fatal: {event.exception!r}")
    return result
