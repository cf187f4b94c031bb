"""Contract profiles per error mode: a target answering failures with 200 (Cocktail's server) is judged
with its spec's mode for that status; every other target, the default mock included, with all checks."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from schemathesis.config import SchemathesisConfig
from starlette.testclient import TestClient

from buildmock.cli.main import main
from buildmock.contract import runner
from buildmock.contract.engine import (
    error_modes,
    execute,
    load_asgi,
    make_config,
    spec_profile,
)
from buildmock.contract.runner import ContractError, ContractOptions, run_contract
from buildmock.contract.target import find_buildmock
from buildmock.server.specfile import load_spec
from buildmock.settings import SPECS_DIR
from tests.cases import CASES
from tests.conftest import make_app
from tests.process import serving

#: The checks Cocktail's 200 mode loosens: by the HTTP status alone they cannot judge a 200 error.
LOOSENED = ("ignored_auth", "unsupported_method", "use_after_free")
GATEWAY = CASES["cocktail"].headers


def _spec(name: str = "cocktail") -> dict[str, Any]:
    return load_spec(SPECS_DIR / f"{name}.yaml")


def _strict(config: SchemathesisConfig) -> bool:
    """Whether the config runs every check Cocktail's 200 mode loosens, and rejects with a 4xx only."""
    checks = config.projects.default.checks
    return (
        all(getattr(checks, name).enabled for name in LOOSENED)
        and "200" not in checks.negative_data_rejection.expected_statuses
        and "200" not in checks.missing_required_header.expected_statuses
    )


def test_only_cocktail_has_a_mode_and_it_is_for_200() -> None:
    assert {p.stem: error_modes(_spec(p.stem)) for p in SPECS_DIR.glob("*.yaml")} == {
        "cocktail": [200], "escape": [], "nuon": [], "stainless": [], "vela": [],
    }  # fmt: skip


@pytest.mark.parametrize("error_status", [None, 400, 500])
def test_the_200_mode_applies_to_no_other_error_status(error_status: int | None) -> None:
    profile = spec_profile(_spec(), error_status)
    assert profile == spec_profile(_spec())
    assert _strict(make_config(extra=profile))


def test_the_200_mode_loosens_the_status_checks() -> None:
    config = make_config(extra=spec_profile(_spec(), 200))
    checks = config.projects.default.checks
    assert not any(getattr(checks, name).enabled for name in LOOSENED)
    assert "200" in checks.negative_data_rejection.expected_statuses


def test_a_mode_adds_to_the_base_profile() -> None:
    base = {
        "include-operation-id": ["a"],
        "checks": {"positive_data_acceptance": {"enabled": False}},
    }
    extra = {"include-operation-id": ["b"], "checks": {"use_after_free": {"enabled": False}}}
    spec = {
        "x-buildmock-contract": {
            "schemathesis": {"operations": [base], "checks": {"ignored_auth": {"enabled": False}}},
            "modes": [
                {"when": {"error-status": 200}, "schemathesis": {"operations": [extra]}},
                {"when": {"error-status": 299}, "schemathesis": {"seed": 1}},
            ],
        }
    }
    assert spec_profile(spec, 200) == {
        "operations": [base, extra], "checks": {"ignored_auth": {"enabled": False}},
    }  # fmt: skip
    assert (
        spec_profile(spec)
        == spec_profile(spec, 404)
        == spec["x-buildmock-contract"]["schemathesis"]
    )
    assert spec_profile(spec)["operations"] == [base]  # the spec itself is left alone


@pytest.mark.parametrize(("mode", "health"), [("http", None), ("vendor", {"cocktail": 200})])
def test_health_says_which_apis_answer_failures_with_one_status(
    mode: str, health: dict[str, int] | None
) -> None:
    with TestClient(make_app("cocktail", options={"cocktail_errors": mode})) as c:
        body = c.get("/__buildmock/health").json()
    assert body.get("error_status") == health


def test_default_profile_has_teeth_against_a_target_answering_failures_with_200() -> None:
    """The strict profile is strict: it fails the vendor mode, which is why that mode has its own."""
    app = make_app("cocktail", clock="real", speed=60.0, options={"cocktail_errors": "vendor"})
    config = make_config(
        phases=("examples", "coverage"), max_examples=3, seed=4321, headers=GATEWAY,
        extra=spec_profile(_spec()),
    )  # fmt: skip
    result = execute(load_asgi(app, "cocktail", config))
    failed = {f.check for f in result.findings}
    assert failed & {"negative_data_rejection", "missing_required_header", "unsupported_method"}


@pytest.fixture
def configs(monkeypatch: pytest.MonkeyPatch) -> list[SchemathesisConfig]:
    """Every Schemathesis config a ``run_contract`` builds in this test."""
    made: list[SchemathesisConfig] = []
    real = runner._config

    def spy(*args: Any, **kwargs: Any) -> SchemathesisConfig:
        made.append(real(*args, **kwargs))
        return made[-1]

    monkeypatch.setattr(runner, "_config", spy)
    return made


