"""Loading ``fixtures/<vendor>.yaml`` and checking it against the vendor's spec."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from jsonschema.exceptions import best_match
from openapi_schema_validator import OAS30Validator


class FixtureError(Exception):
    """A fixture that does not fit the spec; the message names the file and the field."""


@dataclass
class FixtureContext:
    """One vendor's fixture file, parsed, with a validator for its entries."""

    path: Path
    data: dict[str, Any]
    spec: dict[str, Any]

    def items(self, key: str) -> Iterator[tuple[str, dict[str, Any]]]:
        """The entries of a top-level list, each with its location (``builds[2]``)."""
        entries = self.data.get(key) or []
        if not isinstance(entries, list):
            raise self.error(key, "must be a list")
        for index, entry in enumerate(entries):
            where = f"{key}[{index}]"
            if not isinstance(entry, dict):
                raise self.error(where, "must be a mapping")
            yield where, entry

    def error(self, where: str, message: str) -> FixtureError:
        """A :class:`FixtureError` naming this file and the field."""
        return FixtureError(f"{self.path}: {where}: {message}")

    def check(self, where: str, instance: Any, schema_name: str) -> None:
        """Validate ``instance`` against ``components.schemas[schema_name]`` of the spec."""
        # The whole spec is the root document, so "#/components/..." refs inside it resolve;
        # under draft-4 rules a sibling "$ref" makes the validator look only at the referenced schema.
        validator = OAS30Validator({**self.spec, "$ref": f"#/components/schemas/{schema_name}"})
        error = best_match(validator.iter_errors(instance))
        if error is not None:
            field = ".".join(str(p) for p in error.absolute_path)
            raise self.error(f"{where}.{field}" if field else where, error.message)

    def expect(self, where: str, entry: dict[str, Any], key: str, kind: type, default: Any) -> Any:
        """A buildmock-specific fixture field (``outcome``, ``age``…) of the given type."""
        value = entry.get(key, default)
        if value is not None and not isinstance(value, kind):
            raise self.error(f"{where}.{key}", f"must be a {kind.__name__}")
        return value


def read(path: Path, spec: dict[str, Any]) -> FixtureContext:
    """Parse a fixture file; a syntax error is a :class:`FixtureError` naming the file."""
    try:
        data = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as exc:
        raise FixtureError(f"{path}: not valid YAML: {exc}") from exc
    if not isinstance(data, dict):
        raise FixtureError(f"{path}: the top level must be a mapping")
    return FixtureContext(path, data, spec)
