"""How a test's mock configuration is put together: defaults, options, markers; bad values refused."""

from __future__ import annotations

from pathlib import Path

import pytest

from buildmock.settings import FIXTURES_DIR
from buildmock.testing.config import ConfigError, MockConfig, layered


def test_defaults_are_a_manual_clock_with_the_bundled_fixtures() -> None:
    config = layered([])
    assert config == MockConfig()
    assert (config.seed, config.clock, config.apis, config.speed) == (0, "manual", (), 1.0)
    assert (config.token, config.fixtures, config.fast_path) == (None, FIXTURES_DIR, True)
    settings = config.settings(port=5000)
    assert (settings.host, settings.port, settings.clock) == ("127.0.0.1", 5000, "manual")


def test_later_layers_win_and_equal_configurations_share_a_key() -> None:
    config = layered(
        [("options", {"seed": 3, "apis": ["vela"]}), ("marker", {"seed": 4, "clock": "real"})]
    )
    assert (config.seed, config.apis, config.clock) == (4, ("vela",), "real")
    same = layered([("marker", {"clock": "real", "apis": "vela", "seed": 4})])
    assert {config: 1}[same] == 1


def test_fixtures_none_or_a_directory(tmp_path: Path) -> None:
    assert layered([("m", {"fixtures": None})]).fixtures is None
    assert layered([("m", {"fixtures": "none"})]).fixtures is None
    assert layered([("m", {"fixtures": str(tmp_path)})]).fixtures == tmp_path.resolve()


@pytest.mark.parametrize(
    ("values", "message"),
    [
        (
            {"sed": 1},
            "m: unknown option 'sed' (known: apis, clock, fast_path, fixtures, seed, speed, token)",
        ),
        ({"seed": "1"}, "m: seed must be an integer, not '1'"),
        ({"seed": True}, "m: seed must be an integer, not True"),
        ({"speed": 0}, "m: speed must be a positive number, not 0"),
        ({"clock": "fast"}, "m: clock must be 'real' or 'manual', not 'fast'"),
        ({"apis": [1]}, "m: apis must be a list of vendor names, not [1]"),
        ({"token": ""}, "m: token must be a non-empty string or None, not ''"),
        (
            {"fixtures": "/nonexistent"},
            "m: fixtures must be a directory of <vendor>.yaml fixtures or None",
        ),
        ({"fast_path": "no"}, "m: fast_path must be True or False, not 'no'"),
    ],
)
def test_bad_values_are_refused_with_their_source(values: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        layered([("m", values)])
    assert str(caught.value).startswith(message)
