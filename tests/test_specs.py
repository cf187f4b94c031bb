"""Every spec in specs/ is valid OpenAPI 3.0.3 and every operation has a handler."""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any

import pytest
import yaml
from openapi_schema_validator import OAS30Validator
from openapi_spec_validator import validate

from buildmock.core.openapi import METHODS
from buildmock.settings import SPECS_DIR
from buildmock.vendors import available, modules

SPECS = sorted(SPECS_DIR.glob("*.yaml"))


@pytest.mark.parametrize("path", SPECS, ids=lambda p: p.stem)
def test_spec_is_valid_openapi_303(path: Path) -> None:
    spec = yaml.safe_load(path.read_text())
    assert spec["openapi"] == "3.0.3"
    validate(spec)
    assert "Inferred" in spec["info"]["description"] or "inferred" in spec["info"]["description"]


@pytest.mark.parametrize("path", SPECS, ids=lambda p: p.stem)
def test_every_operation_names_a_handler(path: Path) -> None:
    assert path.stem in available(SPECS_DIR), f"no handler module for {path.stem}"
    handlers = importlib.import_module(f"buildmock.vendors.{path.stem}")
    spec = yaml.safe_load(path.read_text())
    for route, item in spec["paths"].items():
        for method, operation in item.items():
            if method in METHODS:
                name = operation["operationId"]
                assert callable(getattr(handlers, name, None)), f"{method.upper()} {route}: {name}"


def test_every_vendor_module_has_a_spec_and_every_spec_a_module() -> None:
    assert {p.stem for p in SPECS} == set(modules()) == set(available(SPECS_DIR))
    assert len(SPECS) == 5


class _StrictLoader(yaml.SafeLoader):
    """A YAML loader that refuses duplicate keys (PyYAML silently keeps the last one)."""


def _no_duplicates(loader: yaml.SafeLoader, node: yaml.MappingNode, deep: bool = False) -> object:
    keys = [key.value for key, _ in node.value]
    duplicated = sorted({k for k in keys if keys.count(k) > 1})
    assert not duplicated, f"duplicate keys {duplicated} at line {node.start_mark.line + 1}"
    return yaml.SafeLoader.construct_mapping(loader, node, deep)


_StrictLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _no_duplicates)


@pytest.mark.parametrize("path", SPECS, ids=lambda p: p.stem)
def test_spec_has_no_duplicate_keys(path: Path) -> None:
    yaml.load(path.read_text(), Loader=_StrictLoader)


def _examples(spec: dict[str, Any]) -> list[tuple[str, dict[str, Any], Any]]:
    """Every response/request example with the schema it illustrates: (where, schema, value)."""
    found = []
    named = (spec.get("components") or {}).get("examples") or {}
    for route, item in spec["paths"].items():
        for method, operation in item.items():
            if method not in METHODS:
                continue
            media_types = [
                ("request", m)
                for m in ((operation.get("requestBody") or {}).get("content") or {}).values()
            ]
            for code, response in operation.get("responses", {}).items():
                media_types += [(code, m) for m in (response.get("content") or {}).values()]
            for where, media in media_types:
                if "schema" not in media:
                    continue
                values = [media["example"]] if "example" in media else []
                for example in (media.get("examples") or {}).values():
                    ref = example.get("$ref", "")
                    values.append(
                        named[ref.rsplit("/", 1)[-1]]["value"] if ref else example["value"]
                    )
                found += [(f"{method.upper()} {route} {where}", media["schema"], v) for v in values]
    return found


@pytest.mark.parametrize("path", SPECS, ids=lambda p: p.stem)
def test_examples_fit_their_schemas(path: Path) -> None:
    spec = yaml.safe_load(path.read_text())
    problems = []
    for where, schema, value in _examples(spec):
        validator = OAS30Validator({**spec, **schema})
        errors = list(validator.iter_errors(value))
        if errors:
            problems.append(f"{where}: {errors[0].message[:200]}")
    assert not problems, "\n".join(problems)


def _schema_examples(node: Any, where: str) -> list[tuple[str, dict[str, Any], Any]]:
    """Every ``example`` written on a schema itself (a property's, an object's), with that schema."""
    found = []
    if isinstance(node, dict):
        if "example" in node and ("type" in node or "properties" in node or "$ref" in node):
            found.append((where, node, node["example"]))
        for key, value in node.items():
            found += _schema_examples(value, f"{where}/{key}")
    elif isinstance(node, list):
        for index, value in enumerate(node):
            found += _schema_examples(value, f"{where}/{index}")
    return found


@pytest.mark.parametrize(
    "path",
    [*SPECS, Path(__file__).parents[1] / "src/buildmock/server/control.yaml"],
    ids=lambda p: p.stem,
)
def test_schema_examples_fit_their_schemas(path: Path) -> None:
    """An example on a schema is what a static answer (``Prefer: dynamic=false``) is built from."""
    spec = yaml.safe_load(path.read_text())
    problems = []
    examples = _schema_examples(spec.get("components", {}), "#/components")
    assert examples, "no schema example was found to check"
    for where, schema, value in examples:
        bare = {k: v for k, v in schema.items() if k != "example"}
        errors = list(OAS30Validator({**spec, **bare}).iter_errors(value))
        if errors:
            problems.append(f"{where}: {errors[0].message[:200]}")
    assert not problems, "\n".join(problems[:20])
