"""Specs parsed once per process: the same document as a fresh parse, a copy of its own per caller."""

from __future__ import annotations

from pathlib import Path

import yaml

from buildmock.server.specfile import load_spec
from buildmock.settings import SPECS_DIR


def test_each_call_is_the_parse_and_a_copy_of_its_own() -> None:
    path = SPECS_DIR / "vela.yaml"
    first = load_spec(path)
    assert first == yaml.safe_load(path.read_text())
    first["paths"].clear()
    second = load_spec(path)
    assert second["paths"], "a caller's change reached the next caller"
    assert second is not first


def test_an_edited_file_is_parsed_afresh(tmp_path: Path) -> None:
    path = tmp_path / "spec.yaml"
    path.write_text("a: 1\n")
    assert load_spec(path) == {"a": 1}
    path.write_text("a: 2\n")
    assert load_spec(path) == {"a": 2}
