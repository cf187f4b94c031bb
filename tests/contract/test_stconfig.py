"""The repo-root ``schemathesis.toml``: generated from the specs, in sync, and plain ``st run`` passes with it."""

from __future__ import annotations

import subprocess
import sys
import tomllib
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from buildmock.contract.engine import spec_profile
from buildmock.contract.stconfig import DISABLED_CHECKS, render
from buildmock.settings import SPECS_DIR
from tests.cases import CASES
from tests.process import serving

ROOT = Path(__file__).resolve().parents[2]
TOML = ROOT / "schemathesis.toml"


def test_schemathesis_toml_is_in_sync_with_the_specs() -> None:
    assert TOML.read_text() == render(), (
        "schemathesis.toml is stale: python -m buildmock.contract.stconfig > schemathesis.toml"
    )


def test_each_spec_has_a_project_carrying_its_profile() -> None:
    projects = {p["title"]: p for p in tomllib.loads(TOML.read_text())["project"]}
    for path in sorted(SPECS_DIR.glob("*.yaml")):
        spec = yaml.safe_load(path.read_text())
        project = projects[spec["info"]["title"]]
        profile = spec_profile(spec)
        assert project.get("operations", []) == profile.get("operations", [])
        assert project.get("phases", {}) == profile.get("phases", {})
        assert all(project["checks"][name]["enabled"] is False for name in DISABLED_CHECKS)
        assert project["headers"]


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    """One default ``buildmock serve`` process (every vendor, bundled fixtures, any credential)."""
    with serving() as (base, _):
        yield base


@pytest.mark.parametrize("name", sorted(CASES))
def test_plain_st_run_passes_against_a_default_serve(name: str, server: str) -> None:
    """``st run specs/<vendor>.yaml --url …`` from the repo root, against a real ``buildmock serve`` process."""
    st = Path(sys.executable).with_name("st")
    done = subprocess.run(
        [str(st), "run", f"specs/{name}.yaml", "--url", f"{server}/{name}", "--max-examples", "2",
         "--seed", "1", "--no-color"],
        cwd=ROOT, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert "Configuration:" in done.stdout and str(TOML) in done.stdout  # the file was read
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
