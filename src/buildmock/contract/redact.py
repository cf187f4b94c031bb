"""Keeping secrets out of output: the values of ``-H`` headers are masked where a request is shown.

Redaction is by header, not by substring: a value is replaced where it stands as that header's value
(``Name: value`` in a curl line, a message, a JSON dump), in each encoding it may be shown in (raw,
shell-escaped, URL-encoded, JSON-escaped). A value of at least :data:`BARE_MIN` characters is also masked
where it stands on its own (a server echoing a token); shorter ones (``X-Team: 1``) are not, so the
digits of a version or a timing are never touched. Redaction runs on the data, before any report is
rendered, so every report keeps its own escaping and stays parseable.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import quote, quote_plus

MASK = "[REDACTED]"

#: Shortest value also masked where it appears without its header name (documented in the README).
BARE_MIN = 8

#: Auth schemes whose credential is also masked on its own (``Bearer abc`` -> ``abc`` too).
_SCHEMES = re.compile(r"^(?:bearer|basic|token|digest|apikey|api-key)\s+", re.IGNORECASE)


def encodings(value: str) -> set[str]:
    """The forms ``value`` may take in output: raw, shell-escaped, URL-encoded, JSON-escaped."""
    forms = {
        value,
        value.replace("'", "'\"'\"'"),  # inside a single-quoted shell word (curl -H '...')
        value.replace("'", "'\\''"),
        quote(value, safe=""),
        quote_plus(value, safe=""),
        json.dumps(value, ensure_ascii=False)[1:-1],
        json.dumps(value)[1:-1],
    }
    return {form for form in forms if form}


class Redactor:
    """Masks the values of the given headers with ``[REDACTED]`` wherever a request is shown."""

    def __init__(self, headers: Iterable[tuple[str, str]] = ()) -> None:
        named: list[re.Pattern[str]] = []
        bare: set[str] = set()
        for name, value in headers:
            value = value.strip()
            if not value:
                continue
            credential = _SCHEMES.sub("", value).strip()
            forms = sorted(encodings(value), key=len, reverse=True)
            alternatives = "|".join(re.escape(form) for form in forms)
            # ``Name: value`` (any case, any spacing), the whole value up to where the value ends.
            named.append(
                re.compile(
                    rf"(?i)(?<![\w-])({re.escape(name)}[\"']?\s*[:=]\s*[\"']?)(?:{alternatives})"
                    r"(?=$|[\s'\"\\,;&)\]}])"
                )
            )
            for secret in (value, credential):
                if len(secret) >= BARE_MIN:
                    bare |= encodings(secret)
        self._named = named
        # Longest first, so "Bearer abc..." is masked whole before the credential alone.
        self._bare = [
            re.compile(rf"(?<![\w-]){re.escape(form)}(?![\w-])")
            for form in sorted(bare, key=len, reverse=True)
        ]

    @classmethod
    def for_headers(cls, headers: Mapping[str, str]) -> Redactor:
        """A redactor for every ``name: value`` in ``headers``."""
        return cls(headers.items())

    def text(self, value: str) -> str:
        """``value`` with every header value masked."""
        for pattern in self._named:
            value = pattern.sub(lambda m: m.group(1) + MASK, value)
        for pattern in self._bare:
            value = pattern.sub(MASK, value)
        return value

    def data(self, value: Any) -> Any:
        """A copy of a JSON-like structure with every string masked."""
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, Mapping):
            return {self.text(str(k)): self.data(v) for k, v in value.items()}
        if isinstance(value, (list, tuple)):
            return [self.data(v) for v in value]
        return value


def parse_header(raw: str) -> tuple[str, str]:
    """``'Name: value'`` -> ``('Name', 'value')``; raises ValueError on anything else."""
    name, sep, value = raw.partition(":")
    name = name.strip()
    if not sep or not name or not re.fullmatch(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+", name):
        raise ValueError("-H/--header expects 'Name: value'")
    return name, value.strip()
