"""Stainless's own TypeScript SDK, pointed at the mock's base URL, works unchanged."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

from tests.process import serving

ROOT = Path(__file__).resolve().parents[2]
WORK = ROOT / ".work" / "stainless-sdk"
SDK = "@stainless-api/sdk@0.5.0"


def _install() -> Path:
    """Install the SDK once into .work/ (npm registry); later runs reuse it."""
    npm = shutil.which("npm")
    assert npm, "npm is needed for the vendor SDK test (Node.js is part of the test set-up)"
    if not (WORK / "node_modules" / "@stainless-api" / "sdk").is_dir():
        WORK.mkdir(parents=True, exist_ok=True)
        (WORK / "package.json").write_text(
            '{"name": "sdk-check", "private": true, "type": "module"}'
        )
        subprocess.run(
            [npm, "install", "--silent", "--no-audit", "--no-fund", SDK],
            cwd=WORK,
            check=True,
            timeout=300,
        )
    script = WORK / "stainless_sdk.mjs"
    shutil.copy(Path(__file__).with_name("stainless_sdk.mjs"), script)
    return script


def test_vendor_sdk_round_trip() -> None:
    script = _install()
    with serving("--api", "stainless", "--clock", "manual", "--no-fixtures") as (base, _):
        run = subprocess.run(
            ["node", str(script), f"{base}/stainless"], capture_output=True, text=True, timeout=120
        )
    assert run.returncode == 0, run.stderr
    seen = json.loads(run.stdout)
    assert seen["created"]["object"] == "build"
    assert seen["created"]["targets"] == ["go", "python"]
    assert seen["retrievedSame"] is True
    assert (
        len(seen["listed"]) == 4 and len(set(seen["listed"])) == 4
    )  # paged 2 at a time, newest first
    assert seen["listed"][-1] == seen["created"]["id"]
    assert seen["compared"] == ["build", "build"]
    assert all(level in ("fatal", "error", "warning", "note") for level in seen["diagnostics"])
    done = seen["done"]  # read in the SDK's current shape: conclusions at the steps' top level
    assert done["commit"] == done["lint"] == "success" and len(done["sha"]) == 40
    assert done["url"].startswith("https://github.com/")
    assert seen["output"] == {"output": "url", "target": "python"}
    assert seen["ai"] == ["sql"]
    assert seen["notFound"]["name"] == "NotFoundError" and seen["notFound"]["status"] == 404
    assert "error" in seen["notFound"]["body"]
    assert seen["unauthorized"]["status"] == 401
