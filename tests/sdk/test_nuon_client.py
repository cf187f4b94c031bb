"""A client generated from Nuon's public API (PyPI ``nuon``), pointed at the mock, works unchanged."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import httpx

from tests.process import serving

ROOT = Path(__file__).resolve().parents[2]
VENV = ROOT / ".work" / "nuon-client"
CLIENT = "nuon==0.19.216"


def _python() -> Path:
    """A virtualenv holding the generated client (built once, reused by later runs)."""
    python = VENV / "bin" / "python"
    if not python.exists():
        subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
        subprocess.run([str(python), "-m", "pip", "install", "-q", CLIENT], check=True, timeout=600)
    return python


def test_generated_client_round_trip() -> None:
    python = _python()
    with serving("--api", "nuon", "--clock", "manual") as (base, _):
        script = str(Path(__file__).with_name("nuon_client.py"))
        first = subprocess.run(
            [str(python), script, f"{base}/nuon"], capture_output=True, text=True
        )
        assert first.returncode == 0, first.stderr
        seen = json.loads(first.stdout)
        httpx.post(f"{base}/__buildmock/clock/advance", json={"seconds": 3600})
        later = subprocess.run(
            [str(python), script, f"{base}/nuon", seen["created"]["id"]],
            capture_output=True,
            text=True,
        )
        assert later.returncode == 0, later.stderr
        fixtures = subprocess.run(
            [str(python), script, f"{base}/nuon", "--fixtures"], capture_output=True, text=True
        )
        assert fixtures.returncode == 0, fixtures.stderr
    assert seen["created"]["status"] == "queued"
    assert seen["created"]["component_id"] == "cmp0123456789abcdefghijklm"
    assert seen["got_same"] and seen["by_component_same"] and seen["latest_same"]
    assert seen["created"]["id"] in seen["listed"]
    assert {"id", "status", "status_description", "created_at", "runner_job"} <= set(seen["fields"])
    assert len(seen["commit_sha"]) == 40
    assert seen["not_found"]["status"] == 404
    assert set(seen["not_found"]["body"]) == {"error", "user_error", "description"}
    finished = json.loads(later.stdout)
    assert (finished["status"], finished["runner_job_status"]) in (
        ("active", "finished"),
        ("error", "failed"),
    )
    # The one conflict between this older client and Nuon's current schema, which the mock follows (Nuon's
    # server sends the same): install_deploy_type is apply | sync-image | teardown now, and 0.19.216 only
    # knows release | install | teardown | plan-only. Every build without install deploys parses.
    parsed = json.loads(fixtures.stdout)
    assert {b["problem"] for b in parsed.values() if not b["deploys"]} == {None}
    assert {b["problem"] for b in parsed.values() if b["deploys"]} == {"install_deploy_type"}
