"""Contract checks as pytest tests: one test per operation of a vendor spec, on Schemathesis's pytest
integration, with the safety rules, redaction and drift classification of ``buildmock contract``."""

from __future__ import annotations

import copy
import time
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from schemathesis.core.failures import FailureGroup

from buildmock.contract import ALL_PHASES
from buildmock.contract.auth import mock_headers
from buildmock.contract.drift import classify
from buildmock.contract.engine import Finding, RunResult
from buildmock.contract.redact import Redactor
from buildmock.contract.report import summary
from buildmock.contract.runner import (
    EXIT_FINDINGS,
    ApiRun,
    ContractError,
    ContractOptions,
    ContractReport,
    check_error_status,
    load_spec,
    run_config,
    select_operations,
)
from buildmock.contract.safety import (
    HostClassifier,
    RequestGuard,
    RequestRefused,
    allowed_methods,
    check_reachable,
    guarded,
    url_host,
)
from buildmock.contract.strict import close_responses
from buildmock.core.net import is_loopback_host
from buildmock.settings import SPECS_DIR
from buildmock.testing.config import ConfigError
from buildmock.testing.plugin import CONTRACT_ATTR, SECRETS_ATTR

#: Per test item: why its target cannot be reached (None: it can), checked once before the first example.
_REACHABLE = pytest.StashKey[str | None]()


class ContractDrift(AssertionError):
    """A response that does not match the spec; the message explains each finding as drift."""


