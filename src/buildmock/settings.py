"""Settings: one frozen object built from CLI options and ``BUILDMOCK_*`` environment variables."""

from __future__ import annotations

import difflib
import math
import os
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from buildmock.core.net import host_entry_problem

if TYPE_CHECKING:
    import httpx

_PACKAGE = Path(__file__).resolve().parent


def _data_dir(name: str) -> Path:
    """Find ``specs`` or ``fixtures``: inside an installed wheel, else at the source checkout's top."""
    bundled = _PACKAGE / "_data" / name
    return bundled if bundled.is_dir() else _PACKAGE.parents[1] / name


SPECS_DIR = _data_dir("specs")
FIXTURES_DIR = _data_dir("fixtures")

#: Origins a browser page may call the vendor APIs from by default: local development servers.
DEFAULT_CORS_ORIGINS = ("http://localhost:*", "http://127.0.0.1:*", "http://[::1]:*")
#: ``--speed`` bounds: beyond them a lifecycle would be shorter than a request or last centuries.
SPEED_RANGE = (0.001, 1_000_000.0)


@dataclass(frozen=True)
class VendorOption:
    """A setting one vendor's mock takes, declared on its ``Vendor`` record: ``--<flag>`` and
    ``BUILDMOCK_<FLAG>`` (dashes as underscores); ``choices`` empty: any text."""

    flag: str
    default: str
    help: str
    choices: tuple[str, ...] = ()

    @property
    def key(self) -> str:
        """Its key in ``Settings.options``."""
        return self.flag.replace("-", "_")

    @property
    def variable(self) -> str:
        """Its environment variable."""
        return f"BUILDMOCK_{self.key.upper()}"

    def problem(self, value: str) -> str | None:
        """What is wrong with ``value``, or None."""
        if self.choices and value not in self.choices:
            return f"must be one of {', '.join(self.choices)}"
        return None

    def of(self, settings: Settings) -> str:
        """Its value in ``settings`` (a ValueError naming the option if it is not allowed)."""
        value = settings.options.get(self.key, self.default)
        problem = self.problem(value)
        if problem:
            raise ValueError(f"--{self.flag} {problem}")
        return value


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
    #: Deprecated, ignored: every request takes the one request path (kept so old settings load).
    fast_path: bool = True
    #: Vendor options by key (``VendorOption.key``), as given; each vendor declares and reads its own.
    options: Mapping[str, str] = field(default_factory=dict)
    journal: int = 5000
    scenarios: Path | None = None
    state: Path | None = None
    control_token: str | None = None
    cors_origins: tuple[str, ...] = DEFAULT_CORS_ORIGINS
    access_log: bool = False
    max_body_bytes: int = 1_048_576
    max_json_depth: int = 64
    max_header_bytes: int = 16_384
    max_headers: int = 100
    timeout: float = 10.0
    workers: int = 1
    #: The HTTP server: uvicorn (every protection of server/protocol.py) or granian (server/on_granian.py).
    server: str = "uvicorn"
    extra: Mapping[str, Any] = field(default_factory=dict)
    #: In-process only (no option or variable): what carries callbacks instead of the network,
    #: e.g. ``httpx.MockTransport`` in tests; the allow-list and address checks still run.
    callback_transport: httpx.BaseTransport | None = field(default=None, compare=False, repr=False)

    def __post_init__(self) -> None:
        for name, check in _CHECKS.items():
            problem = check(getattr(self, name))
            if problem:
                raise ValueError(f"--{name.replace('_', '-')} {problem}")

    def to_env(self) -> dict[str, str]:
        """``BUILDMOCK_*`` variables from which :meth:`from_env` rebuilds these settings (what a
        worker process started by the server reads)."""
        env = {}
        for f in fields(self):
            value = getattr(self, f.name)
            if f.name == "options":
                env.update({f"BUILDMOCK_{key.upper()}": str(text) for key, text in value.items()})
            if f.name in IN_PROCESS or (value is None and f.name in ("token", "control_token")):
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

    @property
    def control_credential(self) -> str | None:
        """The credential the control API requires: ``--control-token``, else ``--token``."""
        return self.control_token if self.control_token is not None else self.token

    @classmethod
    def from_env(
        cls,
        env: Mapping[str, str] | None = None,
        vendor_options: Iterable[VendorOption] = (),
        **overrides: Any,
    ) -> Settings:
        """Defaults, then ``BUILDMOCK_<FIELD>`` variables, then explicit ``overrides`` (not None).

        A variable is checked as its option is; the error names the variable. ``vendor_options``
        are the vendors' own (read from ``BUILDMOCK_<KEY>``); ``overrides["options"]`` goes over them.
        """
        env = os.environ if env is None else env
        values: dict[str, Any] = {}
        options: dict[str, str] = {}
        for option in vendor_options:
            raw = env.get(option.variable)
            if raw is not None:
                problem = option.problem(raw)
                if problem:
                    raise ValueError(
                        f"{option.variable}={_excerpt(raw)} (--{option.flag}): {problem}"
                    )
                options[option.key] = raw
        options.update(overrides.pop("options", None) or {})
        if options:
            values["options"] = options
        for f in fields(cls):
            variable = f"BUILDMOCK_{f.name.upper()}"
            raw = env.get(variable)
            if raw is None or f.name in IN_PROCESS or overrides.get(f.name) is not None:
                continue
            try:
                value = _parse(f.name, raw)
                problem = _CHECKS[f.name](value) if f.name in _CHECKS else None
            except ValueError as exc:
                problem = str(exc)
            if problem:
                flag = f"--{f.name.replace('_', '-')}"
                raise ValueError(f"{variable}={_excerpt(raw)} ({flag}): {problem}")
            values[f.name] = value
        raw_off = env.get("BUILDMOCK_NO_FIXTURES")
        if raw_off is not None:
            try:
                if _boolean(raw_off):
                    values["fixtures"] = None
            except ValueError as exc:
                raise ValueError(f"BUILDMOCK_NO_FIXTURES={_excerpt(raw_off)}: {exc}") from None
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values)


