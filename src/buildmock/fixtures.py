"""Loading ``fixtures/<vendor>.yaml`` and checking it against the vendor's spec.

Every field of a fixture must be one the loader reads or the spec declares: a misspelt one is an
error naming the file and the field, with the closest known name. Values are quoted in errors only
as a short excerpt, YAML aliases may not expand a file beyond :data:`MAX_VALUES` values, and numbers
of seconds (``age``…) must be finite and between 0 and :data:`MAX_SECONDS`. Those seconds are
lifecycle time, as at speed 1: they are divided by ``--speed``, so a fixture shows the same states
(a build still running, one cancelled mid-way) at any speed.
"""

from __future__ import annotations

import difflib
import math
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from jsonschema.exceptions import best_match
from openapi_schema_validator import OAS30Validator

#: Values (scalars, mappings, lists, each alias use counted again) a fixture file may expand to.
MAX_VALUES = 1_000_000
#: The most seconds a fixture's ``age`` (or another duration) may give: ten years.
MAX_SECONDS = 315_360_000
#: Longest message of a fixture error (values inside it are cut to fit).
MAX_MESSAGE = 300

_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class FixtureError(Exception):
    """A fixture that does not fit the spec; the message names the file and the field."""


class _Entry(dict[str, Any]):
    """A fixture entry that remembers which of its fields the loader looked at."""

    __slots__ = ("used",)

    def __init__(self, data: Mapping[str, Any]) -> None:
        super().__init__(data)
        self.used: set[str] = set()

    def get(self, key: str, default: Any = None) -> Any:
        """``dict.get``, noting the field as read."""
        self.used.add(key)
        return super().get(key, default)

    def __getitem__(self, key: str) -> Any:
        self.used.add(key)
        return super().__getitem__(key)

    def __contains__(self, key: object) -> bool:
        if isinstance(key, str):
            self.used.add(key)
        return super().__contains__(key)


def excerpt(value: Any, limit: int = 60) -> str:
    """``repr(value)`` cut to ``limit`` characters (never builds a huge string first)."""
    if isinstance(value, str | bytes):
        text = repr(value[: limit + 1])
    elif isinstance(value, Mapping | list):
        text = f"<{type(value).__name__} of {len(value)}>"
    else:
        text = repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _cut(message: str) -> str:
    message = " ".join(message.split())
    return message if len(message) <= MAX_MESSAGE else message[: MAX_MESSAGE - 1] + "…"


def _did_you_mean(name: str, known: set[str]) -> str:
    close = difflib.get_close_matches(name, sorted(known), n=1, cutoff=0.6)
    return f"; did you mean {close[0]!r}?" if close else ""


