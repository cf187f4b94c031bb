"""Keeping secrets out of output: every header value given to a run is masked wherever text leaves it."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

MASK = "[REDACTED]"

#: Auth schemes whose credential is also masked on its own (``Bearer abc`` -> ``abc`` too).
_SCHEMES = re.compile(r"^(?:bearer|basic|token|digest|apikey|api-key)\s+", re.IGNORECASE)


class Redactor:
    """Replaces secret strings (and their credential part after an auth scheme) with ``[REDACTED]``."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        found: set[str] = set()
        for value in secrets:
            value = value.strip()
            if not value:
                continue
            found.add(value)
            bare = _SCHEMES.sub("", value).strip()
            if bare:
                found.add(bare)
        # Longest first, so "Bearer abc" is masked whole before "abc" alone.
        self.secrets = sorted(found, key=len, reverse=True)

    @classmethod
    def for_headers(cls, headers: Mapping[str, str]) -> Redactor:
        """A redactor for every value in ``headers``."""
        return cls(headers.values())

    def text(self, value: str) -> str:
        """``value`` with every secret masked."""
        for secret in self.secrets:
            if secret in value:
                value = value.replace(secret, MASK)
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