#: Fields that only a caller in the same process sets: no option, no variable.
IN_PROCESS = frozenset({"extra", "callback_transport", "options"})
#: ``BUILDMOCK_*`` variables that are not fields but are read (``BUILDMOCK_TEST_*`` belong to the tests).
OTHER_VARIABLES = frozenset({"BUILDMOCK_NO_FIXTURES"})


def unknown_variables(env: Mapping[str, str] | None = None, also: Iterable[str] = ()) -> list[str]:
    """A warning for each ``BUILDMOCK_*`` variable that nothing reads (a typo), with the closest;
    ``also`` names the variables the vendors read."""
    env = os.environ if env is None else env
    known = {f"BUILDMOCK_{f.name.upper()}" for f in fields(Settings) if f.name not in IN_PROCESS}
    known |= OTHER_VARIABLES | set(also)
    warnings = []
    for name in sorted(env):
        if name.startswith("BUILDMOCK_") and name not in known:
            if name.startswith("BUILDMOCK_TEST_"):
                continue
            close = difflib.get_close_matches(name, sorted(known), n=1, cutoff=0.75)
            hint = f"; did you mean {close[0]}?" if close else ""
            warnings.append(f"{name} is not a buildmock setting and is ignored{hint}")
    return warnings


def _excerpt(raw: str, limit: int = 40) -> str:
    """A value as quoted in an error: repr, cut short."""
    text = repr(raw)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _boolean(raw: str) -> bool:
    word = raw.strip().lower()
    if word in ("1", "true", "yes", "on"):
        return True
    if word in ("0", "false", "no", "off", ""):
        return False
    raise ValueError("expected one of 1, 0, true, false, yes, no, on, off")


