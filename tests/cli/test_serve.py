"""``buildmock serve`` as a real process over real HTTP."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from buildmock.cli.main import main
from tests.process import free_port, serving

H = {"Authorization": "Bearer x"}


def _journey(base: str) -> list[bytes]:
    bodies = []
    with httpx.Client(base_url=base, headers=H) as c:
        for revision in ("main", "feature/a", "main..feature/b"):
            created = c.post(
                "/stainless/v0/builds", json={"project": "acme-api", "revision": revision}
            )
            bodies.append(created.content)
            c.post("/__buildmock/clock/advance", json={"seconds": 5})
            bodies.append(c.get(f"/stainless/v0/builds/{created.json()['id']}").content)
        bodies.append(c.get("/stainless/v0/builds", params={"project": "acme-api"}).content)
    return bodies


def test_two_processes_same_seed_byte_identical() -> None:
    with serving("--seed", "3", "--clock", "manual") as (first, _):
        one = _journey(first)
    with serving("--seed", "3", "--clock", "manual") as (second, _):
        two = _journey(second)
    assert one == two
    assert len(set(one)) == len(one)


def test_banner_lists_every_api_and_env_vars_apply() -> None:
    with serving(env={"BUILDMOCK_CLOCK": "manual", "BUILDMOCK_TOKEN": "sesame"}) as (base, process):
        state = httpx.get(f"{base}/__buildmock/state", headers={"X-Buildmock-Token": "sesame"})
        state = state.json()
        assert state["clock"]["mode"] == "manual"
        assert httpx.get(f"{base}/stainless/v0/builds?project=a", headers=H).status_code == 401
        ok = httpx.get(
            f"{base}/stainless/v0/builds?project=a", headers={"Authorization": "Bearer sesame"}
        )
        assert ok.status_code == 200
        process.terminate()
        output = process.communicate(timeout=10)[0]
    assert "ready in" in output
    for name in state["vendors"]:
        assert f"/{name}/ui/" in output and f"/{name}/openapi.json" in output


def test_api_option_limits_what_is_served() -> None:
    with serving("--api", "stainless") as (base, _):
        assert httpx.get(f"{base}/__buildmock/health").json()["apis"] == ["stainless"]


def test_bad_fixture_fails_start_with_file_and_field(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "stainless.yaml").write_text("builds:\n  - project: acme-api\n")
    code = main(
        ["serve", "--api", "stainless", "--fixtures", str(tmp_path), "--port", str(free_port())]
    )
    assert code == 2
    err = capsys.readouterr().err
    assert "stainless.yaml" in err and "builds[0]" in err and "revision" in err


def test_unknown_api_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["serve", "--api", "jenkins", "--port", str(free_port())]) == 2
    assert "jenkins" in capsys.readouterr().err


def test_module_and_version() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "buildmock", "--version"], capture_output=True, text=True
    )
    assert out.returncode == 0 and out.stdout.startswith("buildmock ")
