"""``--strict``: a copy of a spec whose response objects are closed (no fields beyond those documented).

Request schemas are left alone, and the spec files are never touched: response schemas get their own
``<Name>__strict`` copies of every component they reach, with ``additionalProperties: false`` on each
object that lists ``properties`` and says nothing about extra ones.
"""

from __future__ import annotations

import copy
from typing import Any

_SCHEMA_PREFIX = "#/components/schemas/"
_RESPONSE_PREFIX = "#/components/responses/"
SUFFIX = "__strict"


def _close(node: Any, reached: set[str], *, in_all_of: bool = False) -> Any:
    """A closed copy of schema ``node``; names of components it references go into ``reached``."""
    if isinstance(node, list):
        return [_close(item, reached, in_all_of=in_all_of) for item in node]
    if not isinstance(node, dict):
        return node
    ref = node.get("$ref")
    if isinstance(ref, str) and ref.startswith(_SCHEMA_PREFIX):
        name = ref[len(_SCHEMA_PREFIX) :]
        if in_all_of:  # members of allOf stay open: closing each would reject the others' fields
            return node
        reached.add(name)
        return {**node, "$ref": f"{_SCHEMA_PREFIX}{name}{SUFFIX}"}
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key in ("properties", "patternProperties", "definitions", "$defs"):
            out[key] = (
                {k: _close(v, reached) for k, v in value.items()}
                if isinstance(value, dict)
                else value
            )
        elif key == "allOf":
            out[key] = _close(value, reached, in_all_of=True)
        elif (
            key == "discriminator"
            and isinstance(value, dict)
            and isinstance(value.get("mapping"), dict)
        ):
            mapping = {}
            for tag, target in value["mapping"].items():
                if isinstance(target, str) and target.startswith(_SCHEMA_PREFIX) and not in_all_of:
                    reached.add(target[len(_SCHEMA_PREFIX) :])
                    target = f"{target}{SUFFIX}"
                mapping[tag] = target
            out[key] = {**value, "mapping": mapping}
        elif key in ("items", "additionalProperties", "not", "anyOf", "oneOf"):
            out[key] = _close(value, reached)
        else:
            out[key] = copy.deepcopy(value)
    opens = ("additionalProperties", "patternProperties", "unevaluatedProperties", "allOf")
    if "properties" in out and not in_all_of and not any(k in out for k in opens):
        out["additionalProperties"] = False
    return out


def close_responses(spec: dict[str, Any]) -> dict[str, Any]:
    """A deep copy of OpenAPI 3.0 ``spec`` with every response body schema closed."""
    spec = copy.deepcopy(spec)
    components = spec.setdefault("components", {})
    schemas: dict[str, Any] = components.setdefault("schemas", {})
    shared = components.get("responses") or {}
    reached: set[str] = set()

    def close_response(response: Any) -> Any:
        ref = response.get("$ref") if isinstance(response, dict) else None
        if isinstance(ref, str) and ref.startswith(_RESPONSE_PREFIX):
            response = copy.deepcopy(shared.get(ref[len(_RESPONSE_PREFIX) :], {}))
        if not isinstance(response, dict):
            return response
        for media in (response.get("content") or {}).values():
            if isinstance(media, dict) and "schema" in media:
                media["schema"] = _close(media["schema"], reached)
        return response

    for item in (spec.get("paths") or {}).values():
        if not isinstance(item, dict):
            continue
        for operation in item.values():
            if isinstance(operation, dict) and isinstance(operation.get("responses"), dict):
                operation["responses"] = {
                    code: close_response(resp) for code, resp in operation["responses"].items()
                }
    done: set[str] = set()
    while reached - done:
        name = sorted(reached - done)[0]
        done.add(name)
        schemas[f"{name}{SUFFIX}"] = _close(schemas.get(name, {}), reached)
    return spec
