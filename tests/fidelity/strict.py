"""Strict validation of live mock responses against a snapshot of a vendor's own schemas.

A snapshot (``tests/fidelity/snapshots/<vendor>.json``) holds facts derived from the vendor's own
machine-readable source, with their provenance::

    {
      "source": {"name": "...", "version": "...", "url": "...", "derived": "how the facts were read"},
      "operations": {"POST /v0/builds": {"status": 200, "schema": "Build"}, ...},
      "not_modelled": {"GET /v0/...": "why the mock leaves it out"},
      "definitions": {"Build": {JSON Schema, draft 7, "$ref": "#/definitions/..."}, ...}
    }

``operations`` lists every build operation the vendor has (the total); an operation is covered when
the buildmock spec has it. Validation is strict: every object schema in the snapshot is closed
(``additionalProperties: false`` unless the snapshot says otherwise), so a field the vendor lacks fails,
and ``required`` is as the vendor's source makes it, so a field it always sends must be there.
"""

from __future__ import annotations

import copy
import json
from collections import Counter
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from jsonschema import Draft7Validator

from buildmock.core import openapi

SNAPSHOTS = Path(__file__).with_name("snapshots")

#: vendor -> Counter of "ok" / "failed" live responses checked in this test session.
TALLY: dict[str, Counter[str]] = {}


def _close(schema: Any) -> Any:
    """Close every object schema that lists properties and says nothing of additional ones."""
    if isinstance(schema, dict):
        closed = {key: _close(value) for key, value in schema.items()}
        if "properties" in closed and "additionalProperties" not in closed:
            closed["additionalProperties"] = False
        return closed
    if isinstance(schema, list):
        return [_close(item) for item in schema]
    return schema


@dataclass
class Snapshot:
    """A vendor's derived schemas and operations, loaded from its snapshot file."""

    vendor: str
    source: dict[str, Any]
    operations: dict[str, dict[str, Any]]
    not_modelled: dict[str, str]
    definitions: dict[str, Any]
    _validators: dict[str, Draft7Validator] = field(default_factory=dict)

    def validator(self, name: str) -> Draft7Validator:
        """A strict validator of definition ``name`` (refs resolve within the snapshot)."""
        if name not in self._validators:
            root = {"definitions": _close(copy.deepcopy(self.definitions))}
            root["$ref"] = f"#/definitions/{name}"
            self._validators[name] = Draft7Validator(root)
        return self._validators[name]

    def errors(self, name: str, instance: Any) -> list[str]:
        """Every way ``instance`` differs from definition ``name``, as ``$.path: message`` lines."""
        found = []
        for error in sorted(self.validator(name).iter_errors(instance), key=lambda e: e.json_path):
            found.append(f"{error.json_path}: {error.message[:300]}")
        return found

    def check(self, name: str, instance: Any, where: str = "") -> None:
        """Assert ``instance`` is a strict ``name``, and count it in the session's tally."""
        problems = self.errors(name, instance)
        TALLY.setdefault(self.vendor, Counter())["failed" if problems else "ok"] += 1
        assert not problems, f"{self.vendor} {where} is not a strict {name}:\n" + "\n".join(
            problems[:20]
        )


@cache
def load(vendor: str) -> Snapshot:
    """The snapshot of ``vendor``."""
    data = json.loads((SNAPSHOTS / f"{vendor}.json").read_text())
    return Snapshot(
        vendor=vendor,
        source=data["source"],
        operations=data["operations"],
        not_modelled=data.get("not_modelled", {}),
        definitions=data["definitions"],
    )


def spec_operations(spec: dict[str, Any]) -> set[str]:
    """``"METHOD /path"`` of every operation in a buildmock spec."""
    return {f"{method.upper()} {path}" for path, method, _ in openapi.operations(spec)}
