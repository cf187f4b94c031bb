"""``buildmock contract --mock`` with several APIs runs them side by side in processes, with a serial run's results."""

from __future__ import annotations

import io
import re

import pytest

from buildmock.contract.runner import (
    ContractError,
    ContractOptions,
    ContractReport,
    parallel_jobs,
    run_contract,
)


def _run(jobs: int) -> tuple[ContractReport, str]:
    # The examples phase only: a stateful run's path depends on more than the seed (the state of the
    # process it runs in), so a fresh worker process and this one may walk different links.
    options = ContractOptions(
        mock=True, apis=("stainless", "cocktail", "nuon"), phases=("examples",),
        max_examples=2, seed=11, jobs=jobs,
    )  # fmt: skip
    progress = io.StringIO()
    return run_contract(options, progress=progress), progress.getvalue()


def _content(report: ContractReport) -> list[tuple[object, ...]]:
    """What a run found and covered per API: not its timings, nor counts that the mock's real clock moves."""
    return [
        (run.api, run.target, run.result.findings, run.result.errors, run.result.stop_reason,
         {(op, phase) for op, phases in run.result.evidence.items() for phase in phases}, run.read_only,
         run.notes, run.verdict.cause)
        for run in report.runs
    ]  # fmt: skip


def _lines(progress: str) -> list[str]:
    """Progress lines without case counts (the stateful phase follows the mock's clock-driven answers)."""
    return [re.sub(r", \d+ cases\)$", ")", line) for line in progress.splitlines()]


def test_parallel_run_reports_what_a_serial_run_reports() -> None:
    serial, serial_lines = _run(jobs=1)
    parallel, parallel_lines = _run(jobs=3)
    assert [run.api for run in parallel.runs] == ["stainless", "cocktail", "nuon"]
    assert _content(parallel) == _content(serial)
    assert (parallel.exit_code, parallel.reason) == (serial.exit_code, serial.reason)
    assert _lines(parallel_lines) == _lines(serial_lines)
    assert serial_lines.index("[cocktail] contract run") < serial_lines.index("[nuon] contract run")
    assert all(run.requests > 0 and run.result.scenarios > 0 for run in parallel.runs)


@pytest.mark.parametrize(
    ("options", "jobs"),
    [
        (ContractOptions(mock=True, jobs=4), 3),
        (ContractOptions(mock=True, jobs=2), 2),
        (ContractOptions(mock=True, jobs=1), 1),
        (ContractOptions(mock=True, jobs=4, max_requests=100), 1),
        (ContractOptions(mock=True, jobs=4, max_time=30.0), 1),
        (ContractOptions(base_url="http://127.0.0.1:9", jobs=4), 1),
    ],
)
def test_parallel_only_for_the_mock_without_a_shared_budget(
    options: ContractOptions, jobs: int
) -> None:
    assert parallel_jobs(options, ["cocktail", "nuon", "vela"]) == jobs
    assert parallel_jobs(options, ["vela"]) == 1


@pytest.mark.parametrize("jobs", [1, 2])
def test_an_api_that_cannot_run_stops_the_run_with_its_reason(jobs: int) -> None:
    """A worker's ContractError (exit 2) reaches the caller as a serial run's does."""
    options = ContractOptions(
        mock=True, apis=("stainless", "cocktail"), phases=("examples",), max_examples=1,
        include_operations=("list_builds",), jobs=jobs,
    )  # fmt: skip
    with pytest.raises(
        ContractError, match="--include-operation 'list_builds' matches no operation"
    ):
        run_contract(options, progress=None)
