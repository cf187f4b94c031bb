"""Cocktail Cloud: the mock's live answers across a run's lifecycle, strictly against the server's VOs."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import yaml
from starlette.testclient import TestClient

from buildmock.settings import FIXTURES_DIR, SPECS_DIR
from tests.cases.cocktail import GATEWAY as H
from tests.conftest import advance, make_app
from tests.fidelity.strict import Snapshot, load, spec_operations

BASE = "/cocktail/v1/build/run"
SNAP = load("cocktail")


class Checked:
    """A client whose every answer is checked strictly against the snapshot."""

    def __init__(self, client: TestClient, snapshot: Snapshot, vendor_errors: bool) -> None:
        self.client, self.snapshot, self.vendor_errors = client, snapshot, vendor_errors
        self.states: set[tuple[str, str]] = set()

    def call(self, method: str, path: str, schema: str, **kwargs: Any) -> Any:
        """Send a request; a success must be a strict ``schema``, a failure a strict Error."""
        headers = {**H, **kwargs.pop("headers", {})}
        response = self.client.request(method, BASE + path, headers=headers, **kwargs)
        body = response.json()
        if body.get("status") == "error":
            assert (
                response.status_code == 200 if self.vendor_errors else response.status_code >= 400
            )
            self.snapshot.check("Error", body, f"{method} {path}")
        else:
            assert response.status_code == 200, response.text
            self.snapshot.check(schema, body, f"{method} {path}")
            self._note(body["result"])
        return body

    def _note(self, result: Any) -> None:
        for run in result if isinstance(result, list) else [result]:
            if isinstance(run, dict):
                self.states.add(("run", str(run.get("runState"))))
                for step in run.get("buildStepRuns") or run.get("buildRunLogs") or []:
                    self.states.add(("step", step["stepState"]))


@pytest.fixture(params=[False, True], ids=["http-errors", "vendor-errors"])
def api(request: pytest.FixtureRequest) -> Iterator[Checked]:
    mode = "vendor" if request.param else "http"
    app = make_app("cocktail", fixtures=FIXTURES_DIR, options={"cocktail_errors": mode})
    with TestClient(app) as client:
        yield Checked(client, SNAP, request.param)


def _run(api: Checked, outcome: str, **params: str) -> dict[str, Any]:
    body = api.call(
        "POST", "/1", "BuildRunResult", params=params, headers={"Prefer": f"outcome={outcome}"}
    )
    return body["result"]  # type: ignore[no-any-return]


def _watch(api: Checked, seq: int, until: str) -> dict[str, Any]:
    """Advance second by second, reading the run, its log and each step's log, until ``until``."""
    for _ in range(400):
        run = api.call("GET", f"/{seq}", "BuildRunOrNullResult")["result"]
        api.call("GET", f"/log/{seq}", "BuildRunLogResult")
        for step in run["buildStepRuns"]:
            api.call("GET", f"/log/step/{step['buildStepRunSeq']}", "BuildRunLogResult")
        if run["runState"] == until:
            return run  # type: ignore[no-any-return]
        advance(api.client, 2)
    raise AssertionError(f"run {seq} never reached {until}")


def test_lifecycle_answers_are_strictly_the_servers_vos(api: Checked) -> None:
    # fixtures: a DONE run, an ERROR run, a pipeline run with relatedPipelineInfo
    listed = api.call("GET", "", "BuildRunListResult", params={"buildSeq": 1})["result"]
    assert any(r["relatedPipelineInfo"] for r in listed)
    done = _run(api, "DONE", tagName="v1", description="fidelity")
    assert done["runState"] == "CREATED"
    _watch(api, done["buildRunSeq"], "DONE")
    failed = _run(api, "ERROR")
    _watch(api, failed["buildRunSeq"], "ERROR")
    victim = _run(api, "DONE")
    _watch(api, victim["buildRunSeq"], "RUNNING")
    cancel = api.call("PUT", f"/cancel/{victim['buildRunSeq']}", "BuildRunResult")["result"]
    assert cancel["runType"] == "CANCEL"
    assert [step["stepType"] for step in cancel["buildStepRuns"]] == ["INIT", "CANCEL"]
    _watch(api, cancel["buildRunSeq"], "DONE")
    for seq in (victim["buildRunSeq"], done["buildRunSeq"]):  # no other run pushed the same image
        assert api.call("GET", f"/{seq}/otherremoveruns", "BuildRunListResult")["result"] == []
    again = api.call("POST", f"/1/{done['buildRunSeq']}", "BuildRunResult", json={"tagName": "v2"})[
        "result"
    ]
    _watch(api, again["buildRunSeq"], "DONE")
    latest = api.call("GET", "/latest", "BuildRunNullableListResult", params={"accountSeq": 1})
    assert latest["result"] and all(r["runState"] == "DONE" for r in latest["result"])
    assert api.call("GET", "/latest", "BuildRunNullableListResult")["result"] is None
    found = api.call(
        "GET", "/search", "BuildRunOrNullResult", params={"imageUrl": again["imageUrl"]}
    )
    assert found["result"]["buildRunSeq"] == again["buildRunSeq"]
    assert (
        api.call("GET", "/search", "BuildRunOrNullResult", params={"imageUrl": "x/y/z:0"})["result"]
        is None
    )
    api.call("GET", "", "BuildRunListResult", params={"buildSeq": 1})
    removed = api.call("DELETE", f"/{failed['buildRunSeq']}", "BuildRunResult")["result"]
    assert removed["buildRunSeq"] == failed["buildRunSeq"]
    count = api.call(
        "DELETE", "/1/tag", "CountResult", params={"buildRunSeqs": [victim["buildRunSeq"]]}
    )
    assert count["result"] == 2  # the cancelled run and its CANCEL run share the image
    # refusals and unknown numbers, in the vendor's error shape
    running = _run(api, "DONE")
    _watch(api, running["buildRunSeq"], "RUNNING")
    assert (
        api.call("DELETE", f"/{running['buildRunSeq']}", "BuildRunResult")["code"] == "CCBD1014000"
    )
    assert (
        api.call("PUT", f"/cancel/{done['buildRunSeq']}", "BuildRunResult")["code"] == "CCCM1007000"
    )
    assert api.call("GET", "/log/999", "BuildRunLogResult")["status"] == "error"
    unknown = api.call("GET", "/999", "BuildRunOrNullResult")
    assert (
        unknown == {"status": "ok", "code": None, "message": None, "result": None}
        if api.vendor_errors
        else (unknown["code"] == "CCCM1013000")
    )
    assert {("run", s) for s in ("CREATED", "RUNNING", "DONE", "ERROR")} <= api.states
    assert {("step", s) for s in ("WAIT", "RUNNING", "DONE", "ERROR")} <= api.states


def test_operations_covered() -> None:
    spec = yaml.safe_load((SPECS_DIR / "cocktail.yaml").read_text())
    have = spec_operations(spec)
    covered = sorted(op for op in SNAP.operations if op in have)
    missing = sorted(set(SNAP.operations) - have)
    print(f"\ncocktail build-run operations covered: {len(covered)}/{len(SNAP.operations)}")
    assert missing == sorted(SNAP.not_modelled), missing
    assert have - set(SNAP.operations) == set(), "the spec has operations the server lacks"
