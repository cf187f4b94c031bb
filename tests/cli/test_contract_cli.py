"""``buildmock contract`` on the command line: targets, pass-through options, exit codes and reasons."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from buildmock.cli.main import build_parser, main


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
    ],
)
def test_usage_errors_exit_2_with_one_line(
    argv: list[str], reason: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert reason in err
    assert len(err.splitlines()) == 1 and err.startswith("buildmock: error: ")


def test_mock_and_base_url_are_exclusive(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["contract", "--mock", "--base-url", "http://127.0.0.1:1"])
    assert exc.value.code == 2


def test_help_lists_the_pass_through_options() -> None:
    text = build_parser()._subparsers._group_actions[0].choices["contract"].format_help()  # type: ignore[union-attr]
    for option in ("--mock", "--base-url", "--api", "--checks", "--phases", "--max-examples", "--seed", "--workers",
                   "--max-time", "--header", "--include-operation", "--strict", "--allow-writes", "--max-requests",
                   "--rate-limit", "--report"):  # fmt: skip
        assert option in text