def _integer(raw: str) -> int:
    try:
        return int(raw.strip())
    except ValueError:
        raise ValueError("not an integer") from None


def _number(raw: str) -> float:
    try:
        return float(raw.strip())
    except ValueError:
        raise ValueError("not a number") from None


def _names(raw: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in raw.replace(",", " ").split() if part.strip())


def _parse(name: str, raw: str) -> Any:
    if name in ("port", "seed", "cap", "journal", "workers", "max_body_bytes", "max_json_depth",
                "max_header_bytes", "max_headers"):  # fmt: skip
        return _integer(raw)
    if name in ("speed", "timeout"):
        return _number(raw)
    if name in ("apis", "callback_allow", "cors_origins"):
        return _names(raw)
    if name in ("fixtures", "specs", "scenarios", "state"):
        return Path(raw) if raw.strip().lower() not in ("", "none", "off") else None
    if name in ("fast_path", "access_log"):
        return _boolean(raw)
    if name in ("token", "control_token"):
        return raw or None
    return raw


def _at_least(low: int, high: int | None = None) -> Callable[[Any], str | None]:
    def check(value: Any) -> str | None:
        if isinstance(value, bool) or not isinstance(value, int):
            return "must be an integer"
        if value < low or (high is not None and value > high):
            return f"must be between {low} and {high}" if high else f"must be at least {low}"
        return None

    return check


def _within(low: float, high: float) -> Callable[[Any], str | None]:
    def check(value: Any) -> str | None:
        if isinstance(value, bool) or not isinstance(value, int | float):
            return "must be a number"
        if not math.isfinite(value) or not low <= value <= high:
            return f"must be a finite number between {low:g} and {high:g}"
        return None

    return check


def _one_of(*choices: str) -> Callable[[Any], str | None]:
    def check(value: Any) -> str | None:
        return None if value in choices else f"must be one of {', '.join(choices)}"

    return check


def _directory(value: Any) -> str | None:
    if value is not None and not Path(value).is_dir():
        return f"{value}: not a directory"
    return None


def _token(value: Any) -> str | None:
    if value is not None and (not value.strip() or any(c.isspace() for c in value)):
        return "must be non-empty and contain no whitespace"
    return None


def _origins(value: Any) -> str | None:
    for origin in value:
        if origin != "*" and not origin.startswith(("http://", "https://")):
            return f"{origin!r} is not '*' or an http(s) origin"
    return None


def _hosts(value: Any) -> str | None:
    for entry in value:
        problem = host_entry_problem(entry) if isinstance(entry, str) else "is not a string"
        if problem:
            return f"{_excerpt(str(entry))} {problem}"
    return None


def _store(value: Any) -> str | None:
    if value in ("memory", "memory://", "") or str(value).startswith(
        ("redis://", "rediss://", "unix://")
    ):
        return None
    return f"{_excerpt(str(value))} is not memory:// or redis://HOST:PORT/DB"


#: Field -> check (None if fine, else what is wrong); used for options and variables alike.
_CHECKS: dict[str, Callable[[Any], str | None]] = {
    "port": _at_least(1, 65535),
    "cap": _at_least(1),
    "clock": _one_of("real", "manual"),
    "speed": _within(*SPEED_RANGE),
    "log_level": _one_of("debug", "info", "warning", "error"),
    "fixtures": _directory,
    "specs": _directory,
    "token": _token,
    "control_token": _token,
    "cors_origins": _origins,
    "callback_allow": _hosts,
    "max_body_bytes": _at_least(1),
    "max_json_depth": _at_least(1, 10_000),
    "max_header_bytes": _at_least(1024),
    "max_headers": _at_least(8),
    "timeout": _within(0.1, 3600.0),
    "journal": _at_least(0, 1_000_000),
    "workers": _at_least(1, 64),
    "server": _one_of("uvicorn", "granian"),
    "store": _store,
}
