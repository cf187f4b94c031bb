"""The examples/ suite a user can copy runs green with pytest, as a user would run it."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_the_examples_pass() -> None:
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "examples",
            "-v",
            "-p",
            "no:cacheprovider",
            "--durations=0",
            # One process, as in a user's project without this repository's ``-n 2`` (pyproject addopts),
            # so the per-test lines below read as a user sees them.
            "-n",
            "0",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        # The live contract test runs only when a user has a key; this run stays on loopback.
        env={k: v for k, v in os.environ.items() if k != "STAINLESS_API_KEY"},
    )
    assert result.returncode == 0, result.stdout[-5000:] + result.stderr[-2000:]
    assert re.search(r"^=+ 12 passed", result.stdout, re.MULTILINE), result.stdout[-2000:]
    assert "test_stainless_mock[GET /v0/builds] PASSED" in result.stdout


def test_the_faults_tour_shows_every_fault_on_every_vendor() -> None:
    result = subprocess.run(
        [sys.executable, "examples/faults_tour.py"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout[-5000:] + result.stderr[-2000:]
    out = result.stdout
    assert "every fault had its effect" in out
    assert out.count("429 Retry-After: 30") == 5
    assert out.count("ReadError") == 5 and out.count("illegal chunk header") == 5
    assert out.count("without sending complete message body") == 5
    assert out.count('{"matched":true,"count":2,"expected":2}') == 2
    assert "['scenario:tour-429', 'fault=429, retry-after=5']" in out
