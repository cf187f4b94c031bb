"""Contract tests from pytest: one test per operation, drift explained, read-only off loopback, secrets masked."""

from __future__ import annotations

import socket
import xml.etree.ElementTree as ET
from collections.abc import Iterator

import pytest

from buildmock.core import openapi
from buildmock.server.specfile import load_spec
from buildmock.settings import SPECS_DIR
from tests.cases import CASES
from tests.contract.servers import Drifted, Recorder, mock_app, on_json_200, serve
from tests.process import serving

pytest_plugins = ["pytester"]

#: A header value a user passes to a contract test; Schemathesis itself does not know it is secret.
TENANT = "acme-tenant-qz7xk9w"
HEADERS = {"Authorization": "Bearer sekret-token", "X-Tenant": TENANT}


def labels(api: str) -> list[str]:
    """Every operation of ``specs/<api>.yaml`` as ``METHOD /path``."""
    spec = load_spec(SPECS_DIR / f"{api}.yaml")
    return [f"{method.upper()} {path}" for path, method, _ in openapi.operations(spec)]


def test_one_test_per_operation_against_the_plugins_mock(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        test_user="""
        import pytest
        from buildmock.testing import contract_tests

        test_stainless = pytest.mark.buildmock(apis=["stainless"])(
            contract_tests("stainless", max_examples=3, seed=1)
        )
        """
    )
    result = pytester.runpytest_subprocess("-v", "-p", "no:cacheprovider", "--junitxml=junit.xml")
    operations = labels("stainless")
    result.assert_outcomes(passed=len(operations))
    result.stdout.fnmatch_lines_random([f"*test_stainless[[]{op}[]] PASSED*" for op in operations])
    junit = ET.parse(pytester.path / "junit.xml").getroot()
    names = sorted(case.get("name", "") for case in junit.iter("testcase"))
    assert names == sorted(f"test_stainless[{op}]" for op in operations)


def test_against_servers_drift_is_explained_and_the_runners_rules_hold(
    pytester: pytest.Pytester,
) -> None:
    """Drift (and strict drift) fails the user's test explained and masked; unreachable, budget."""
    drifting = Drifted(mock_app(token="sekret-token"), on_json_200(lambda d: d.update(data="no")))
    added = Drifted(mock_app(token="sekret-token"), on_json_200(lambda d: d.update(surprise=1)))
    with serve(drifting) as url, serve(added) as added_url, socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))  # bound, never listening: connections are refused
        down = f"http://127.0.0.1:{closed.getsockname()[1]}/stainless"
        pytester.makepyfile(
            test_user=f"""
            from buildmock.testing import contract_tests

            test_live = contract_tests(
                "stainless", base_url="{url}/stainless", headers={HEADERS!r},
                include_operations=["list_builds", "retrieve_build"], phases=["examples"],
            )
            test_down = contract_tests(
                "stainless", base_url="{down}", include_operations=["list_builds"], phases=["examples"],
            )
            test_strict = contract_tests(
                "stainless", base_url="{added_url}/stainless", headers={HEADERS!r}, strict=True,
                include_operations=["list_builds"], phases=["examples"],
            )
            test_lax = contract_tests(
                "stainless", base_url="{added_url}/stainless", headers={HEADERS!r},
                include_operations=["list_builds"], phases=["examples"],
            )
            test_bounded = contract_tests(
                "stainless", base_url="{url}/stainless", headers={HEADERS!r}, max_requests=1,
                include_operations=["retrieve_build", "retrieve_build_target_output"], phases=["examples"],
            )
            """
        )
        # -l: pytest shows every frame's locals too (the generated case and its headers among them).
        result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-rfs", "-l")
    result.assert_outcomes(passed=3, failed=3, skipped=1)
    result.stdout.fnmatch_lines(
        [
            "*  undocumented field (strict) (1)",
            "*    - $.surprise: spec says no properties beyond *; got {*surprise*: 1}",
            "*DRIFT: 1 finding (strict: response objects closed)",
        ]
    )
    result.stdout.fnmatch_lines(["SKIPPED [[]1[]] *: max_requests=1 reached: stopped early"])
    result.stdout.fnmatch_lines([f"*{down}: cannot reach 127.0.0.1:*"])
    result.stdout.fnmatch_lines(
        [
            "*ContractDrift: stainless (http://127.0.0.1:*/stainless): 1 scenarios, * finding*",
            "*stainless: GET /v0/builds",
            "*  type changed (1)",
            '*    - $.data: spec says type "array"; got string "no"',
            "*      curl -X GET *",
            "*DRIFT: 1 finding",
            "FAILED test_user.py::test_live[[]GET /v0/builds[]]*",
        ]
    )
    # Not even the tail of it (pytest cuts long argument reprs, which a full-value mask would miss).
    assert TENANT[-7:] not in result.stdout.str() + result.stderr.str()
    assert "sekret-token" not in result.stdout.str() + result.stderr.str()
    assert "[REDACTED]" in result.stdout.str()