def contract_tests(
    api: str,
    base_url: str | None = None,
    *,
    headers: Mapping[str, str] | None = None,
    allow_writes: bool = False,
    strict: bool = False,
    phases: Iterable[str] = ALL_PHASES,
    checks: Iterable[str] | None = None,
    max_examples: int | None = None,
    seed: int | None = None,
    include_operations: Iterable[str] = (),
    rate_limit: str | None = None,
    max_requests: int | None = None,
    specs: Path = SPECS_DIR,
    classify_host: HostClassifier = is_loopback_host,
    error_status: int | None = None,
) -> Callable[..., None]:
    """A pytest test, one per operation of ``specs/<api>.yaml``: assign it to a ``test_*`` name.

    Without ``base_url`` the requests go to the ``buildmock`` fixture's server (its marker and options
    apply); with one they go there, read-only (GET/HEAD/OPTIONS operations only, other methods refused
    before they are sent) unless ``allow_writes`` or the host is loopback, spaced by ``rate_limit``
    (``"5/s"``, ``"100/m"``) if given; past ``max_requests`` requests in all (per process) the
    remaining tests are skipped. ``headers`` are sent with every request and masked in every failure
    message. ``error_status=200`` judges a ``base_url`` that answers every failure with 200 (Cocktail's
    server) with the spec's profile for that mode. A failed check fails the operation's test with
    :class:`ContractDrift`, explained as ``buildmock contract`` explains it.
    """
    user_headers = dict(headers or {})
    options = ContractOptions(
        mock=base_url is None, base_url=base_url, apis=(api,), checks=tuple(checks) if checks else None,
        phases=tuple(phases), max_examples=max_examples, seed=seed, headers=tuple(user_headers.items()),
        include_operations=tuple(include_operations), strict=strict, allow_writes=allow_writes,
        rate_limit=rate_limit, specs=specs, error_status=error_status,
    )  # fmt: skip
    spec = load_spec(specs, api)
    check_error_status(options, {api: spec})
    if base_url is not None:
        try:
            url_host(base_url)
        except ValueError as exc:
            raise ContractError(str(exc)) from None
    methods = allowed_methods(base_url, allow_writes, classify_host)
    read_only = methods is not None
    tested = close_responses(spec) if strict else copy.deepcopy(spec)
    if base_url is None:  # the mock serves the API under /<api>; checks compare the paths they sent
        tested["servers"] = [{"url": f"/{api}"}]
    config_headers = (
        user_headers if base_url is not None else {**mock_headers(api, spec), **user_headers}
    )
    config = run_config(
        options, config_headers, base_url, read_only, spec, error_status=error_status
    )
    schema = select_operations(
        schemathesis.openapi.from_dict(tested, config=config), spec, options, read_only
    )

    secrets: set[tuple[str, str]] = set(user_headers.items())

    def target(request: pytest.FixtureRequest) -> tuple[str, dict[str, str]]:
        url, sent = locate(request)
        secrets.update(sent.items())
        return url, sent

    def locate(request: pytest.FixtureRequest) -> tuple[str, dict[str, str]]:
        if base_url is not None:
            if _REACHABLE not in request.node.stash:  # once per operation, not per example
                request.node.stash[_REACHABLE] = check_reachable(base_url)
            reason = request.node.stash[_REACHABLE]
            if reason is not None:
                masked = Redactor(user_headers.items()).text(f"{base_url}: {reason}")
                pytest.fail(masked, pytrace=False)
            return base_url, user_headers
        server = request.getfixturevalue("_buildmock_contract_server")
        try:
            return server.url(api), {**server.headers(api), **user_headers}
        except ConfigError as exc:  # the marker or options leave this API out
            problem = str(exc)
        pytest.fail(problem, pytrace=False)

    # One guard for every operation's test: the method rule, and a budget counted across them.
    guard = RequestGuard(methods=methods, max_requests=max_requests)

    def refused() -> None:
        """A request the guard kept back: the budget ends the test, a refused write only the example."""
        if guard.exhausted:
            pytest.skip(f"max_requests={max_requests} reached: stopped early")

    @schema.parametrize()
    def test_contract(case: Any, request: pytest.FixtureRequest) -> None:
        __tracebackhide__ = True
        url, sent = target(request)
        refused()
        before, started = guard.sent, time.perf_counter()
        with guarded(guard):
            try:
                response = case.call(base_url=url, headers=sent)
            except RequestRefused:
                return refused()  # never sent: a write to a read-only target, or past the budget
            try:
                case.validate_response(
                    response, headers=sent, transport_kwargs={"base_url": url, "headers": sent}
                )
            except RequestRefused:
                return refused()
            except FailureGroup as group:
                report = _report(api, url, case, response, group, strict)
                report.runs[0].requests = guard.sent - before
                report.runs[0].seconds = time.perf_counter() - started
                raise ContractDrift(_explain(report, group, Redactor(sent.items()))) from None

    test_contract.__name__ = f"test_contract_{api}"
    setattr(test_contract, CONTRACT_ATTR, api)
    setattr(test_contract, SECRETS_ATTR, secrets)
    return test_contract


def _report(
    api: str, url: str, case: Any, response: Any, group: FailureGroup, strict: bool
) -> ContractReport:
    body = response.content[:2000].decode("utf-8", "replace")
    curl = case.as_curl_command(headers=dict(response.request.headers), base_url=url)
    findings = []
    for failure in group.exceptions:
        drift = classify(failure, response.status_code, body)
        check = type(failure).checks[0] if type(failure).checks else failure.code
        findings.append(Finding(
            failure.operation or case.operation.label, check, failure.code, failure.title, failure.message, curl,
            response.status_code, body, drift.kind, drift.path, drift.expected, drift.actual, api,
        ))  # fmt: skip
    n = len(findings)
    run = ApiRun(api, url, RunResult(findings=findings, scenarios=1))
    return ContractReport([run], EXIT_FINDINGS, f"{n} finding{'s' * (n != 1)}", strict)


def _explain(report: ContractReport, group: FailureGroup, redactor: Redactor) -> str:
    details = "\n\n".join(f"[{f.check}] {f.title}\n{f.message}" for f in report.findings)
    return redactor.text(f"{summary(report)}\n\nSchemathesis's findings:\n{details}")
