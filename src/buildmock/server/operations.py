"""Which spec operation a request is for, and the static answers that operation documents."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from buildmock.core.openapi import METHODS

#: How deep a schema is expanded when an answer is built from it (recursive schemas stop here).
_MAX_DEPTH = 12
_FORMATS = {
    "date-time": "2025-01-01T00:00:00Z",
    "date": "2025-01-01",
    "uuid": "00000000-0000-4000-8000-000000000000",
    "uri": "https://example.com/",
    "email": "user@example.com",
}


class NoExample(LookupError):
    """The operation documents no such answer."""


def resolve(spec: Mapping[str, Any], node: Any) -> Any:
    """``node`` with a local ``$ref`` (``#/components/...``) followed, repeatedly."""
    seen = 0
    while isinstance(node, Mapping) and "$ref" in node and seen < 32:
        target: Any = spec
        for part in str(node["$ref"]).lstrip("#/").split("/"):
            target = target[part.replace("~1", "/").replace("~0", "~")]
        node = target
        seen += 1
    return node


@dataclass(frozen=True)
class Operation:
    """One operation of a vendor spec."""

    vendor: str
    method: str
    template: str
    operation_id: str
    spec: Mapping[str, Any]
    node: Mapping[str, Any]

    def codes(self) -> list[int]:
        """Documented statuses, in the spec's order (``default`` and ranges are skipped)."""
        return [int(code) for code in self.node.get("responses", {}) if str(code).isdigit()]

    def success(self) -> int | None:
        """The first documented 2xx: what the handler answers when all goes well."""
        return next((code for code in self.codes() if 200 <= code < 300), None)

    def media(self, code: int) -> Mapping[str, Any] | None:
        """The JSON media object of response ``code`` (schema, example, examples), if any."""
        response = resolve(self.spec, self.node["responses"].get(str(code)))
        content = (response or {}).get("content") or {}
        media = next((m for t, m in content.items() if "json" in t), None)
        return resolve(self.spec, media) if media is not None else None

    def example_names(self, code: int | None = None) -> dict[str, int]:
        """Named examples -> the status of the response documenting them."""
        found: dict[str, int] = {}
        for status in [code] if code is not None else self.codes():
            media = self.media(status)
            for name in (media or {}).get("examples") or {}:
                found.setdefault(name, status)
        return found

    def example(self, code: int, name: str | None = None) -> Any:
        """The body of response ``code``: the named example, else its example, else from schema."""
        media = self.media(code)
        if media is None:
            if name is not None:
                raise NoExample(name)
            return None
        examples = media.get("examples") or {}
        if name is not None:
            if name not in examples:
                raise NoExample(name)
            return resolve(self.spec, examples[name]).get("value")
        if "example" in media:
            return media["example"]
        if examples:
            return resolve(self.spec, next(iter(examples.values()))).get("value")
        return from_schema(self.spec, media.get("schema") or {})


def from_schema(spec: Mapping[str, Any], schema: Any, depth: int = 0) -> Any:
    """A value the schema accepts, built from its ``example``/``default``/``enum`` where given."""
    schema = resolve(spec, schema)
    if not isinstance(schema, Mapping):
        return None
    for key in ("example", "default"):
        if key in schema:
            given = schema[key]
            if isinstance(given, dict) and schema.get("properties") and depth < _MAX_DEPTH:
                # An object's example may leave out required fields: fill them from the schema.
                built = from_schema(spec, {k: v for k, v in schema.items() if k != key}, depth)
                return {**built, **given} if isinstance(built, dict) else given
            return given
    if schema.get("enum"):
        return schema["enum"][0]
    if schema.get("allOf"):
        return from_schema(spec, _merged(spec, schema), depth)
    for key in ("oneOf", "anyOf"):
        if schema.get(key):
            return from_schema(spec, schema[key][0], depth + 1)
    kind = schema.get("type") or ("object" if "properties" in schema else None)
    if kind == "object":
        if depth >= _MAX_DEPTH:
            return {}
        required = set(schema.get("required") or ())
        return {
            name: from_schema(spec, sub, depth + 1)
            for name, sub in (schema.get("properties") or {}).items()
            if name in required or depth < 4
        }
    if kind == "array":
        if depth >= _MAX_DEPTH:
            return []
        count = max(int(schema.get("minItems", 1)), 0 if depth else 1)
        return [from_schema(spec, schema.get("items") or {}, depth + 1) for _ in range(count)]
    if kind in ("integer", "number"):
        low = schema.get("minimum", 0)
        return int(low) if kind == "integer" else float(low)
    if kind == "boolean":
        return False
    if kind == "string":
        text = _FORMATS.get(schema.get("format", ""), "string")
        return text.ljust(int(schema.get("minLength", 0)), "x")
    return None


def _merged(spec: Mapping[str, Any], schema: Mapping[str, Any]) -> dict[str, Any]:
    """An ``allOf`` as one schema: properties and required lists joined."""
    merged: dict[str, Any] = {k: v for k, v in schema.items() if k != "allOf"}
    properties: dict[str, Any] = dict(merged.get("properties") or {})
    required: list[str] = list(merged.get("required") or ())
    for part in schema["allOf"]:
        part = resolve(spec, part)
        if part.get("allOf"):
            part = _merged(spec, part)
        properties.update(part.get("properties") or {})
        required.extend(r for r in part.get("required") or () if r not in required)
        merged.update({k: v for k, v in part.items() if k not in ("properties", "required")})
    return {**merged, "properties": properties, "required": required}


class OperationTable:
    """Every operation of the mounted vendor specs, found by vendor, method and path."""

    def __init__(self, specs: Mapping[str, Mapping[str, Any]]) -> None:
        self._routes: dict[str, list[tuple[re.Pattern[str], bool, dict[str, Operation]]]] = {}
        for vendor, spec in specs.items():
            routes = self._routes.setdefault(vendor, [])
            for template, item in (spec.get("paths") or {}).items():
                pattern = re.sub(r"\\{[^/}]+\\}", "[^/]+", re.escape(template))
                methods = {
                    method.upper(): Operation(
                        vendor, method.upper(), template, op.get("operationId", ""), spec, op
                    )
                    for method, op in item.items()
                    if method in METHODS
                }
                routes.append((re.compile(f"^{pattern}$"), "{" not in template, methods))
            # OpenAPI: a concrete path wins over a templated one that also matches.
            routes.sort(key=lambda route: not route[1])

    def find(self, vendor: str, method: str, path: str) -> Operation | None:
        """The operation serving ``method path`` (path below the vendor's prefix), or None."""
        for pattern, _, methods in self._routes.get(vendor, ()):
            if pattern.match(path):
                found = methods.get(method.upper())
                if found is not None:
                    return found
        return None

    def operations(self, vendor: str) -> list[Operation]:
        """Every operation of the vendor's spec."""
        return [op for _, _, methods in self._routes.get(vendor, ()) for op in methods.values()]

    def by_id(self, vendor: str, operation_id: str) -> Operation | None:
        """The operation with this operationId, or None."""
        return next((op for op in self.operations(vendor) if op.operation_id == operation_id), None)
