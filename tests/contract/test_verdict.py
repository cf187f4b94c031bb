"""Evidence, or no green: the verdict from per-operation evidence (pure), then each cause over real HTTP."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from buildmock.cli.main import main
from buildmock.contract.engine import Evidence
from buildmock.contract.verdict import judge, operations
from tests.process import serving

OPS = {"GET /things": set(), "GET /things/{id}": {"id"}, "POST /things": set()}


def _ev(codes: dict[int, int], checks: tuple[str, ...] = ()) -> Evidence:
    return Evidence(Counter(codes), set(checks))


def test_every_operation_verified_is_conclusive() -> None:
    ok = _ev({200: 3}, ("response_schema_conformance",))
    verdict = judge(OPS, dict.fromkeys(OPS, ok))
    assert not verdict.inconclusive and verdict.unverified == ()


@pytest.mark.parametrize(
    ("evidence", "budget", "cause"),
    [
        ({op: _ev({401: 9, 405: 2}) for op in OPS}, "", "credentials refused"),
        ({op: _ev({403: 9}) for op in OPS}, "", "credentials refused"),
        ({op: _ev({404: 20, 405: 1}) for op in OPS}, "", "wrong base URL"),
        ({op: _ev({400: 5, 404: 4}) for op in OPS}, "", "no test data"),
        ({"GET /things": _ev({200: 1}, ("status_code_conformance",))}, "--max-requests 5",
         "stopped early by --max-requests 5"),
        ({op: _ev({500: 1, 400: 2}) for op in OPS}, "", "too little verified: 3 of 3"),
        ({}, "", "no response"),
    ],
)  # fmt: skip
def test_inconclusive_causes(evidence: dict[str, Evidence], budget: str, cause: str) -> None:
    verdict = judge(OPS, evidence, budget=budget)
    assert verdict.inconclusive and cause in verdict.cause, verdict.cause


def test_a_request_budget_that_cut_the_run_short_is_inconclusive_even_with_everything_verified() -> (
    None
):
    ok = _ev({200: 3}, ("response_schema_conformance",))
    verdict = judge(OPS, dict.fromkeys(OPS, ok), budget="--max-requests 300", cut_short=True)
    assert verdict.cause == (
        "stopped early by --max-requests 300 before its phases finished (3 of 3 operations verified so far)"
    )
    assert not judge(OPS, dict.fromkeys(OPS, ok), budget="--max-time 5").inconclusive


def test_a_2xx_nobody_checked_is_not_evidence_and_half_verified_is_enough() -> None:
    unchecked = _ev({200: 4})
    checked = _ev({200: 1}, ("response_schema_conformance",))
    assert judge(OPS, dict.fromkeys(OPS, unchecked)).inconclusive
    two = {"GET /things": checked, "POST /things": checked, "GET /things/{id}": _ev({404: 3})}
    verdict = judge(OPS, two)
    assert not verdict.inconclusive and verdict.unverified == ("GET /things/{id}",)


def test_operations_know_their_path_parameters() -> None:
    spec = {
        "paths": {
            "/a/{x}": {"parameters": [{"$ref": "#/components/parameters/X"}], "get": {}, "post": {}}
        },
        "components": {"parameters": {"X": {"name": "x", "in": "path"}}},
    }
    assert operations(spec) == {"GET /a/{x}": {"x"}, "POST /a/{x}": {"x"}}


# --- the cases, over real HTTP against a real `buildmock serve` process --------------------


@pytest.fixture(scope="module")
def default_server() -> Iterator[str]:
    with serving("--api", "stainless", "--api", "nuon") as (base, _):
        yield base


@pytest.fixture(scope="module")
def token_server() -> Iterator[str]:
    with serving("--api", "stainless", "--token", "T0ken-right") as (base, _):
        yield base


def _contract(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], *argv: str
) -> tuple[int, dict, str]:
    code = main(
        ["contract", *argv, "--max-examples", "3", "--seed", "2", "-q", "--report", str(tmp_path)]
    )
    out, err = capsys.readouterr()
    return code, json.loads((tmp_path / "report.json").read_text()), out + err


def _stainless(
    base: str, tmp_path: Path, capsys: pytest.CaptureFixture[str], *argv: str
) -> tuple[int, dict, str]:
    return _contract(
        tmp_path, capsys, "--base-url", f"{base}/stainless", "--api", "stainless", *argv
    )


def test_wrong_credentials_are_inconclusive(
    token_server: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, report, out = _stainless(
        token_server, tmp_path, capsys, "-H", "Authorization: Bearer WRONG"
    )
    assert code == 3, out
    assert "INCONCLUSIVE: stainless: credentials refused" in out
    assert report["exit_code"] == 3 and report["apis"][0]["verified"] == 0


def test_no_credentials_at_all_are_inconclusive(
    token_server: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, out = _stainless(token_server, tmp_path, capsys)
    assert code == 3 and "credentials refused" in out, out


def test_wrong_base_url_is_inconclusive(
    default_server: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, out = _contract(tmp_path, capsys, "--base-url", f"{default_server}/wrongprefix",
                             "--api", "stainless", "-H", "Authorization: Bearer x")  # fmt: skip
    assert code == 3 and "wrong base URL? every response was 404" in out, out


def test_a_buildmock_root_is_a_usage_error_naming_the_api_url(
    default_server: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["contract", "--base-url", default_server, "--api", "stainless", "-q"])
    err = capsys.readouterr().err.strip()
    assert (
        code == 2
        and err.endswith(f"use --base-url {default_server}/stainless")
        and len(err.splitlines()) == 1
    )


NUON_ORG = "orgdf0nnt8u8ob9jefcazcou5q"  # the bundled fixtures' org (fixtures/nuon.yaml)


def test_an_org_without_data_is_inconclusive_and_set_path_reaches_real_ids(
    default_server: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    base = [
        "--base-url",
        f"{default_server}/nuon",
        "--api",
        "nuon",
        "-H",
        "Authorization: Bearer x",
    ]
    code, report, out = _contract(
        tmp_path, capsys, *base, "-H", "X-Nuon-Org-ID: orgaaaaaaaaaaaaaaaaaaaaaaa"
    )
    assert code == 3 and "no test data" in out, out
    assert report["apis"][0]["not_verified"], "most operations found nothing to check"
    component, app = "cmpwi146p6io410dd3uopq4chl", "apppqd0hj1dbp629dsg0lio445"
    code, report, out = _contract(
        tmp_path, capsys, *base, "-H", f"X-Nuon-Org-ID: {NUON_ORG}", "--set-path", f"component_id={component}",
        "--set-path", f"app_id={app}", "--set-query", f"component_id={component}",
    )  # fmt: skip
    assert code == 0, out
    assert report["apis"][0]["not_verified"] == []


def test_a_default_serve_reports_no_false_auth_drift(
    default_server: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, report, out = _stainless(
        default_server, tmp_path, capsys, "-H", "Authorization: Bearer anything"
    )
    assert code == 0, out
    assert not [f for f in report["findings"] if f["check"] == "ignored_auth"]
    assert "accepting any credential" in out and "buildmock serve --token T" in out
    assert "accepting any credential" in report["apis"][0]["notes"][0]
