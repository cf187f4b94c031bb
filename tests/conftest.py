"""Shared fixtures: in-process apps and clients for any vendor."""

from __future__ import annotations

import gc
import os
import random
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from starlette.testclient import TestClient

from buildmock.contract.engine import FULL_COLLECTION_EVERY, declare_frozen_heap
from buildmock.server import BuildMockApp, create_app
from buildmock.settings import Settings
from tests.cases import CASES, VendorCase
from tests.cases.base import TOKEN
from tests.fidelity.summary import (  # noqa: F401  (hooks: the fidelity summary, xdist-aware)
    pytest_sessionfinish,
    pytest_terminal_summary,
    pytest_testnodedown,
)

#: The headers a control API request needs in the apps :func:`make_app` builds.
CONTROL = {"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"}
#: A client's default headers for control calls that leave the vendor's own credentials untouched.
CONTROL_TOKEN = {"X-Buildmock-Token": TOKEN}


def pytest_configure(config: pytest.Config) -> None:
    """Draw the run's fresh test seed once, so every pytest-xdist worker collects the same seeded tests.

    The Pythons the run starts (xdist workers, ~60 ``buildmock serve``, ``st`` and pytest processes)
    may also write bytecode: with ``PYTHONDONTWRITEBYTECODE`` set, each of them compiled buildmock's
    sources again, and each pytest process re-rewrote the asserts of ~300 plugin modules (Schemathesis,
    Hypothesis, Faker, AnyIO: ~1.6 s of its ~2.4 s start). Only where bytecode is cached changes.
    """
    if not hasattr(
        config, "workerinput"
    ):  # the controller (or a run without workers); workers inherit it
        os.environ.setdefault("BUILDMOCK_TEST_SEED", str(random.SystemRandom().randrange(1 << 31)))
        os.environ.pop("PYTHONDONTWRITEBYTECODE", None)


def make_app(api: str | None = None, **overrides: Any) -> BuildMockApp:
    """An in-process mock with a manual clock and the test token unless told otherwise."""
    values: dict[str, Any] = {"clock": "manual", "token": TOKEN, "fixtures": None}
    if api is not None:
        values["apis"] = (api,)
    values.update(overrides)
    return create_app(Settings(**values))


@pytest.fixture
def app_factory() -> Callable[..., BuildMockApp]:
    """Build apps with :func:`make_app`."""
    return make_app


@pytest.fixture(params=sorted(CASES), ids=str)
def case(request: pytest.FixtureRequest) -> VendorCase:
    """Each vendor's test description, in turn."""
    return CASES[request.param]


@pytest.fixture
def client(case: VendorCase) -> Iterator[TestClient]:
    """A client of a fresh in-process mock serving only ``case``'s vendor."""
    with TestClient(make_app(case.name)) as c:
        yield c


def advance(client: TestClient, seconds: float) -> None:
    """Move the mock's manual clock through the control API."""
    response = client.post("/__buildmock/clock/advance", json={"seconds": seconds}, headers=CONTROL)
    assert response.status_code == 200, response.text


def pytest_collection_finish(session: pytest.Session) -> None:
    """Freeze the heap loaded for the run and collect it fully 10x less often (each xdist worker).

    The suite runs Schemathesis in process over and over; CPython's full collections would walk
    everything imported and collected each time (a contract run does the same, for the same reason:
    ``contract.engine.quiet_collector``). Only garbage collection timing changes, no test.
    """
    gc.freeze()
    declare_frozen_heap()  # so that runs do not walk the frozen heap to learn it
    young, middle, _ = gc.get_threshold()
    gc.set_threshold(young, middle, FULL_COLLECTION_EVERY)
