"""What a test asks of its mock: the ``buildmock`` marker's keywords over ``--buildmock-*`` options."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Any

from buildmock.settings import FIXTURES_DIR, SPECS_DIR, Settings

#: Where every test server listens; only loopback, on a port the system picks.
HOST = "127.0.0.1"


class ConfigError(ValueError):
    """A marker keyword or ``--buildmock-*`` option that cannot configure a mock."""


@dataclass(frozen=True)
class MockConfig:
    """One mock configuration; tests asking for equal ones share a server (it is hashable)."""

    seed: int = 0
    #: ``manual`` by default (``buildmock serve`` says ``real``): time moves only when a test advances it.
    clock: str = "manual"
    apis: tuple[str, ...] = ()
    speed: float = 1.0
    token: str | None = None
    fixtures: Path | None = FIXTURES_DIR
    fast_path: bool = True

    def __post_init__(self) -> None:
        try:
            self.settings(port=1)  # Settings' own checks (clock, speed), once, with the same words
        except ValueError as exc:
            raise ConfigError(str(exc)) from None

    def settings(self, port: int) -> Settings:
        """The server settings for this configuration, listening on loopback at ``port``."""
        return Settings(
            host=HOST,
            port=port,
            seed=self.seed,
            apis=self.apis,
            clock=self.clock,
            speed=self.speed,
            token=self.token,
            fixtures=self.fixtures,
            fast_path=self.fast_path,
        )

    def with_values(self, values: Mapping[str, Any], source: str) -> MockConfig:
        """A copy with ``values`` applied (each checked); ``source`` names where they came from in errors."""
        known = {f.name for f in fields(self)}
        changes: dict[str, Any] = {}
        for name, value in values.items():
            if name not in known:
                raise ConfigError(
                    f"{source}: unknown option {name!r} (known: {', '.join(sorted(known))})"
                )
            changes[name] = _normalise(name, value, source)
        return replace(self, **changes)


def layered(layers: Iterable[tuple[str, Mapping[str, Any]]]) -> MockConfig:
    """Defaults, then each ``(source, values)`` layer in turn (later layers win)."""
    config = MockConfig()
    for source, values in layers:
        config = config.with_values(values, source)
    return config


def _normalise(name: str, value: Any, source: str) -> Any:
    def bad(expected: str) -> ConfigError:
        return ConfigError(f"{source}: {name} must be {expected}, not {value!r}")

    if name == "seed":
        if isinstance(value, bool) or not isinstance(value, int):
            raise bad("an integer")
        return value
    if name == "speed":
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0:
            raise bad("a positive number")
        return float(value)
    if name == "clock":
        if value not in ("real", "manual"):
            raise bad("'real' or 'manual'")
        return value
    if name == "apis":
        names = (value,) if isinstance(value, str) else value
        if not isinstance(names, (list, tuple)) or not all(isinstance(n, str) for n in names):
            raise bad("a list of vendor names")
        from buildmock.vendors import available  # imports the vendors: only when a test names some

        served = available(SPECS_DIR)
        unknown = [n for n in names if n not in served]
        if unknown:
            raise ConfigError(
                f"{source}: unknown vendor {', '.join(map(repr, unknown))} in apis "
                f"(available: {', '.join(served)})"
            )
        return tuple(dict.fromkeys(names))
    if name == "token":
        if value is not None and (not isinstance(value, str) or not value):
            raise bad("a non-empty string or None")
        return value
    if name == "fixtures":
        if value is None or (isinstance(value, str) and value.lower() == "none"):
            return None
        if not isinstance(value, (str, Path)) or not Path(value).is_dir():
            raise bad("a directory of <vendor>.yaml fixtures or None")
        return Path(value).resolve()
    if not isinstance(value, bool):  # fast_path
        raise bad("True or False")
    return value
