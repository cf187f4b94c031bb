"""Deliberately drifted servers over real HTTP: each drift kind is reported with its category, exit code 1."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from buildmock.cli.main import main
from buildmock.contract.redact import encodings
from tests.contract.reports import assert_reports_parse
from tests.contract.servers import Drifted, Mutation, mock_app, on_200, on_json_200, serve

TOKEN = "drift-s3cret-token-0451"
ORG = "org-s3cret-9931"


def _set(key: str, value: Any) -> Callable[[dict[str, Any]], None]:
    return lambda body: body.__setitem__(key, value)


def _each_build(key: str, value: Any) -> Callable[[dict[str, Any]], None]:
    def change(body: dict[str, Any]) -> None:
        for build in body["data"]:
            build[key] = value

    return change


#: kind -> (mutation of GET /v0/builds 200 responses, expected JSON path or None, needs --strict)
VARIANTS: dict[str, tuple[Mutation, str | None, bool]] = {
    "type_changed": (on_json_200(_set("data", "no")), "$.data", False),
    "required_missing": (on_json_200(lambda body: body.pop("data")), "$.data", False),
    "enum_mismatch": (on_json_200(_each_build("object", "bundle")), "$.data[0].object", False),
    "undocumented_status": (on_200(status_to=418), None, False),
    "undocumented_content_type": (on_200(ctype_to="text/html"), None, False),
    "null_not_nullable": (on_json_200(_set("data", None)), "$.data", False),
    "undocumented_field": (
        on_json_200(_each_build("surprise", {"added": True})),
        "$.data[0].surprise",
        True,
    ),
    "server_error": (on_200(status_to=500, body_to=b'{"error": "boom"}'), None, False),
}


def contract(url: str, report: Path, *extra: str) -> int:
    """``buildmock contract`` against the Stainless API at ``url``, only ``GET /v0/builds``, kept small."""
    return main([
        "contract", "--api", "stainless", "--base-url", f"{url}/stainless", "--include-operation", "list_builds",
        "--phases", "examples,fuzzing", "--max-examples", "5", "--seed", "7",
        "-H", f"Authorization: Bearer {TOKEN}", "-H", f"X-Org-ID: {ORG}", "--report", str(report), "-q", *extra,
    ])  # fmt: skip


def assert_no_secrets(report: Path, *texts: str) -> None:
    files = sorted(report.iterdir())
    assert {p.name for p in files} == {"junit.xml", "report.json", "report.html"}
    for text in [p.read_text() for p in files] + list(texts):
        assert TOKEN not in text and ORG not in text


@pytest.mark.parametrize("kind", sorted(VARIANTS))
def test_each_drift_kind_is_reported(
    kind: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    mutate, path, strict = VARIANTS[kind]
    with serve(Drifted(mock_app(token=TOKEN), mutate)) as url:
        code = contract(url, tmp_path, *(["--strict"] if strict else []))
    out, err = capsys.readouterr()
    report = json.loads((tmp_path / "report.json").read_text())
    kinds = {f["kind"] for f in report["findings"]}
    assert code == 1, out + err
    assert report["exit_code"] == 1
    assert kind in kinds, (kinds, out)
    found = [f for f in report["findings"] if f["kind"] == kind]
    assert all(f["operation"] == "GET /v0/builds" and f["api"] == "stainless" for f in found)
    assert all(f["curl"].startswith("curl ") and "/stainless/v0/builds" in f["curl"] for f in found)
    assert all(f["expected"] and f["actual"] for f in found), found
    if path is not None:
        assert path in {f["path"] for f in found}, found
    # The human summary groups by operation, then kind, with the path and a curl line.
    assert "GET /v0/builds" in out and "curl " in out
    assert_no_secrets(tmp_path, out, err)
    junit = (tmp_path / "junit.xml").read_text()
    assert f'type="{kind}"' in junit


def test_added_field_passes_without_strict(tmp_path: Path) -> None:
    mutate, _, _ = VARIANTS["undocumented_field"]
    with serve(Drifted(mock_app(token=TOKEN), mutate)) as url:
        code = contract(url, tmp_path)
    assert code == 0
    assert json.loads((tmp_path / "report.json").read_text())["findings"] == []


def test_faithful_server_conforms(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The real mock over HTTP, every check and phase: exit 0 and an empty report."""
    with serve(mock_app(token=TOKEN, fixtures=False)) as url:
        code = main([
            "contract", "--api", "stainless", "--base-url", f"{url}/stainless", "--max-examples", "5",
            "--seed", "3", "-H", f"Authorization: Bearer {TOKEN}", "-H", f"X-Org-ID: {ORG}",
            "--report", str(tmp_path), "--strict",
        ])  # fmt: skip
    out, err = capsys.readouterr()
    report = json.loads((tmp_path / "report.json").read_text())
    assert code == 0, out
    assert report["findings"] == [] and report["exit_code"] == 0
    assert report["apis"][0]["scenarios"] > 0 and report["apis"][0]["errors"] == []
    assert "[stainless] phase stateful" in err  # progress was shown
    assert_no_secrets(tmp_path, out, err)


QUOTED = "it's-s3cret/9&x"


def test_headers_are_masked_in_every_encoding_and_reports_still_parse(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """-H values with a quote and a one-character value: masked in curl lines, nothing else touched."""
    mutate, _, _ = VARIANTS["type_changed"]
    with serve(Drifted(mock_app(token=TOKEN), mutate)) as url:
        code = contract(url, tmp_path, "-H", f"X-Quote: {QUOTED}", "-H", "X-Team: 1")
    out, err = capsys.readouterr()
    assert code == 1, out + err
    _, report = assert_reports_parse(tmp_path)
    forms = encodings(QUOTED)
    assert {"it'\"'\"'s-s3cret/9&x", "it%27s-s3cret%2F9%26x"} <= forms
    texts = [p.read_text() for p in tmp_path.iterdir()] + [out, err]
    for text in texts:
        assert not [form for form in forms if form in text]
    curls = [f["curl"] for f in report["findings"]]
    assert curls and all(
        "'X-Team: [REDACTED]'" in c and "'X-Quote: [REDACTED]'" in c for c in curls
    ), curls
    assert_no_secrets(tmp_path, out, err)
