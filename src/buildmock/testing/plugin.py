"""The pytest plugin (entry point ``pytest11: buildmock``): fixtures, the ``buildmock`` marker, options.

Fixtures: ``buildmock`` (a :class:`~buildmock.testing.server.MockServer`, real HTTP on a free loopback
port), ``buildmock_app`` (the ASGI app, in-process) and ``buildmock_config`` (what both are made from).
One server and one app per distinct configuration for the whole session; each test gets it back in
the seeded initial state (a reset through the control API, or of the app's state in-process).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from typing import TYPE_CHECKING, Any

import pytest

from buildmock.contract.auth import MOCK_TOKEN
from buildmock.testing.config import ConfigError, MockConfig, layered

if TYPE_CHECKING:
    from buildmock.server import BuildMockApp
    from buildmock.testing.server import MockServer

MARKER = "buildmock"
_OPTIONS = "--buildmock-* options"
_GIVEN = pytest.StashKey[dict[str, Any]]()


def pytest_addoption(parser: pytest.Parser) -> None:
    """``--buildmock-*``: the defaults of every test's mock (a ``buildmock`` marker overrides them)."""
    group = parser.getgroup(
        "buildmock", "buildmock mock servers (fixtures buildmock, buildmock_app)"
    )
    group.addoption(
        "--buildmock-seed", type=int, metavar="N", help="seed of the mock's data (default 0)"
    )
    group.addoption(
        "--buildmock-clock",
        choices=("real", "manual"),
        help="manual (default): time stands still until buildmock.advance(); real: wall time",
    )
    group.addoption(
        "--buildmock-api",
        action="append",
        dest="buildmock_apis",
        metavar="NAME",
        help="serve only this vendor (repeatable; default every vendor)",
    )
    group.addoption(
        "--buildmock-speed", type=float, metavar="F", help="lifecycle speed factor (default 1)"
    )
    group.addoption(
        "--buildmock-token", metavar="T", help="accept only this credential (default any)"
    )
    group.addoption(
        "--buildmock-fixtures",
        metavar="DIR",
        help="directory of <vendor>.yaml fixtures, or 'none' (default: the bundled fixtures)",
    )
    group.addoption(
        "--buildmock-no-fast-path",
        action="store_true",
        default=None,
        help="deprecated, no effect (as serve --no-fast-path)",
    )


def pytest_configure(config: pytest.Config) -> None:
    """Register the marker and check the options once, before any test runs."""
    config.addinivalue_line(
        "markers",
        f"{MARKER}(seed=0, clock='manual', apis=[...], speed=1.0, token=None, fixtures=DIR|None, "
        "fast_path=True): configure the buildmock / buildmock_app fixtures of this test",
    )
    given = {
        "seed": config.getoption("buildmock_seed", None),
        "clock": config.getoption("buildmock_clock", None),
        "apis": config.getoption("buildmock_apis", None),
        "speed": config.getoption("buildmock_speed", None),
        "token": config.getoption("buildmock_token", None),
        "fixtures": config.getoption("buildmock_fixtures", None),
        "fast_path": False if config.getoption("buildmock_no_fast_path", None) else None,
    }
    options = {k: v for k, v in given.items() if v is not None}
    config.stash[_GIVEN] = options
    try:
        layered([(_OPTIONS, options)])
    except ConfigError as exc:
        raise pytest.UsageError(str(exc)) from None


#: Set on the test functions ``contract_tests`` makes (value: the API), to recognise their items.
CONTRACT_ATTR = "_buildmock_contract_api"
#: Set on the same functions: the header values they send (a set, filled as they run), never to be shown.
SECRETS_ATTR = "_buildmock_contract_secrets"


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    """A failed contract test's report: its explanation, or a short traceback, with its headers masked.

    Pytest's default report shows every frame's arguments (the generated case and its headers,
    cut to a length that can keep part of a secret) and ``-l`` their locals; a drift is explained
    by its message alone, anything else by a traceback without arguments or locals.
    """
    report = yield
    secrets = getattr(getattr(item, "test_function", None), SECRETS_ATTR, None)
    if secrets is None or not report.failed or call.excinfo is None:
        return report
    from buildmock.contract.redact import Redactor
    from buildmock.testing.contract import ContractDrift

    excinfo = call.excinfo
    if excinfo.errisinstance((ContractDrift, pytest.fail.Exception)):
        text = (
            f"{excinfo.typename}: {excinfo.value}"
            if excinfo.errisinstance(ContractDrift)
            else str(excinfo.value)
        )
    else:
        text = str(excinfo.getrepr(style="short", funcargs=False, showlocals=False))
    redactor = Redactor(secrets)
    report.longrepr = redactor.text(text)
    report.sections = [(title, redactor.text(body)) for title, body in report.sections]
    return report


