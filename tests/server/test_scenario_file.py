"""The --scenarios file: validated at start with file and line, loaded again on reset."""

from __future__ import annotations

from pathlib import Path

import pytest
from starlette.testclient import TestClient

from buildmock.cli.main import main
from buildmock.server.scenarios import ScenarioError
from tests.cases import CASES
from tests.conftest import CONTROL_TOKEN, make_app
from tests.process import free_port

GOOD = """\
rules:
  - id: slow-lists
    vendor: stainless
    operation: list_builds
    latency: 1ms
  - vendor: stainless
    path: /v0/builds/bui_*
    code: 404
    times: 1
"""


def test_rules_load_and_come_back_on_reset(tmp_path: Path) -> None:
    (tmp_path / "rules.yaml").write_text(GOOD)
    case = CASES["stainless"]
    with TestClient(
        make_app("stainless", scenarios=tmp_path / "rules.yaml"), headers=CONTROL_TOKEN
    ) as client:
        rules = client.get("/__buildmock/scenarios").json()["rules"]
        assert [r["id"] for r in rules] == ["slow-lists", "rule-2"]
        assert rules[0]["source"].endswith("rules.yaml")
        client.get(case.unknown_path, headers=case.headers)
        assert len(client.get("/__buildmock/scenarios").json()["rules"]) == 1
        client.post("/__buildmock/reset")
        assert len(client.get("/__buildmock/scenarios").json()["rules"]) == 2


@pytest.mark.parametrize(
    ("text", "where"),
    [("rules:\n  - vendor: stainless\n    fault: 504\n", ":3: rules[0].fault"),
     ("rules:\n  - vendor: stainless\n    latency: 1ms\n  - vendor: jenkins\n    fault: 500\n",
      ":4: rules[1].vendor"),
     ("rules:\n  - vendor: stainless\n\n    colour: red\n    fault: 500\n", ":4: rules[0].colour"),
     ("rules:\n  - vendor: stainless\n    operation: nope\n    fault: 500\n", ":3: rules[0].operation"),
     ("rules:\n  - vendor: [stainless\n", ":3:"),
     ("faults: []\n", ":1:")],
)  # fmt: skip
def test_errors_name_file_and_line(tmp_path: Path, text: str, where: str) -> None:
    path = tmp_path / "rules.yaml"
    path.write_text(text)
    with pytest.raises(ScenarioError) as raised:
        make_app("stainless", scenarios=path)
    assert f"{path}{where}" in str(raised.value)


def test_a_bad_file_stops_serve(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "rules.yaml"
    path.write_text("rules:\n  - vendor: stainless\n    fault: 504\n")
    code = main(["serve", "--scenarios", str(path), "--port", str(free_port())])
    assert code == 2
    assert f"{path}:3: rules[0].fault" in capsys.readouterr().err


def test_rules_are_kept_in_canonical_form_and_export_back(tmp_path: Path) -> None:
    path = tmp_path / "rules.yaml"
    path.write_text(
        "rules:\n  - vendor: vela\n    fault: 503\n    latency: 1.5s\n"
        "  - vendor: vela\n    rate_limit: {requests: 5, window: 30}\n"
    )
    with TestClient(make_app("vela", scenarios=path), headers=CONTROL_TOKEN) as client:
        rules = [r["rule"] for r in client.get("/__buildmock/scenarios").json()["rules"]]
        assert rules[0]["fault"] == "503" and rules[0]["latency"] == "1500ms"
        assert rules[1]["rate_limit"] == {"requests": 5, "window": "30s"}
        document = client.get("/__buildmock/snapshot").json()
        assert client.put("/__buildmock/snapshot", json=document).status_code == 200
