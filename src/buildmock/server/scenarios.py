"""Scenario rules: latency, faults, pinned answers and rate limits per vendor or operation.

A rule matches requests (by vendor, operationId, method, path glob) and, when it fires (always,
with a probability, or every Nth match), contributes the same preferences a ``Prefer`` header
can carry (``latency``, ``fault``, ``code``, ``example``, ``dynamic``, ``outcome``). ``times``
makes it a pin that is used up; ``rate_limit`` answers 429 past N matches per window. Every rule
draws from its own stream seeded by ``--seed`` and its id, so the same requests in the same order
meet the same faults.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from buildmock.core import prefer
from buildmock.core.prefer import Preferences, PreferError
from buildmock.server.journal import path_matches
from buildmock.server.operations import OperationTable

#: Rules a mock holds at most (file and control API together).
MAX_RULES = 1000
#: Most matches a pin can be set for, and the longest rate-limit window (seconds).
MAX_TIMES, MAX_WINDOW = 1_000_000, 86_400.0

_MATCH_KEYS = ("vendor", "operation", "method", "path")
_ACTION_KEYS = ("latency", "fault", "retry_after", "code", "example", "dynamic", "outcome")
_RULE_KEYS = ("id", *_MATCH_KEYS, *_ACTION_KEYS, "probability", "every", "times", "rate_limit")


class ScenarioError(ValueError):
    """A rule that cannot be used, with where it came from."""


@dataclass
class Rule:
    """One rule and its running counters."""

    id: str
    source: str
    vendor: str | None
    operation: str | None
    method: str | None
    path: str | None
    prefs: Preferences
    probability: float | None
    every: int | None
    times: int | None
    rate_limit: tuple[int, float] | None
    spec: dict[str, Any]
    rng: random.Random
    matched: int = 0
    applied: int = 0
    window: tuple[float, int] = field(default=(0.0, 0))

    def matches(self, vendor: str, method: str, path: str, operation: Callable[[], str]) -> bool:
        """Whether the request falls under this rule (path is below the vendor prefix)."""
        return (
            (self.vendor is None or self.vendor == vendor)
            and (self.method is None or self.method == method)
            and (self.path is None or path_matches(self.path, path))
            and (self.operation is None or self.operation == operation())
        )

    def fire(self, now: float) -> Preferences | None:
        """Count one match; the preferences it contributes this time, or None."""
        self.matched += 1
        if self.rate_limit is not None:
            limit, window = self.rate_limit
            opened, used = self.window
            if now >= opened + window or now < opened:
                opened, used = now, 0
            used += 1
            self.window = (opened, used)
            if used <= limit:
                return None
            wait = max(1, math.ceil(opened + window - now))
            return self._used(prefer.build({"fault": "429", "retry-after": wait}))
        if self.every is not None and self.matched % self.every:
            return None
        if self.probability is not None and self.rng.random() >= self.probability:
            return None
        return self._used(self.prefs)

    def _used(self, prefs: Preferences) -> Preferences:
        self.applied += 1
        if self.times is not None:
            self.times -= 1
        return prefs

    def describe(self) -> dict[str, Any]:
        """The rule as given, with its id and counters."""
        return {
            "id": self.id,
            "source": self.source,
            "rule": {**self.spec, "id": self.id},
            "matched": self.matched,
            "applied": self.applied,
            **({"remaining": self.times} if self.times is not None else {}),
        }


class Scenarios:
    """The rules in force, in order: earlier rules win a key over later ones."""

    def __init__(self, seed: int, operations: OperationTable, vendors: list[str]) -> None:
        self.seed = seed
        self.operations = operations
        self.vendors = vendors
        self.rules: list[Rule] = []
        self._ids = 0

    def __bool__(self) -> bool:
        return bool(self.rules)

    def add(self, data: Any, source: str = "api", where: str = "") -> Rule:
        """Validate ``data`` and append it as a rule; ScenarioError says what is wrong."""
        if len(self.rules) >= MAX_RULES:
            raise ScenarioError(f"{where}at most {MAX_RULES} rules can be in force")
        rule = self._parse(data, source, where)
        if any(existing.id == rule.id for existing in self.rules):
            raise ScenarioError(f"{where}id: a rule {rule.id!r} already exists")
        self.rules.append(rule)
        return rule

    def remove(self, rule_id: str) -> bool:
        """Drop one rule; False if there is none with that id."""
        kept = [rule for rule in self.rules if rule.id != rule_id]
        found = len(kept) != len(self.rules)
        self.rules = kept
        return found

    def clear(self) -> int:
        """Drop every rule; return how many there were."""
        count = len(self.rules)
        self.rules = []
        self._ids = 0
        return count

    def apply(
        self, vendor: str, method: str, path: str, now: float
    ) -> tuple[Preferences, list[str]]:
        """The preferences the rules give this request, and the ids of the rules that fired."""
        found = prefer.NONE
        fired: list[str] = []
        op_id: list[str] = []

        def operation() -> str:
            if not op_id:
                op = self.operations.find(vendor, method, path)
                op_id.append(op.operation_id if op else "")
            return op_id[0]

        for rule in self.rules:
            if rule.matches(vendor, method, path, operation):
                prefs = rule.fire(now)
                if prefs is not None:
                    found = found.over(prefs)
                    fired.append(rule.id)
        if any(rule.times == 0 for rule in self.rules):
            self.rules = [rule for rule in self.rules if rule.times != 0]
        return found, fired

    def export(self) -> list[dict[str, Any]]:
        """Every rule as it was given (for the state document)."""
        return [{**rule.spec, "id": rule.id, **_left(rule)} for rule in self.rules]

    # -- validation ------------------------------------------------------------------------

    def _parse(self, data: Any, source: str, where: str) -> Rule:
        if not isinstance(data, Mapping):
            raise ScenarioError(f"{where}a rule must be a mapping of {', '.join(_RULE_KEYS)}")
        unknown = [key for key in data if key not in _RULE_KEYS]
        if unknown:
            raise ScenarioError(
                f"{where}{unknown[0]}: unknown key; a rule has {', '.join(_RULE_KEYS)}"
            )
        spec = {key: data[key] for key in _RULE_KEYS if data.get(key) is not None}
        vendor = _text(spec, "vendor", where)
        if vendor is not None and vendor not in self.vendors:
            raise ScenarioError(
                f"{where}vendor: {vendor!r} is not served (served: {', '.join(self.vendors)})"
            )
        operation = _text(spec, "operation", where)
        if operation is not None:
            if vendor is None:
                raise ScenarioError(f"{where}operation: needs a vendor")
            if self.operations.by_id(vendor, operation) is None:
                raise ScenarioError(f"{where}operation: {vendor} has no operation {operation!r}")
        method = _text(spec, "method", where)
        try:
            prefs = prefer.build({key: spec[key] for key in _ACTION_KEYS if key in spec})
        except PreferError as exc:
            raise ScenarioError(f"{where}{exc}") from None
        if prefs.code is not None and operation is not None:
            op = self.operations.by_id(vendor or "", operation)
            if op is not None and prefs.code not in op.codes():
                documented = ", ".join(map(str, op.codes()))
                raise ScenarioError(
                    f"{where}code: {prefs.code} is not documented for {operation} ({documented})"
                )
        probability = _number(spec, "probability", where, 0.0, 1.0)
        every = _count(spec, "every", where, MAX_TIMES)
        times = _count(spec, "times", where, MAX_TIMES)
        limit = _rate_limit(spec.get("rate_limit"), where)
        if limit is None and not prefs.given:
            raise ScenarioError(f"{where}a rule needs an action: {', '.join(_ACTION_KEYS)}")
        if limit is not None and prefs.given:
            raise ScenarioError(f"{where}rate_limit: a rate-limit rule takes no other action")
        # Kept in canonical form, so an exported rule reads back as the control API's schema says.
        canonical = {
            "code": prefs.code, "dynamic": prefs.dynamic, "fault": prefs.fault,
            "latency": prefs.latency.text() if prefs.latency else None,
            "retry_after": prefs.retry_after, "example": prefs.example, "outcome": prefs.outcome,
            "rate_limit": {"requests": limit[0], "window": f"{limit[1]:g}s"} if limit else None,
        }  # fmt: skip
        spec.update({k: v for k, v in canonical.items() if k in spec})
        self._ids += 1
        rule_id = _text(spec, "id", where) or f"rule-{self._ids}"
        return Rule(
            id=rule_id,
            source=source,
            vendor=vendor,
            operation=operation,
            method=method.upper() if method else None,
            path=_text(spec, "path", where),
            prefs=prefs,
            probability=probability,
            every=every,
            times=times,
            rate_limit=limit,
            spec={k: v for k, v in spec.items() if k != "id"},
            rng=random.Random(f"{self.seed}:scenario:{rule_id}"),
        )


def _left(rule: Rule) -> dict[str, Any]:
    return {"times": rule.times} if rule.times is not None else {}


def _text(spec: Mapping[str, Any], key: str, where: str) -> str | None:
    value = spec.get(key)
    if value is not None and (not isinstance(value, str) or not value.strip()):
        raise ScenarioError(f"{where}{key}: must be a non-empty string")
    return value


def _number(spec: Mapping[str, Any], key: str, where: str, low: float, high: float) -> float | None:
    value = spec.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not low <= value <= high:
        raise ScenarioError(f"{where}{key}: must be a number from {low:g} to {high:g}")
    return float(value)


def _count(spec: Mapping[str, Any], key: str, where: str, high: int) -> int | None:
    value = spec.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= high:
        raise ScenarioError(f"{where}{key}: must be a whole number from 1 to {high}")
    return value


def _rate_limit(value: Any, where: str) -> tuple[int, float] | None:
    if value is None:
        return None
    if not isinstance(value, Mapping) or set(value) - {"requests", "window"}:
        raise ScenarioError(f"{where}rate_limit: must be {{requests: N, window: 60s}}")
    requests = _count(value, "requests", f"{where}rate_limit.", MAX_TIMES)
    if requests is None:
        raise ScenarioError(f"{where}rate_limit.requests: required")
    raw = value.get("window", "60s")
    try:
        # A bare number is seconds here; "500ms" and "2s" work as everywhere else.
        window = float(raw) if isinstance(raw, int | float) else prefer.parse_duration(str(raw))
    except PreferError as exc:
        raise ScenarioError(f"{where}rate_limit.window: {exc}") from None
    if not 0 < window <= MAX_WINDOW:
        raise ScenarioError(f"{where}rate_limit.window: must be more than 0 s")
    return requests, window


# -- the scenario file -----------------------------------------------------------------------


def load_file(path: Path, scenarios: Scenarios) -> int:
    """Add the rules of a scenario file; a problem raises ScenarioError naming file and line."""
    try:
        text = path.read_text()
    except OSError as exc:
        raise ScenarioError(f"{path}: cannot read ({exc.strerror})") from None
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f":{mark.line + 1}" if mark is not None else ""
        raise ScenarioError(
            f"{path}{line}: not valid YAML ({getattr(exc, 'problem', exc)})"
        ) from None
    if root is None:
        return 0
    if not isinstance(root, yaml.MappingNode) or [k.value for k, _ in root.value] != ["rules"]:
        raise ScenarioError(
            f"{path}:{root.start_mark.line + 1}: expected a mapping with one key, rules"
        )
    rules = root.value[0][1]
    if not isinstance(rules, yaml.SequenceNode):
        raise ScenarioError(f"{path}:{rules.start_mark.line + 1}: rules must be a list")
    loader = yaml.SafeLoader("")
    for index, node in enumerate(rules.value):
        data = loader.construct_document(node)
        where = f"{path}:{node.start_mark.line + 1}: rules[{index}]: "
        try:
            scenarios.add(data, source=str(path), where=where)
        except ScenarioError as exc:
            raise ScenarioError(_at_key(str(exc), where, node, path, index)) from None
    return len(rules.value)


def _at_key(message: str, where: str, node: yaml.Node, path: Path, index: int) -> str:
    """Point the message at the line of the key it is about, when it names one."""
    rest = message[len(where) :] if message.startswith(where) else message
    key = rest.split(":", 1)[0].split(".", 1)[0].split("=", 1)[0].strip().replace("-", "_")
    if isinstance(node, yaml.MappingNode):
        for key_node, _ in node.value:
            if key_node.value == key:
                return f"{path}:{key_node.start_mark.line + 1}: rules[{index}].{rest}"
    return message
