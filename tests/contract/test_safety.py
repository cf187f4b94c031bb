"""Safe by default: no writes off loopback without --allow-writes, bounded runs, secrets never shown."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from buildmock.contract.runner import ContractError, ContractOptions, run_contract
from buildmock.contract.safety import (
    SAFE_METHODS,
    RequestGuard,
    RequestRefused,
    allowed_methods,
    is_loopback_host,
    writes_allowed,
)
from tests.contract.servers import Recorder, mock_app, serve

TOKEN = "safety-s3cret-token-77"


@pytest.mark.parametrize(
    ("host", "loopback"),
    [("127.0.0.1", True), ("127.8.9.10", True), ("localhost", True), ("api.localhost", True), ("::1", True),
     ("LOCALHOST.", True), ("api.example.test", False), ("10.0.0.1", False), ("192.168.1.4", False),
     ("localhost.example.com", False), ("0.0.0.0", False), ("::", False), ("2001:db8::1", False)],
)  # fmt: skip
def test_loopback_classification_is_a_pure_function_of_the_name(host: str, loopback: bool) -> None:
    assert is_loopback_host(host) is loopback


def test_write_policy() -> None:
    assert writes_allowed("http://127.0.0.1:8080/stainless", allow_writes=False)
    assert writes_allowed("http://[::1]:8080/", allow_writes=False)
    assert not writes_allowed("https://api.stainless.com", allow_writes=False)
    assert writes_allowed("https://api.stainless.com", allow_writes=True)
    assert (
        allowed_methods("https://api.stainless.com", False)
        == SAFE_METHODS
        == {"GET", "HEAD", "OPTIONS"}
    )
    assert allowed_methods("https://api.stainless.com", True) is None
    assert allowed_methods(None, False) is None  # the in-process mock
    assert (
        allowed_methods("http://localhost:1/", False, classify=lambda host: False) == SAFE_METHODS
    )
    with pytest.raises(ValueError):
        writes_allowed("ftp://example.test", allow_writes=False)


def test_guard_refuses_writes_and_requests_past_the_budget() -> None:
    stopped: list[bool] = []
    guard = RequestGuard(
        methods=SAFE_METHODS, max_requests=2, on_exhausted=lambda: stopped.append(True)
    )
    guard.admit("get")
    with pytest.raises(RequestRefused):
        guard.admit("POST")
    guard.admit("HEAD")
    with pytest.raises(RequestRefused):
        guard.admit("GET")
    with pytest.raises(RequestRefused):
        guard.admit("GET")
    assert guard.sent == 2 and guard.refused_writes == 1 and stopped == [True]


def _options(url: str, **changes: object) -> ContractOptions:
    values: dict[str, object] = {
        "base_url": f"{url}/stainless", "apis": ("stainless",), "max_examples": 5, "seed": 11,
        "headers": (("Authorization", f"Bearer {TOKEN}"),),
    }  # fmt: skip
    values.update(changes)
    return ContractOptions(**values)  # type: ignore[arg-type]


def test_non_loopback_target_gets_no_writes(tmp_path: Path) -> None:
    """All phases against a loopback server the injected classifier calls remote: only safe methods arrive."""
    recorder = Recorder(mock_app(token=TOKEN))
    progress = io.StringIO()
    with serve(recorder) as url:
        report = run_contract(
            _options(url, report_dir=tmp_path), progress=progress, classify=lambda host: False
        )
    methods = {method for method, _ in recorder.seen}
    assert recorder.seen, "the run sent nothing"
    assert methods <= SAFE_METHODS, methods
    assert report.runs[0].read_only and report.exit_code == 0, report.reason
    assert "read-only" in progress.getvalue()
    for path in tmp_path.iterdir():
        assert TOKEN not in path.read_text()


def test_allow_writes_lets_writes_through() -> None:
    recorder = Recorder(mock_app(token=TOKEN))
    with serve(recorder) as url:
        report = run_contract(_options(url, allow_writes=True, phases=("examples",)), progress=None,
                              classify=lambda host: False)  # fmt: skip
    assert "POST" in {method for method, _ in recorder.seen}
    assert not report.runs[0].read_only


def test_max_requests_bounds_the_run() -> None:
    recorder = Recorder(mock_app(token=TOKEN))
    with serve(recorder) as url:
        report = run_contract(_options(url, max_requests=15), progress=None)
    assert len(recorder.seen) <= 15  # the target probes (GET /__buildmock/health) included
    assert report.stopped_by_budget and not report.errors  # refusals past the budget are not errors
    # ...but a run cut short before every operation was verified proves nothing: inconclusive.
    assert report.exit_code == 3, report.reason
    assert "stopped early by --max-requests 15" in report.reason


def test_rate_limit_passes_through() -> None:
    recorder = Recorder(mock_app(token=TOKEN))
    with serve(recorder) as url:
        report = run_contract(
            _options(url, rate_limit="1000/s", phases=("examples",)), progress=None
        )
    assert report.exit_code == 0 and recorder.seen


def test_unreachable_server_is_exit_2() -> None:
    with serve(mock_app()) as url:
        pass  # the port is closed again now
    with pytest.raises(ContractError, match="cannot reach"):
        run_contract(_options(url), progress=None)
