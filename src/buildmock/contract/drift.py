"""Turning Schemathesis failures into drift: what kind, where in the body, what the spec says, what came."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

#: Drift kinds, in the order a report lists them, with their human titles.
KINDS: dict[str, str] = {
    "type_changed": "type changed",
    "required_missing": "required field missing",
    "enum_mismatch": "value not in enum",
    "undocumented_status": "undocumented status code",
    "undocumented_content_type": "undocumented content type",
    "null_not_nullable": "null where not nullable",
    "undocumented_field": "undocumented field (strict)",
    "server_error": "server error",
    "schema_violation": "other schema violation",
    "check_failed": "other check failed",
}


@dataclass(frozen=True)
class Drift:
    """One classified failure: kind (a key of :data:`KINDS`), JSON path, spec side, response side."""

    kind: str
    path: str = ""
    expected: str = ""
    actual: str = ""


def json_path(parts: Any) -> str:
    """``['data', 0, 'id']`` -> ``$.data[0].id``."""
    out = "$"
    for part in list(parts or ()):
        if isinstance(part, int):
            out += f"[{part}]"
        elif re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", str(part)):
            out += f".{part}"
        else:
            out += f"[{json.dumps(str(part))}]"
    return out


def _dump(value: Any, limit: int = 200) -> str:
    text = json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"


def _quoted(message: str) -> str | None:
    found = re.search(r"""["']([^"']+)["']""", message)
    return found.group(1) if found else None


def _schema_drift(failure: Any) -> Drift:
    keyword = str(failure.schema_path[-1]) if failure.schema_path else ""
    instance = failure.instance
    schema = failure.schema or {}
    path = list(failure.instance_path or ())
    raw = str(getattr(failure, "_raw_message", "") or failure.validation_message or "")
    if instance is None and keyword in ("type", "anyOf", "oneOf", "nullable"):
        expected = schema.get("type", keyword) if isinstance(schema, dict) else keyword
        return Drift(
            "null_not_nullable", json_path(path), f"type {_dump(expected)}, not nullable", "null"
        )
    if keyword == "required":
        name = _quoted(raw) or "?"
        return Drift(
            "required_missing", json_path([*path, name]), f"required property {name!r}", "absent"
        )
    if keyword == "enum":
        return Drift(
            "enum_mismatch", json_path(path), f"one of {_dump(schema.get('enum'))}", _dump(instance)
        )
    if keyword == "const":
        return Drift(
            "enum_mismatch",
            json_path(path),
            f"exactly {_dump(schema.get('const'))}",
            _dump(instance),
        )
    if keyword == "type":
        return Drift("type_changed", json_path(path), f"type {_dump(schema.get('type'))}",
                     f"{_json_type(instance)} {_dump(instance)}")  # fmt: skip
    if keyword in ("additionalProperties", "unevaluatedProperties"):
        names = re.findall(r"'([^']+)'", raw.split("(", 1)[-1]) or [_quoted(raw) or "?"]
        extra = [n for n in names if isinstance(instance, dict) and n in instance] or names
        value = {n: instance.get(n) for n in extra} if isinstance(instance, dict) else instance
        return Drift("undocumented_field", json_path([*path, extra[0]]) if len(extra) == 1 else json_path(path),
                     "no properties beyond " + _dump(sorted((schema.get("properties") or {}).keys())),
                     _dump(value))  # fmt: skip
    expected = (
        f"{keyword} {_dump(schema.get(keyword))}"
        if isinstance(schema, dict) and keyword in schema
        else keyword
    )
    return Drift("schema_violation", json_path(path), expected, _dump(instance))


def classify(failure: Any, status: int | None = None, body: str = "") -> Drift:
    """Classify one Schemathesis failure (``schemathesis.core.failures`` / ``openapi.checks`` classes)."""
    name = type(failure).__name__
    if name == "JsonSchemaError":
        return _schema_drift(failure)
    if name == "UndefinedStatusCode":
        return Drift("undocumented_status", "", "one of " + ", ".join(map(str, failure.defined_status_codes)),
                     str(failure.status_code))  # fmt: skip
    if name == "UndefinedContentType":
        return Drift("undocumented_content_type", "", "one of " + ", ".join(failure.defined_content_types),
                     str(failure.content_type))  # fmt: skip
    if name == "MissingContentType":
        return Drift("undocumented_content_type", "", "one of " + ", ".join(failure.media_types),
                     "no Content-Type header")  # fmt: skip
    if name in ("ServerError", "ContentTypeServerError"):
        snippet = body[:200]
        return Drift("server_error", "", "a response that is not 5xx",
                     f"{failure.status_code} {snippet}".strip())  # fmt: skip
    return Drift("check_failed", "", "", str(status) if status is not None else "")