def pytest_itemcollected(item: pytest.Item) -> None:
    """Give each contract test its operation in its node id, as Schemathesis names it.

    Schemathesis names an operation's test ``test_x[GET /v0/builds]``, but pytest 9.2 derives node
    ids from the original function name, which leaves every operation of a spec with the same id
    (one line in -v output and in JUnit reports, ``--lf`` and ``--deselect`` confused).
    """
    name, base = item.name, getattr(item, "originalname", "")
    node_id = getattr(item, "_id", None)
    if (
        getattr(getattr(item, "test_function", None), CONTRACT_ATTR, None) is None
        or item.nodeid.endswith("]")
        or not (name.startswith(f"{base}[") and name.endswith("]"))
        or not hasattr(node_id, "with_params")
        or item.parent is None
    ):
        return
    item._id = item.parent.id.child(base).with_params(name[len(base) + 1 : -1])


class Pool:
    """One server and one in-process app per distinct configuration, for the whole session."""

    def __init__(self) -> None:
        self.servers: dict[MockConfig, MockServer] = {}
        self.apps: dict[MockConfig, BuildMockApp] = {}

    def server(self, config: MockConfig) -> MockServer:
        """The running server for ``config``, started on first use."""
        if config not in self.servers:
            from buildmock.testing.server import MockServer

            self.servers[config] = MockServer(config)
        return self.servers[config]

    def app(self, config: MockConfig) -> BuildMockApp:
        """The in-process app for ``config``, built on first use."""
        if config not in self.apps:
            from buildmock.testing.server import build_app

            self.apps[config] = build_app(config)
        return self.apps[config]

    def close(self) -> None:
        """Stop every server."""
        for server in self.servers.values():
            server.close()
        self.servers.clear()
        self.apps.clear()


@pytest.fixture(scope="session")
def _buildmock_pool() -> Iterator[Pool]:
    """The session's servers and apps, one per configuration; stopped when the session ends."""
    pool = Pool()
    yield pool
    pool.close()


def _checked(make: Any, *args: Any) -> Any:
    """``make(*args)``, a :class:`ConfigError` failing the test's set-up with its message alone."""
    try:
        return make(*args)
    except ConfigError as exc:
        problem = str(exc)
    pytest.fail(problem, pytrace=False)


@pytest.fixture
def buildmock_config(request: pytest.FixtureRequest) -> MockConfig:
    """This test's mock configuration: defaults, ``--buildmock-*`` options, then ``buildmock`` markers."""
    layers: list[tuple[str, dict[str, Any]]] = [(_OPTIONS, request.config.stash[_GIVEN])]
    for marker in reversed(list(request.node.iter_markers(MARKER))):  # closest marker last: it wins
        if marker.args:
            pytest.fail(
                f"@pytest.mark.{MARKER} takes keywords only, not {marker.args!r}", pytrace=False
            )
        layers.append((f"@pytest.mark.{MARKER}", dict(marker.kwargs)))
    return _checked(layered, layers)


def _reset_server(pool: Pool, config: MockConfig) -> MockServer:
    server: MockServer = _checked(pool.server, config)
    server.reset()
    return server


@pytest.fixture
def buildmock(_buildmock_pool: Pool, buildmock_config: MockConfig) -> MockServer:
    """A running mock (real HTTP on loopback) in its seeded initial state: ``url(vendor)``, ``advance``…"""
    return _reset_server(_buildmock_pool, buildmock_config)


@pytest.fixture
def _buildmock_contract_server(_buildmock_pool: Pool, buildmock_config: MockConfig) -> MockServer:
    """The mock contract tests run against: this test's configuration with a token pinned.

    As with ``buildmock contract --mock``: a mock that accepts any credential would fail
    Schemathesis's ``ignored_auth`` check, which is right about it.
    """
    if buildmock_config.token is None:
        buildmock_config = replace(buildmock_config, token=MOCK_TOKEN)
    return _reset_server(_buildmock_pool, buildmock_config)


@pytest.fixture
def buildmock_app(_buildmock_pool: Pool, buildmock_config: MockConfig) -> BuildMockApp:
    """The mock as an ASGI app in its seeded initial state, for ``httpx.ASGITransport`` and the like."""
    app: BuildMockApp = _checked(_buildmock_pool.app, buildmock_config)
    app.mock.reset()
    return app