def test_off_loopback_only_safe_methods_are_tested_or_sent(pytester: pytest.Pytester) -> None:
    remote, sandbox = (
        Recorder(mock_app(token="sekret-token")),
        Recorder(mock_app(token="sekret-token")),
    )
    with serve(remote) as remote_url, serve(sandbox) as sandbox_url:
        # Both count as remote hosts because the classifier says so (nothing leaves this machine).
        pytester.makepyfile(
            test_user=f"""
            from buildmock.testing import contract_tests

            test_remote = contract_tests(
                "stainless", base_url="{remote_url}/stainless", headers={HEADERS!r},
                classify_host=lambda host: False, phases=["examples", "coverage"], seed=1,
            )
            test_sandbox = contract_tests(
                "stainless", base_url="{sandbox_url}/stainless", headers={HEADERS!r},
                classify_host=lambda host: False, allow_writes=True, phases=["examples"],
            )
            """
        )
        result = pytester.runpytest_subprocess("-v", "-p", "no:cacheprovider")
    operations = labels("stainless")
    reads = [op for op in operations if op.startswith("GET ")]
    result.assert_outcomes(passed=len(reads) + len(operations))
    result.stdout.fnmatch_lines_random(
        [f"*test_remote[[]{op}[]] PASSED*" for op in reads]
        + [f"*test_sandbox[[]{op}[]] PASSED*" for op in operations]
    )
    assert "test_remote[POST" not in result.stdout.str()
    assert remote.seen, "nothing reached the read-only target"
    assert {method for method, _ in remote.seen} <= {"GET", "HEAD", "OPTIONS"}
    assert "POST" in {method for method, _ in sandbox.seen}


@pytest.fixture(scope="module")
def vendor_errors_server() -> Iterator[str]:
    """``serve --cocktail-errors vendor``, started outside any test's pytester (its module snapshot
    would drop what httpx imports on first use)."""
    with serving("--api", "cocktail", "--no-fixtures", "--cocktail-errors", "vendor") as (base, _):
        yield base


def test_error_status_judges_a_server_answering_failures_with_200(
    pytester: pytest.Pytester, vendor_errors_server: str
) -> None:
    """Against ``serve --cocktail-errors vendor``: the 200 mode's profile passes, the default one fails."""
    gateway = CASES["cocktail"].headers
    pytester.makepyfile(
        test_user=f"""
        import pytest
        from buildmock.contract.runner import ContractError
        from buildmock.testing import contract_tests

        common = dict(base_url="{vendor_errors_server}/cocktail", headers={gateway!r}, phases=["examples"],
                      seed=1, max_examples=2, include_operations=["get_build_run", "list_build_runs"])
        test_vendor_mode = contract_tests("cocktail", error_status=200, **common)
        test_default_profile = contract_tests("cocktail", **common)

        def test_no_mode_for_the_mock():
            with pytest.raises(ContractError, match="--error-status is for a server"):
                contract_tests("cocktail", error_status=200)
        """
    )
    result = pytester.runpytest_subprocess("-v", "-p", "no:cacheprovider")
    operations = ("GET /v1/build/run", "GET /v1/build/run/{buildSeq}")
    result.stdout.fnmatch_lines_random(
        [f"*test_vendor_mode[[]{op}[]] PASSED*" for op in operations]
        + ["*test_no_mode_for_the_mock PASSED*"]
    )
    result.stdout.fnmatch_lines(["*test_default_profile*FAILED*"])
