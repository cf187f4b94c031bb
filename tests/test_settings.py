"""Settings from defaults, environment and overrides."""

from __future__ import annotations

from pathlib import Path

import pytest

from buildmock.settings import Settings


def test_defaults_match_the_documented_ones() -> None:
    s = Settings()
    assert (s.host, s.port, s.seed, s.clock, s.speed, s.token, s.cap) == (
        "127.0.0.1",
        8080,
        0,
        "real",
        1.0,
        None,
        10_000,
    )


def test_environment_then_overrides(tmp_path: Path) -> None:
    env = {
        "BUILDMOCK_PORT": "9000",
        "BUILDMOCK_SEED": "5",
        "BUILDMOCK_APIS": "nuon,vela",
        "BUILDMOCK_CLOCK": "manual",
        "BUILDMOCK_SPEED": "2.5",
        "BUILDMOCK_TOKEN": "t",
        "BUILDMOCK_FIXTURES": "none",
        "BUILDMOCK_CALLBACK_ALLOW": "a.test b.test",
    }
    s = Settings.from_env(env, seed=9, port=None)
    assert s.port == 9000 and s.seed == 9 and s.apis == ("nuon", "vela")
    assert s.clock == "manual" and s.speed == 2.5 and s.token == "t" and s.fixtures is None
    assert s.callback_allow == ("a.test", "b.test")
    assert Settings.from_env({"BUILDMOCK_FIXTURES": str(tmp_path)}).fixtures == tmp_path


@pytest.mark.parametrize("bad", [{"clock": "sundial"}, {"speed": 0}, {"cap": 0}, {"port": 70000}])
def test_bad_values_are_refused(bad: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        Settings(**bad)  # type: ignore[arg-type]