@dataclass
class FixtureContext:
    """One vendor's fixture file, parsed, with a validator for its entries."""

    path: Path
    data: dict[str, Any]
    spec: dict[str, Any]
    speed: float = 1.0
    _entries: dict[str, tuple[str, _Entry]] = field(default_factory=dict, repr=False)
    _known: dict[str, set[str]] = field(default_factory=dict, repr=False)
    _lists: set[str] = field(default_factory=set, repr=False)

    def items(self, key: str) -> Iterator[tuple[str, dict[str, Any]]]:
        """The entries of a top-level list, each with its location (``builds[2]``)."""
        self._lists.add(key)
        entries = self.data.get(key) or []
        if not isinstance(entries, list):
            raise self.error(key, "must be a list")
        for index, entry in enumerate(entries):
            where = f"{key}[{index}]"
            if not isinstance(entry, dict):
                raise self.error(where, "must be a mapping")
            tracked = _Entry(entry)
            self._entries[where] = (key, tracked)
            yield where, tracked

    def error(self, where: str, message: str) -> FixtureError:
        """A :class:`FixtureError` naming this file and the field (the message cut short)."""
        return FixtureError(f"{self.path}: {where}: {_cut(message)}")

    def check(self, where: str, instance: Any, schema_name: str) -> None:
        """Validate ``instance`` against ``components.schemas[schema_name]`` of the spec; a field
        the schema does not declare is an error too."""
        # The whole spec is the root document, so "#/components/..." refs inside it resolve;
        # under draft-4 rules a sibling "$ref" makes the validator look only at the referenced schema.
        validator = OAS30Validator({**self.spec, "$ref": f"#/components/schemas/{schema_name}"})
        error = best_match(validator.iter_errors(instance))
        if error is not None:
            path = ".".join(str(p) for p in error.absolute_path)
            message = f"{excerpt(error.instance)} does not fit the schema ({error.validator})"
            if error.validator in ("required", "enum", "type", "additionalProperties"):
                message = error.message if len(error.message) <= 200 else message
            raise self.error(f"{where}.{path}" if path else where, message)
        schema = self._schema(f"#/components/schemas/{schema_name}")
        # Undeclared fields of an entry itself are left unread, for :meth:`finish` to report
        # with every name the loader knows; deeper ones are reported here.
        unread = set(self._undeclared(where, instance, schema, 0) if where in self._entries else ())
        if where not in self._entries:
            self._undeclared(where, instance, schema, 0)
        self._cover(where, instance, schema, unread)

    def expect(self, where: str, entry: dict[str, Any], key: str, kind: type, default: Any) -> Any:
        """A buildmock-specific fixture field (``outcome``, ``age``…) of the given type.

        A number of seconds is asked for as ``(int, float)``: it must be finite and between 0 and
        :data:`MAX_SECONDS`, and comes back divided by the speed (see the module docstring).
        """
        value = entry.get(key, default)
        self._known.setdefault(self._list_of(where), set()).add(key)
        kinds = kind if isinstance(kind, tuple) else (kind,)
        if value is None:
            return value
        if kinds == (int, float):
            if (
                isinstance(value, bool)
                or not isinstance(value, int | float)
                or not math.isfinite(value)
                or not 0 <= value <= MAX_SECONDS
            ):
                raise self.error(
                    f"{where}.{key}",
                    f"must be a number of seconds from 0 to {MAX_SECONDS}, not {excerpt(value)}",
                )
            return value / self.speed
        if not isinstance(value, kinds) or (bool not in kinds and isinstance(value, bool)):
            names = " or ".join(k.__name__ for k in kinds)
            raise self.error(f"{where}.{key}", f"must be a {names}, not {excerpt(value)}")
        return value

    def finish(self) -> None:
        """After loading: a top-level key or a field of an entry that nothing read or checked is
        an error."""
        for key in self.data:
            if key not in self._lists:
                raise self.error(str(key), f"unknown section{_did_you_mean(str(key), self._lists)}")
        by_list: dict[str, set[str]] = {}
        for listed, entry in self._entries.values():
            by_list.setdefault(listed, set()).update(entry.used)
        for where, (listed, entry) in self._entries.items():
            for name in entry:
                if name not in entry.used:
                    known = by_list.get(listed, set()) | self._known.get(listed, set())
                    raise self.error(
                        f"{where}.{name}", f"unknown field{_did_you_mean(name, known)}"
                    )

    # -- internals ------------------------------------------------------------------------------

    @staticmethod
    def _list_of(where: str) -> str:
        return where.split("[", 1)[0]

    def _schema(self, ref: str) -> Any:
        node: Any = self.spec
        for part in ref.lstrip("#/").split("/"):
            if not isinstance(node, Mapping):
                return {}
            node = node.get(part.replace("~1", "/").replace("~0", "~"), {})
        return node

    def _resolved(self, schema: Any, depth: int = 0) -> Any:
        while isinstance(schema, Mapping) and "$ref" in schema and depth < 64:
            schema, depth = self._schema(schema["$ref"]), depth + 1
        return schema

    def _properties(self, schema: Any) -> tuple[dict[str, Any], bool, Any]:
        """Declared properties, whether others are allowed, and their schema (if one)."""
        schema = self._resolved(schema)
        if not isinstance(schema, Mapping):
            return {}, True, None
        if "oneOf" in schema or "anyOf" in schema:
            return {}, True, None
        declared: dict[str, Any] = dict(schema.get("properties") or {})
        extra = schema.get("additionalProperties")
        open_ = (
            extra is True
            or isinstance(extra, Mapping)
            or ("properties" not in schema and extra is not False)
        )
        for part in schema.get("allOf") or []:
            props, part_open, _ = self._properties(part)
            declared.update(props)
            open_ = open_ and part_open
        return declared, open_, extra if isinstance(extra, Mapping) else None

    def _undeclared(self, where: str, instance: Any, schema: Any, depth: int) -> list[str]:
        """Undeclared fields of ``instance`` itself (returned at depth 0); deeper ones raise."""
        found: list[str] = []
        if depth > 32:
            return found
        if isinstance(instance, Mapping):
            declared, open_, extra = self._properties(schema)
            for name, value in instance.items():
                if name in declared:
                    self._undeclared(f"{where}.{name}", value, declared[name], depth + 1)
                elif extra is not None:
                    self._undeclared(f"{where}.{name}", value, extra, depth + 1)
                elif not open_ and depth == 0:
                    found.append(str(name))
                elif not open_:
                    hint = _did_you_mean(str(name), set(declared))
                    raise self.error(f"{where}.{name}", f"unknown field{hint}")
        elif isinstance(instance, list):
            items = self._resolved(schema)
            items = items.get("items") if isinstance(items, Mapping) else None
            if items is not None:
                for index, value in enumerate(instance):
                    self._undeclared(f"{where}[{index}]", value, items, depth + 1)
        return found

    def _cover(self, where: str, instance: Any, schema: Any, unread: set[str]) -> None:
        """Note the fields a check covered, on the entry they belong to."""
        listed = self._list_of(where)
        declared, _, _ = self._properties(schema)
        known = self._known.setdefault(listed, set())
        found = self._entries.get(where)
        if found is not None:
            known.update(declared)
            if isinstance(instance, Mapping):
                found[1].used.update(str(k) for k in instance if str(k) not in unread)
            return
        parent, _, name = where.rpartition(".")
        found = self._entries.get(parent)
        if found is not None and "." not in name:
            found[1].used.add(name)
            known.add(name)


def _size_within(data: Any, limit: int) -> bool:
    """Whether ``data`` expands to at most ``limit`` values (shared objects counted each time)."""
    stack = [data]
    count = 0
    while stack:
        node = stack.pop()
        count += 1
        if count > limit:
            return False
        if isinstance(node, dict):
            stack.extend(node.keys())
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)
    return True


def read(path: Path, spec: dict[str, Any], speed: float = 1.0) -> FixtureContext:
    """Parse a fixture file; a syntax error is a :class:`FixtureError` naming the file."""
    try:
        data = yaml.load(path.read_text(), Loader=_LOADER) or {}
    except yaml.YAMLError as exc:
        raise FixtureError(f"{path}: not valid YAML: {_cut(str(exc))}") from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise FixtureError(f"{path}: cannot be read: {_cut(str(exc))}") from exc
    if not isinstance(data, dict):
        raise FixtureError(f"{path}: the top level must be a mapping")
    if not _size_within(data, MAX_VALUES):
        raise FixtureError(
            f"{path}: expands to more than {MAX_VALUES} values (YAML aliases?); refused"
        )
    return FixtureContext(path, data, spec, speed)
