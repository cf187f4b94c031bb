"""Every spec in specs/ is valid OpenAPI 3.0.3 and every operation has a handler."""

from __future__ import annotations

import importlib
from pathlib import Path

import pytest
import yaml
from openapi_spec_validator import validate

from buildmock.settings import SPECS_DIR
from buildmock.vendors import KNOWN, available

SPECS = sorted(SPECS_DIR.glob("*.yaml"))
METHODS = {"get", "put", "post", "delete", "patch", "head", "options"}


@pytest.mark.parametrize("path", SPECS, ids=lambda p: p.stem)
def test_spec_is_valid_openapi_303(path: Path) -> None:
    spec = yaml.safe_load(path.read_text())
    assert spec["openapi"] == "3.0.3"
    validate(spec)
    assert "Inferred" in spec["info"]["description"] or "inferred" in spec["info"]["description"]


@pytest.mark.parametrize("path", SPECS, ids=lambda p: p.stem)
def test_every_operation_names_a_handler(path: Path) -> None:
    assert path.stem in KNOWN
    assert path.stem in available(SPECS_DIR), f"no handler module for {path.stem}"
    handlers = importlib.import_module(f"buildmock.vendors.{path.stem}")
    spec = yaml.safe_load(path.read_text())
    for route, item in spec["paths"].items():
        for method, operation in item.items():
            if method in METHODS:
                name = operation["operationId"]
                assert callable(getattr(handlers, name, None)), f"{method.upper()} {route}: {name}"


def test_all_five_vendors_have_specs() -> None:
    assert {p.stem for p in SPECS} == set(KNOWN)
