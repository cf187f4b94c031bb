"""``buildmock contract`` on the command line: targets, pass-through options, exit codes and reasons."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from buildmock.cli.main import build_parser, main
from buildmock.contract import ALL_PHASES
from tests.cases import CASES
from tests.contract.reports import assert_reports_parse


def test_mock_self_test_conforms(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main([
        "contract", "--api", "stainless", "--mock", "--phases", "examples,coverage,fuzzing,stateful",
        "--checks", "all", "--max-examples", "3", "--seed", "5", "--workers", "1", "--report", str(tmp_path),
    ])  # fmt: skip
    out, err = capsys.readouterr()
    assert code == 0, out + err
    assert "OK: the API conforms" in out
    assert "[stainless] phase examples" in err and "ok   GET /v0/builds" in err
    report = json.loads((tmp_path / "report.json").read_text())
    assert report["findings"] == [] and report["apis"][0]["target"] == "mock:stainless"
    assert "buildmock-contract-token" not in (tmp_path / "report.json").read_text() + out + err


def test_include_operation_and_quiet(capsys: pytest.CaptureFixture[str]) -> None:
    code = main([
        "contract", "--api", "stainless", "--mock", "--include-operation", "GET /v0/builds/{buildId}",
        "--include-operation", "list_builds", "--phases", "examples", "--max-examples", "2", "-q",
    ])  # fmt: skip
    out, err = capsys.readouterr()
    assert code == 0, out
    assert err == ""
    assert "stainless (mock:stainless" in out


@pytest.mark.parametrize(
    ("argv", "reason"),
    [
        (["contract", "--api", "stainless"], "give a target"),
        (["contract", "--mock", "--api", "nosuchvendor"], "no bundled mock"),
        (["contract", "--mock", "--api", "stainless", "-H", "no-colon"], "Name: value"),
        (
            ["contract", "--mock", "--api", "stainless", "--phases", "examples,warp"],
            "unknown phase",
        ),
        (["contract", "--mock", "--api", "stainless", "--rate-limit", "fast"], "--rate-limit"),
        (
            ["contract", "--mock", "--api", "stainless", "--include-operation", "nope"],
            "matches no operation",
        ),
        (["contract", "--base-url", "ftp://x.test", "--api", "stainless"], "http(s) URL"),
        (["contract", "--base-url", "http://127.0.0.1:9/", "--api", "stainless"], "cannot reach"),
        (["contract", "--mock", "--api", "stainless", "--checks", "ignored_auht"],
         "unknown check 'ignored_auht' (known: all, allow_header_conformance,"),
        (["contract", "--mock", "--api", "stainless", "--set-path", "nope=1"],
         "--set-path nope: stainless has no path parameter of that name (buildId)"),
        (["contract", "--mock", "--api", "stainless", "--set-path", "novalue"], "expected NAME=VALUE"),
        (["contract", "--mock", "--api", "stainless", "--workers", "0"], "must be at least 1"),
        (["contract", "--mock", "--jobs", "0"], "must be at least 1"),
        (["contract", "--mock", "--api", "stainless", "--report", __file__], "exists and is not a directory"),
        (["contract", "--mock", "--api", "stainless", "--report", f"{__file__}/sub"], "Not a directory"),
    ],
)  # fmt: skip
def test_usage_errors_exit_2_with_one_line(
    argv: list[str], reason: str, capsys: pytest.CaptureFixture[str]
) -> None:
    try:
        code = main(argv)
    except SystemExit as exc:  # argparse's own checks (types, exclusive options)
        code = int(str(exc.code))
    assert code == 2
    err = capsys.readouterr().err.strip()
    assert reason in err
    assert len(err.splitlines()) == 1 and err.startswith("buildmock: error: ")


def test_mock_and_base_url_are_exclusive(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["contract", "--mock", "--base-url", "http://127.0.0.1:1"])
    assert exc.value.code == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "not allowed with argument" in err


def test_help_lists_the_pass_through_options() -> None:
    text = build_parser()._subparsers._group_actions[0].choices["contract"].format_help()  # type: ignore[union-attr]
    for option in ("--mock", "--base-url", "--api", "--checks", "--phases", "--max-examples", "--seed", "--workers",
                   "--jobs", "--max-time", "--header", "--include-operation", "--strict", "--allow-writes",
                   "--max-requests", "--rate-limit", "--report",
                   "--set-path", "--set-query", "--set-header"):  # fmt: skip
        assert option in text


@pytest.mark.parametrize("name", sorted(CASES))
def test_every_vendor_s_reports_parse_and_workers_work(
    name: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """One small run per vendor, two Schemathesis workers, every phase: no errors, and every report parses.

    Cocktail's own mock headers (user-id: 1) and a user's -H 'X-Team: 1' leave every report parseable.
    """
    code = main([
        "contract", "--mock", "--api", name, "--report", str(tmp_path), "-H", "X-Team: 1", "--workers", "2",
        "--max-examples", "2", "--seed", "6", "-q",
    ])  # fmt: skip
    out = capsys.readouterr().out
    assert code in (0, 3), out  # a tiny run may verify too little; it never drifts or breaks
    junit, report = assert_reports_parse(tmp_path)
    assert report["exit_code"] == code and report["findings"] == []
    assert report["apis"][0]["errors"] == [], out  # was "Runtime Error" / "Inconsistent results"
    # One test case per operation and phase; every operation of the spec shows up.
    cases = junit.findall(".//testcase")
    api = report["apis"][0]
    assert len(cases) == sum(max(len(op["phases"]), 1) for op in api["operations"])
    spec_ops = {op["operation"] for op in api["operations"]}
    assert {c.get("name") for c in cases} == spec_ops
    assert {c.get("classname") for c in cases} <= {f"{name}.{phase}" for phase in ALL_PHASES} | {
        name
    }
    # Each operation reports its responses by status class and the checks that judged a success body.
    for op in api["operations"]:
        assert op["verified"] == bool(op["success_checks"]) and sum(op["statuses"].values()) > 0, op
        assert (op["operation"] in api["not_verified"]) != op["verified"]
    skipped = [c for c in cases if c.find("skipped") is not None]
    assert all("not verified" in str(c.find("skipped").get("message")) for c in skipped)  # type: ignore[union-attr]


def test_piped_output_never_hangs(tmp_path: Path) -> None:
    """``… 2>&1 | head -3``: the run finishes, the exit code still tells, no traceback."""
    buildmock = Path(sys.executable).with_name("buildmock")
    script = (
        f"'{buildmock}' contract --mock --api cocktail --max-examples 2 --seed 1 2>&1 | head -3; "
        'echo "rc=${PIPESTATUS[0]}"'
    )
    done = subprocess.run(["bash", "-c", script], capture_output=True, text=True, timeout=300)
    lines = done.stdout.splitlines()
    assert len(lines) == 4 and lines[-1] in ("rc=0", "rc=3"), done.stdout + done.stderr
    assert "Traceback" not in done.stdout + done.stderr


def test_unknown_check_in_a_fresh_process_lists_every_known_check() -> None:
    """In a fresh interpreter too (the OpenAPI checks register on import): one line, exit 2, all names."""
    buildmock = Path(sys.executable).with_name("buildmock")
    done = subprocess.run([str(buildmock), "contract", "--mock", "--api", "stainless", "--checks", "ignored_auht"],
                          capture_output=True, text=True, timeout=120)  # fmt: skip
    assert done.returncode == 2 and len(done.stderr.strip().splitlines()) == 1, done.stderr
    for name in ("ignored_auth", "response_schema_conformance", "positive_data_acceptance"):
        assert name in done.stderr
