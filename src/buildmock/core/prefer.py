"""RFC 7240 ``Prefer`` headers, and the preferences the mock honours (Prism's plus its own).

Pure: no I/O, no randomness. ``parse`` turns header values into :class:`Preferences`; a value the
mock cannot honour raises :class:`PreferError` (answered as a 400 in the vendor's shape).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

#: Longest latency a request or a scenario may ask for (seconds); a 30-second response fits.
MAX_LATENCY = 300.0
#: Longest ``Retry-After`` a 429 may carry (seconds).
MAX_RETRY_AFTER = 86_400

#: Faults answered with a status in the vendor's error shape (429 carries ``Retry-After``).
STATUS_FAULTS = {"500": 500, "502": 502, "503": 503, "429": 429}
#: Faults that break the HTTP exchange itself.
TRANSPORT_FAULTS = ("reset", "empty", "malformed-chunk", "truncated")
FAULTS = (*STATUS_FAULTS, *TRANSPORT_FAULTS)

#: The keys the mock acts on; any other preference is ignored, as RFC 7240 requires.
KEYS = ("code", "example", "dynamic", "latency", "fault", "retry-after", "outcome")


class PreferError(ValueError):
    """A preference the mock understands but cannot honour (bad value)."""


@dataclass(frozen=True)
class Latency:
    """A delay: ``low`` seconds, or drawn uniformly from ``low`` to ``high`` when ``high`` is set."""

    low: float
    high: float | None = None

    def text(self) -> str:
        """The form it is written in (``250ms``, ``100ms-2s``)."""
        if self.high is None:
            return _ms(self.low)
        return f"{_ms(self.low)}-{_ms(self.high)}"


def _ms(seconds: float) -> str:
    return f"{round(seconds * 1000)}ms"


@dataclass(frozen=True)
class Preferences:
    """What a request (or a scenario rule) asks of the mock; None means "not asked"."""

    code: int | None = None
    example: str | None = None
    dynamic: bool | None = None
    latency: Latency | None = None
    fault: str | None = None
    retry_after: int | None = None
    outcome: str | None = None
    #: keys given, in order (for the journal)
    given: tuple[str, ...] = field(default=(), compare=False)

    def over(self, other: Preferences) -> Preferences:
        """These preferences, with ``other``'s filling the keys not set here."""
        if not other.given:
            return self
        if not self.given:
            return other
        changes = {
            name: getattr(other, name)
            for name in ("code", "example", "dynamic", "latency", "fault", "retry_after", "outcome")
            if getattr(self, name) is None
        }
        given = self.given + tuple(k for k in other.given if k not in self.given)
        return replace(self, **changes, given=given)

    def describe(self) -> str:
        """``key=value`` pairs of what is set, in header form."""
        parts = []
        for key in self.given:
            value = getattr(self, key.replace("-", "_"))
            if isinstance(value, Latency):
                value = value.text()
            elif isinstance(value, bool):
                value = "true" if value else "false"
            parts.append(f"{key}={value}")
        return ", ".join(parts)


NONE = Preferences()

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s)?\s*$")


def parse_duration(text: str) -> float:
    """``250ms``, ``1.5s`` or a bare number of milliseconds -> seconds (0 to MAX_LATENCY)."""
    match = _DURATION.match(text)
    if match is None:
        raise PreferError(f"{text!r} is not a duration like 250ms or 2s")
    value = float(match.group(1))
    seconds = value if match.group(2) == "s" else value / 1000
    if seconds > MAX_LATENCY:
        raise PreferError(f"{text} is longer than the maximum of {MAX_LATENCY:g}s")
    return seconds


def parse_latency(text: str) -> Latency:
    """``250ms`` (fixed) or ``100ms-2s`` (uniformly random in that range)."""
    low, sep, high = str(text).partition("-")
    if not sep:
        return Latency(parse_duration(low))
    lo, hi = parse_duration(low), parse_duration(high)
    if hi < lo:
        raise PreferError(f"latency range {text} ends before it starts")
    return Latency(lo, hi)


def _split(value: str, sep: str) -> list[str]:
    """Split on ``sep`` outside double-quoted strings."""
    parts, current, quoted, escaped = [], [], False, False
    for char in value:
        if escaped:
            current.append(char)
            escaped = False
        elif char == "\\" and quoted:
            current.append(char)
            escaped = True
        elif char == '"':
            quoted = not quoted
            current.append(char)
        elif char == sep and not quoted:
            parts.append("".join(current))
            current = []
        else:
            current.append(char)
    parts.append("".join(current))
    return parts


def _unquote(word: str) -> str:
    word = word.strip()
    if len(word) >= 2 and word[0] == word[-1] == '"':
        return re.sub(r"\\(.)", r"\1", word[1:-1])
    return word


def tokens(values: Iterable[str]) -> list[tuple[str, str, dict[str, str]]]:
    """Every preference of the header values as ``(name, value, parameters)``, names lower-cased.

    RFC 7240: preferences are comma-separated, each ``token [= word] *(; parameter)``; a
    preference given more than once counts only the first time.
    """
    found: list[tuple[str, str, dict[str, str]]] = []
    seen: set[str] = set()
    for header in values:
        for item in _split(header, ","):
            pieces = _split(item, ";")
            name, _, value = pieces[0].partition("=")
            name = name.strip().lower()
            if not name or name in seen:
                continue
            seen.add(name)
            params: dict[str, str] = {}
            for piece in pieces[1:]:
                key, _, val = piece.partition("=")
                if key.strip():
                    params.setdefault(key.strip().lower(), _unquote(val))
            found.append((name, _unquote(value), params))
    return found


def build(items: Mapping[str, Any]) -> Preferences:
    """Preferences from ``{key: value}`` (header or scenario form); bad values raise PreferError."""
    values: dict[str, Any] = {}
    given: list[str] = []
    for key, raw in items.items():
        name = key.replace("_", "-")
        if name not in KEYS or raw is None:
            continue
        text = raw if isinstance(raw, str) else str(raw)
        given.append(name)
        if name == "code":
            if isinstance(raw, bool) or not text.strip().isdigit() or not 200 <= int(text) <= 599:
                raise PreferError(f"code={text} is not an HTTP status code from 200 to 599")
            values["code"] = int(text)
        elif name == "dynamic":
            lowered = str(raw).strip().lower()
            if lowered not in ("true", "false"):
                raise PreferError(f"dynamic={text} must be true or false")
            values["dynamic"] = lowered == "true"
        elif name == "latency":
            values["latency"] = parse_latency(text)
        elif name == "fault":
            if text not in FAULTS:
                raise PreferError(f"fault={text} is not one of {', '.join(FAULTS)}")
            values["fault"] = text
        elif name == "retry-after":
            if isinstance(raw, bool) or not text.isdigit() or int(text) > MAX_RETRY_AFTER:
                raise PreferError(f"retry-after={text} must be 0 to {MAX_RETRY_AFTER} seconds")
            values["retry_after"] = int(text)
        elif not text:
            raise PreferError(f"{name}= needs a value")
        else:
            values[name] = text
    return Preferences(**values, given=tuple(given))


def parse(values: Iterable[str]) -> Preferences:
    """The preferences of ``Prefer`` header values (``fault=429; retry-after=30`` also works)."""
    items: dict[str, str] = {}
    for name, value, params in tokens(values):
        items[name] = value
        if name == "fault" and "retry-after" in params:
            items.setdefault("retry-after", params["retry-after"])
    return build(items)
