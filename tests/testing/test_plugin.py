"""The pytest plugin as a user meets it: a user's test file run by pytest (``pytester``, in a subprocess)."""

from __future__ import annotations

import pytest

pytest_plugins = ["pytester"]

USER_SUITE = """
import httpx
import pytest

from buildmock.testing import MockConfig

pytestmark = pytest.mark.buildmock(seed=5)  # every test here, unless a closer marker says otherwise
SEEN = {}
BUILD = {"project": "acme-api", "revision": "main"}


def create(server):
    response = httpx.post(
        server.url("stainless") + "/v0/builds", headers=server.headers("stainless"), json=BUILD
    )
    assert response.status_code == 200, response.text
    return response.json()


def test_a_real_server_on_loopback(buildmock):
    assert buildmock.base_url.startswith("http://127.0.0.1:")
    assert buildmock.url("stainless") == buildmock.base_url + "/stainless"
    assert buildmock.health()["status"] == "ok"
    assert buildmock.control("GET", "health") == buildmock.health()
    SEEN["server"] = buildmock.base_url
    SEEN["seeded"] = buildmock.state()["vendors"]
    SEEN["first id"] = create(buildmock)["id"]
    assert buildmock.state()["vendors"] != SEEN["seeded"]


def test_the_next_test_gets_the_same_server_in_its_seeded_state(buildmock):
    assert buildmock.base_url == SEEN["server"]
    assert buildmock.state()["vendors"] == SEEN["seeded"]
    assert create(buildmock)["id"] == SEEN["first id"]


def test_the_manual_clock_moves_when_told(buildmock):
    start = buildmock.state()["clock"]
    assert start == {"mode": "manual", "now": 1735689600.0, "iso": "2025-01-01T00:00:00.000Z"}
    assert buildmock.advance(90) == 1735689690.0
    build = create(buildmock)
    assert build["created_at"] == "2025-01-01T00:01:30.000Z"
    buildmock.reset()
    assert buildmock.state()["clock"] == start


@pytest.mark.buildmock(seed=7, apis=["stainless"])
def test_a_marker_gets_its_own_server(buildmock, buildmock_config):
    assert buildmock_config == MockConfig(seed=7, apis=("stainless",))
    assert buildmock.base_url != SEEN["server"]
    assert buildmock.apis == ["stainless"]
    assert create(buildmock)["id"] != SEEN["first id"]
    with pytest.raises(Exception, match="'vela' is not served here"):
        buildmock.url("vela")


@pytest.mark.buildmock(clock="real", speed=60.0, apis="cocktail")
def test_real_clock_and_speed(buildmock):
    assert buildmock.config.clock == "real" and buildmock.config.speed == 60.0
    assert buildmock.state()["clock"]["mode"] == "real"
    assert buildmock.apis == ["cocktail"]


@pytest.mark.buildmock(apis=["escape"])
def test_markers_merge_closest_last(buildmock_config):
    assert (buildmock_config.seed, buildmock_config.apis) == (5, ("escape",))


@pytest.mark.anyio
@pytest.mark.parametrize("anyio_backend", ["asyncio"])
async def test_the_app_in_process(buildmock_app, anyio_backend):
    transport = httpx.ASGITransport(app=buildmock_app)
    async with httpx.AsyncClient(transport=transport, base_url="http://mock") as client:
        created = await client.post(
            "/stainless/v0/builds", headers={"Authorization": "Bearer x"}, json=BUILD
        )
        assert created.status_code == 200, created.text
        advanced = await client.post("/__buildmock/clock/advance", json={"seconds": 5})
        assert advanced.json()["iso"] == "2025-01-01T00:00:05.000Z"
    SEEN["app"] = buildmock_app


@pytest.mark.anyio
@pytest.mark.parametrize("anyio_backend", ["asyncio"])
async def test_the_app_is_shared_and_reset(buildmock_app, anyio_backend):
    assert buildmock_app is SEEN["app"]
    assert buildmock_app.mock.clock.now() == 1735689600.0
"""

OPTIONS_SUITE = """
import httpx
import pytest

from buildmock.testing import MockConfig


def test_options_configure_the_mock(buildmock, buildmock_config):
    assert buildmock_config == MockConfig(
        seed=3, apis=("stainless",), token="sekret", speed=2.0, fixtures=None, clock="real",
        fast_path=False,
    )
    url = buildmock.url("stainless") + "/v0/builds?project=acme-api"
    assert httpx.get(url, headers={"Authorization": "Bearer other"}).status_code == 401
    listed = httpx.get(url, headers=buildmock.headers("stainless"))
    assert listed.status_code == 200 and listed.json()["data"] == []  # no fixtures
    assert buildmock.state()["clock"]["mode"] == "real"


@pytest.mark.buildmock(seed=9, token=None)
def test_a_marker_beats_an_option(buildmock_config):
    assert (buildmock_config.seed, buildmock_config.token, buildmock_config.speed) == (9, None, 2.0)
"""


def test_a_users_suite_uses_every_fixture_and_the_marker(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_user=USER_SUITE)
    result = pytester.runpytest_subprocess("-v", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=8)


def test_command_line_options_configure_the_mock(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_options=OPTIONS_SUITE)
    result = pytester.runpytest_subprocess(
        "-p", "no:cacheprovider", "--buildmock-seed", "3", "--buildmock-api", "stainless",
        "--buildmock-token", "sekret", "--buildmock-speed", "2", "--buildmock-fixtures", "none",
        "--buildmock-clock", "real", "--buildmock-no-fast-path",
    )  # fmt: skip
    result.assert_outcomes(passed=2)


def test_bad_configuration_is_reported_not_crashed(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        test_bad="""
        import pytest
        from buildmock.testing import contract_tests

        @pytest.mark.buildmock(sed=1)
        def test_typo(buildmock):
            pass

        @pytest.mark.buildmock(apis=["nope"])
        def test_unknown_vendor(buildmock):
            pass

        @pytest.mark.buildmock(speed=-1)
        def test_bad_speed(buildmock_app):
            pass

        @pytest.mark.buildmock("stainless")
        def test_positional(buildmock):
            pass

        test_contract = pytest.mark.buildmock(apis=["vela"])(
            contract_tests("stainless", include_operations=["list_builds"])
        )
        """
    )
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(errors=4, failed=1)
    result.stdout.fnmatch_lines_random(
        [
            "*@pytest.mark.buildmock: unknown option 'sed' (known: apis, clock, fast_path, *",
            "*@pytest.mark.buildmock: unknown vendor 'nope' in apis (available: cocktail, *stainless*",
            "*@pytest.mark.buildmock: speed must be a positive number, not -1*",
            "*@pytest.mark.buildmock takes keywords only*",
            "*buildmock: 'stainless' is not served here (serving: vela); check the buildmock marker*",
        ]
    )
    assert "BUILDMOCK_APIS" not in result.stdout.str(), "a marker's error names the marker"


def test_a_bad_option_is_a_usage_error(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_nothing="def test_nothing():\n    pass\n")
    result = pytester.runpytest_subprocess("--buildmock-fixtures", "/nonexistent/fixtures")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*--buildmock-* options: fixtures must be a directory*"])
    unknown = pytester.runpytest_subprocess(
        "--buildmock-api", "stainless", "--buildmock-api", "nope"
    )
    assert unknown.ret == pytest.ExitCode.USAGE_ERROR
    unknown.stderr.fnmatch_lines(
        ["*--buildmock-* options: unknown vendor 'nope' in apis (available: *)"]
    )
