"""Settings: one frozen object built from CLI options and ``BUILDMOCK_*`` environment variables."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

_PACKAGE = Path(__file__).resolve().parent


def _data_dir(name: str) -> Path:
    """Find ``specs`` or ``fixtures``: inside an installed wheel, else at the source checkout's top."""
    bundled = _PACKAGE / "_data" / name
    return bundled if bundled.is_dir() else _PACKAGE.parents[1] / name


SPECS_DIR = _data_dir("specs")
FIXTURES_DIR = _data_dir("fixtures")


@dataclass(frozen=True)
class Settings:
    """Everything that shapes a mock server; defaults are what ``buildmock serve`` uses."""

    host: str = "127.0.0.1"
    port: int = 8080
    seed: int = 0
    apis: tuple[str, ...] = ()
    fixtures: Path | None = FIXTURES_DIR
    clock: str = "real"
    speed: float = 1.0
    token: str | None = None
    specs: Path = SPECS_DIR
    store: str = "memory://"
    cap: int = 10_000
    callback_allow: tuple[str, ...] = ()
    log_level: str = "warning"
    fast_path: bool = True
    workers: int = 1
    extra: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.clock not in ("real", "manual"):
            raise ValueError(f"--clock must be 'real' or 'manual', not {self.clock!r}")
        if self.speed <= 0:
            raise ValueError("--speed must be positive")
        if self.cap < 1:
            raise ValueError("--cap must be at least 1")
        if not 0 < self.port < 65536:
            raise ValueError("--port must be between 1 and 65535")
        if self.workers < 1:
            raise ValueError("--workers must be at least 1")

    def to_env(self) -> dict[str, str]:
        """``BUILDMOCK_*`` variables from which :meth:`from_env` rebuilds these settings (what a
        worker process started by the server reads)."""
        env = {}
        for f in fields(self):
            value = getattr(self, f.name)
            if f.name == "extra" or (f.name == "token" and value is None):
                continue
            if isinstance(value, tuple):
                text = ",".join(value)
            elif isinstance(value, bool):
                text = "1" if value else "0"
            elif value is None:
                text = "none"
            else:
                text = str(value)
            env[f"BUILDMOCK_{f.name.upper()}"] = text
        return env

    def with_(self, **changes: Any) -> Settings:
        """A copy with some fields changed."""
        return replace(self, **changes)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, **overrides: Any) -> Settings:
        """Defaults, then ``BUILDMOCK_<FIELD>`` variables, then explicit ``overrides`` (not None)."""
        env = os.environ if env is None else env
        values: dict[str, Any] = {}
        for f in fields(cls):
            raw = env.get(f"BUILDMOCK_{f.name.upper()}")
            if raw is not None and f.name != "extra":
                values[f.name] = _parse(f.name, raw)
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values)


def _parse(name: str, raw: str) -> Any:
    if name in ("port", "seed", "cap", "workers"):
        return int(raw)
    if name == "speed":
        return float(raw)
    if name in ("apis", "callback_allow"):
        return tuple(part.strip() for part in raw.replace(",", " ").split() if part.strip())
    if name in ("fixtures", "specs"):
        return Path(raw) if raw.strip().lower() not in ("", "none", "off") else None
    if name == "fast_path":
        return raw.strip().lower() not in ("0", "false", "no", "off", "")
    if name == "token":
        return raw or None
    return raw
