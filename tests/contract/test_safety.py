"""Safe by default: no writes off loopback without --allow-writes, bounded runs, secrets never shown."""

from __future__ import annotations

import io
import threading
from pathlib import Path
from typing import Any

import pytest
import requests
from requests.adapters import BaseAdapter
from schemathesis.transport.requests import ManagedCookiesSession, SameHostRedirectsSession

from buildmock.contract.runner import ContractError, ContractOptions, run_contract
from buildmock.contract.safety import (
    SAFE_METHODS,
    RequestGuard,
    RequestRefused,
    allowed_methods,
    guarded,
    is_loopback_host,
    run_sessions,
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


# -- the guard's reach: the run's own sessions, in every thread, and nothing else -----------------


class _Answering(BaseAdapter):
    """A requests adapter answering 200 without a socket; counts what reached it."""

    def __init__(self) -> None:
        super().__init__()
        self.sent: list[str] = []

    def send(
        self, request: requests.PreparedRequest, *args: Any, **kwargs: Any
    ) -> requests.Response:
        self.sent.append(str(request.method))
        response = requests.Response()
        response.status_code, response.request, response.url = 200, request, str(request.url)
        return response

    def close(self) -> None:
        pass


def _session(kind: type[requests.Session]) -> tuple[requests.Session, _Answering]:
    session, adapter = kind(), _Answering()
    session.mount("http://", adapter)
    return session, adapter


def test_only_the_runs_own_sessions_are_vetted_and_only_during_the_run() -> None:
    run_session, run_adapter = _session(SameHostRedirectsSession)
    other, other_adapter = _session(requests.Session)
    guard = RequestGuard(methods=SAFE_METHODS, max_requests=1)
    with guarded(guard):
        assert other.post("http://api.example.test/x").status_code == 200, (
            "another session: untouched"
        )
        with pytest.raises(RequestRefused):
            run_session.post("http://api.example.test/x")
        thread_errors: list[BaseException] = []

        def in_a_worker_thread() -> None:
            try:
                run_session.get("http://api.example.test/a")  # admitted: the budget's one request
                run_session.get("http://api.example.test/b")
            except RequestRefused as exc:
                thread_errors.append(exc)
            other.get("http://api.example.test/c")

        worker = threading.Thread(target=in_a_worker_thread)
        worker.start()
        worker.join()
        assert [str(e) for e in thread_errors] == ["--max-requests 1 reached"], (
            "the run's threads too"
        )
    assert (guard.sent, guard.refused_writes) == (1, 1)
    assert run_adapter.sent == ["GET"] and other_adapter.sent == ["POST", "GET"]
    assert run_session.post("http://api.example.test/x").status_code == 200, (
        "after the run: as before"
    )
    for kind in run_sessions():
        assert "send" not in vars(kind), f"{kind.__name__}.send put back"
    assert ManagedCookiesSession.send is requests.Session.send


def test_runs_in_two_threads_take_turns_and_a_nested_run_counts_for_both() -> None:
    outer, inner = RequestGuard(max_requests=10), RequestGuard(max_requests=10)
    session, _ = _session(ManagedCookiesSession)
    entered = threading.Event()

    def another_run() -> None:
        with guarded(RequestGuard()):
            entered.set()

    with guarded(outer):
        with guarded(inner):
            session.get("http://api.example.test/x")
        session.get("http://api.example.test/y")
        second = threading.Thread(target=another_run)
        second.start()
        assert not entered.wait(0.2), "a run in another thread waits for this one"
    second.join(5)
    assert entered.is_set()
    assert (outer.sent, inner.sent) == (2, 1)


def test_max_requests_bounds_an_in_process_mock_run_too() -> None:
    """The bundled mock is reached through Schemathesis's ASGI client: its calls count the same."""
    report = run_contract(ContractOptions(apis=("stainless",), mock=True, max_requests=10, seed=11),
                          progress=None)  # fmt: skip
    assert report.stopped_by_budget and report.runs[0].requests == 10
