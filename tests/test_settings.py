"""Settings from defaults, environment and overrides."""

from __future__ import annotations

from pathlib import Path

import pytest

from buildmock.settings import Settings, unknown_variables


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


def test_journal_scenarios_and_state_options() -> None:
    assert (Settings().journal, Settings().scenarios, Settings().state) == (5000, None, None)
    env = {"BUILDMOCK_JOURNAL": "0", "BUILDMOCK_SCENARIOS": "r.yaml", "BUILDMOCK_STATE": "s.json"}
    s = Settings.from_env(env)
    assert (s.journal, s.scenarios, s.state) == (0, Path("r.yaml"), Path("s.json"))
    with pytest.raises(ValueError, match="--journal"):
        Settings(journal=-1)


@pytest.mark.parametrize(
    ("variable", "value", "says"),
    [
        ("BUILDMOCK_PORT", "abc", "not an integer"),
        ("BUILDMOCK_PORT", "0", "between 1 and 65535"),
        ("BUILDMOCK_SPEED", "nan", "finite"),
        ("BUILDMOCK_SPEED", "inf", "finite"),
        ("BUILDMOCK_FAST_PATH", "maybe", "expected one of"),
        ("BUILDMOCK_ACCESS_LOG", "sometimes", "expected one of"),
        ("BUILDMOCK_FIXTURES", "/nope", "not a directory"),
        ("BUILDMOCK_NO_FIXTURES", "perhaps", "expected one of"),
        ("BUILDMOCK_CLOCK", "sundial", "one of real, manual"),
        ("BUILDMOCK_LOG_LEVEL", "loud", "one of debug"),
        ("BUILDMOCK_MAX_BODY_BYTES", "-1", "at least 1"),
        ("BUILDMOCK_TIMEOUT", "0", "between"),
        ("BUILDMOCK_TOKEN", "a b", "whitespace"),
        ("BUILDMOCK_CORS_ORIGINS", "localhost:3000", "http(s) origin"),
        (
            "BUILDMOCK_CALLBACK_ALLOW",
            "hooks.test http://b.test",
            "'http://b.test' is not a host name",
        ),
        ("BUILDMOCK_CALLBACK_ALLOW", "hooks.test:8080", "not a host name, an IP address or a CIDR"),
        ("BUILDMOCK_CALLBACK_ALLOW", "10.0.0.0/33", "not a host name, an IP address or a CIDR"),
    ],
)
def test_every_variable_is_checked_and_named(variable: str, value: str, says: str) -> None:
    with pytest.raises(ValueError) as error:
        Settings.from_env({variable: value})
    assert str(error.value).startswith(f"{variable}=") and says in str(error.value)


@pytest.mark.parametrize(
    ("entry", "fine"),
    [("hooks.internal", True), ("HOOKS.internal.", True), ("my_service", True), ("10.1.2.3", True),
     ("[::1]", True), ("fd00::/8", True), ("10.0.0.0/8", True), ("10.0.0.1/8", True),
     ("*", False), ("", False), ("10.0.0", False), ("a..b", False), ("-a.test", False),
     ("https://hooks.internal", False), ("hooks.internal/cb", False), ("x" * 64 + ".test", False)],
)  # fmt: skip
def test_callback_allow_takes_hosts_addresses_and_networks(entry: str, fine: bool) -> None:
    if fine:
        assert Settings(callback_allow=(entry,)).callback_allow == (entry,)
    else:
        with pytest.raises(ValueError, match=r"^--callback-allow '.+ is not a host name"):
            Settings(callback_allow=("ok.test", entry))


def test_flags_are_checked_like_variables() -> None:
    with pytest.raises(ValueError, match=r"^--speed must be a finite number"):
        Settings(speed=float("nan"))
    with pytest.raises(ValueError, match=r"^--fixtures /nope: not a directory"):
        Settings(fixtures=Path("/nope"))


def test_no_fixtures_variable_and_new_settings(tmp_path: Path) -> None:
    assert Settings.from_env({"BUILDMOCK_NO_FIXTURES": "1"}).fixtures is None
    assert Settings.from_env({"BUILDMOCK_NO_FIXTURES": "0"}).fixtures is not None
    s = Settings.from_env({"BUILDMOCK_CONTROL_TOKEN": "c", "BUILDMOCK_TOKEN": "t",
                           "BUILDMOCK_CORS_ORIGINS": "http://a.test https://b.test",
                           "BUILDMOCK_ACCESS_LOG": "yes", "BUILDMOCK_MAX_HEADERS": "50"})  # fmt: skip
    assert s.control_credential == "c" and s.cors_origins == ("http://a.test", "https://b.test")
    assert s.access_log is True and s.max_headers == 50
    assert Settings(token="t").control_credential == "t"
    # An explicit option wins, and a variable it replaces is not even parsed.
    assert Settings.from_env({"BUILDMOCK_PORT": "abc"}, port=9000).port == 9000


def test_unknown_variables_are_named_with_the_closest() -> None:
    warnings = unknown_variables({"BUILDMOCK_TOKNE": "x", "BUILDMOCK_PORT": "1", "BUILDMOCK_TEST_SEED": "3",
                                  "BUILDMOCK_NO_FIXTURES": "1", "OTHER": "y"})  # fmt: skip
    assert warnings == ["BUILDMOCK_TOKNE is not a buildmock setting and is ignored; "
                        "did you mean BUILDMOCK_TOKEN?"]  # fmt: skip
