"""Testing code that drives Stainless builds, against the buildmock server the plugin starts.

Nothing to start by hand: the ``buildmock`` fixture is a real HTTP server on a free loopback port,
shared by every test with the same configuration and reset to its seeded state before each test.
The clock is manual, so a build moves only when the test says so.
"""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from buildmock.testing import MockServer

# Every test in this module: only the Stainless API, seed 42 (same ids and data on every run).
pytestmark = pytest.mark.buildmock(apis=["stainless"], seed=42)

BUILD = {"project": "acme-api", "revision": "main", "targets": ["python", "go"]}


@pytest.fixture
def stainless(buildmock: MockServer) -> Iterator[httpx.Client]:
    """A client of the Stainless mock, with credentials it accepts."""
    with httpx.Client(
        base_url=buildmock.url("stainless"), headers=buildmock.headers("stainless")
    ) as client:
        yield client


def conclusions(build: dict) -> set[str]:
    """Every step conclusion of a finished build."""
    return {
        target[step]["completed"]["conclusion"]
        for target in build["targets"].values()
        for step in ("commit", "lint", "build", "test")
    }


def test_a_build_runs_to_completion(buildmock: MockServer, stainless: httpx.Client) -> None:
    # The outcome is drawn from the seed unless the request asks for one (as with Prism).
    build = stainless.post("/v0/builds", json=BUILD, headers={"Prefer": "outcome=success"}).json()
    assert {t["status"] for t in build["targets"].values()} != {"completed"}

    buildmock.advance(600)  # ten minutes later, without waiting

    done = stainless.get(f"/v0/builds/{build['id']}").json()
    assert {t["status"] for t in done["targets"].values()} == {"completed"}
    assert conclusions(done) == {"success"}


def test_a_forced_failure(buildmock: MockServer, stainless: httpx.Client) -> None:
    build = stainless.post("/v0/builds", json=BUILD, headers={"Prefer": "outcome=failure"}).json()
    buildmock.advance(600)
    done = stainless.get(f"/v0/builds/{build['id']}").json()
    assert conclusions(done) != {"success"}


def test_each_test_starts_from_the_seeded_state(
    buildmock: MockServer, stainless: httpx.Client
) -> None:
    seeded = buildmock.state()["vendors"]["stainless"]
    first = stainless.post("/v0/builds", json=BUILD).json()
    assert buildmock.state()["vendors"]["stainless"] != seeded

    buildmock.reset()  # what the fixture does before every test

    assert buildmock.state()["vendors"]["stainless"] == seeded
    again = stainless.post("/v0/builds", json=BUILD).json()
    assert again["id"] == first["id"]  # same seed, same requests: same ids


@pytest.mark.buildmock(seed=7)  # closer than the module's marker: this test gets its own server
def test_the_closest_marker_wins(buildmock: MockServer, stainless: httpx.Client) -> None:
    assert buildmock.config.seed == 7
    assert buildmock.apis == ["stainless"]