def _options(**kwargs: Any) -> ContractOptions:
    values: dict[str, Any] = {
        "apis": ("cocktail",), "phases": ("examples",), "max_examples": 2, "seed": 7,
        "headers": tuple(GATEWAY.items()), **kwargs,
    }  # fmt: skip
    return ContractOptions(**values)


def test_the_mock_run_uses_the_strict_profile(configs: list[SchemathesisConfig]) -> None:
    report = run_contract(_options(mock=True), progress=None)
    assert report.exit_code == 0, report.reason
    assert len(configs) == 1 and _strict(configs[0])
    assert not report.notes


def test_error_status_is_refused_where_it_cannot_apply() -> None:
    with pytest.raises(ContractError, match="--error-status is for a server"):
        run_contract(_options(mock=True, error_status=200), progress=None)
    stainless = ContractOptions(
        apis=("stainless",), base_url="http://127.0.0.1:9", error_status=200
    )
    with pytest.raises(
        ContractError, match=r"no tested spec has a profile for it \(profiles: none\)"
    ):
        run_contract(stainless, progress=None)
    with pytest.raises(ContractError, match=r"profiles: cocktail \(200\)"):
        run_contract(_options(base_url="http://127.0.0.1:9", error_status=404), progress=None)


@pytest.fixture(scope="module")
def default_server() -> Iterator[str]:
    with serving("--api", "cocktail", "--no-fixtures") as (base, _):
        yield base


@pytest.fixture(scope="module")
def vendor_server() -> Iterator[str]:
    with serving("--api", "cocktail", "--no-fixtures", "--cocktail-errors", "vendor") as (base, _):
        yield base


def test_a_served_vendor_mode_is_recognised(vendor_server: str, default_server: str) -> None:
    found = find_buildmock(f"{vendor_server}/cocktail", "cocktail")
    assert found is not None and dict(found[0].error_status) == {"cocktail": 200}
    found = find_buildmock(f"{default_server}/cocktail", "cocktail")
    assert found is not None and dict(found[0].error_status) == {}


def _contract(base: str, *args: str) -> list[str]:
    headers = [item for k, v in GATEWAY.items() for item in ("-H", f"{k}: {v}")]
    return ["contract", "--api", "cocktail", "--base-url", f"{base}/cocktail", *headers,
            "--seed", "7", "-q", *args]  # fmt: skip


def test_a_served_vendor_mode_is_judged_with_the_200_profile_and_conforms(
    vendor_server: str, configs: list[SchemathesisConfig], capsys: pytest.CaptureFixture[str]
) -> None:
    """``buildmock contract`` against a real ``serve --cocktail-errors vendor`` process: no finding."""
    code = main(_contract(vendor_server, "--phases", "examples,coverage", "--max-examples", "3"))
    out = capsys.readouterr().out
    assert code == 0, out
    assert len(configs) == 1 and not _strict(configs[0])
    assert "cocktail: judged as a target answering failures with HTTP 200" in out


def test_the_200_profile_is_not_applied_to_a_served_default_mode(
    default_server: str, configs: list[SchemathesisConfig], capsys: pytest.CaptureFixture[str]
) -> None:
    """Even when asked for: the server's own word on how it answers wins."""
    code = main(_contract(default_server, "--phases", "examples", "--max-examples", "2",
                          "--error-status", "200"))  # fmt: skip
    out = capsys.readouterr().out
    assert code == 0, out
    assert len(configs) == 1
    checks = configs[0].projects.default.checks
    assert checks.unsupported_method.enabled and checks.use_after_free.enabled
    assert "200" not in checks.negative_data_rejection.expected_statuses
    assert (
        "--error-status 200 not used: the buildmock server answers cocktail's failures with a 4xx"
        in out
    )


def test_a_server_of_unknown_kind_is_judged_as_error_status_says(
    vendor_server: str, configs: list[SchemathesisConfig], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A real Cocktail server is not a buildmock: ``--error-status 200`` picks the mode."""
    monkeypatch.setattr(runner, "find_buildmock", lambda *a, **k: None)
    for error_status, strict in ((None, True), (200, False)):
        configs.clear()
        report = run_contract(
            _options(base_url=f"{vendor_server}/cocktail", error_status=error_status), progress=None
        )
        assert _strict(configs[0]) is strict
        assert (report.exit_code == 0) is not strict, report.reason


def test_health_body_is_read_defensively() -> None:
    from buildmock.contract import target

    def answer(body: Any) -> Any:
        class Fake:
            def __enter__(self) -> Any:
                return self

            def __exit__(self, *exc: Any) -> None:
                return None

            def read(self, n: int) -> bytes:
                return httpx.Response(200, json=body).content

        return lambda request, timeout: Fake()

    ok = {"status": "ok", "apis": ["cocktail"]}
    for fixed, expected in [
        ({"cocktail": 200}, {"cocktail": 200}),
        ({"cocktail": "200", "x": True}, {}),
        ([200], {}),
        (None, {}),
    ]:
        with pytest.MonkeyPatch.context() as m:
            m.setattr(target.urllib.request, "urlopen", answer({**ok, "error_status": fixed}))
            found = target.find_buildmock("http://127.0.0.1:9/cocktail", "cocktail")
        assert found is not None and dict(found[0].error_status) == expected
