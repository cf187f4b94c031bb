"""Vendor id formats, drawn from a seeded random source."""

from __future__ import annotations

import random
import re

BASE32 = "abcdefghijklmnopqrstuvwxyz234567"
BASE36 = "0123456789abcdefghijklmnopqrstuvwxyz"
HEX = "0123456789abcdef"


def draw(rng: random.Random, alphabet: str, length: int) -> str:
    """``length`` characters of ``alphabet`` from ``rng``."""
    return "".join(rng.choices(alphabet, k=length))


def prefixed(rng: random.Random, prefix: str, alphabet: str, length: int) -> str:
    """A vendor id: ``prefix`` followed by ``length`` characters of ``alphabet``."""
    return prefix + draw(rng, alphabet, length)


def sha(rng: random.Random) -> str:
    """A 40-hex git commit SHA."""
    return draw(rng, HEX, 40)


def matcher(prefix: str, alphabet: str, length: int) -> re.Pattern[str]:
    """A regex that accepts exactly the ids :func:`prefixed` makes with these arguments."""
    return re.compile(f"^{re.escape(prefix)}[{re.escape(alphabet)}]{{{length}}}$")
