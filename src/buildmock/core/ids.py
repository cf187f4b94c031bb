"""Vendor id formats, drawn from a seeded random source."""

from __future__ import annotations

import functools
import random
import re

BASE32 = "abcdefghijklmnopqrstuvwxyz234567"
BASE36 = "0123456789abcdefghijklmnopqrstuvwxyz"
HEX = "0123456789abcdef"


def draw(rng: random.Random, alphabet: str, length: int) -> str:
    """``length`` characters of ``alphabet`` from ``rng``, uniformly.

    One big random integer written in base ``len(alphabet)``, its least significant digit first:
    several times faster than drawing character by character, which dominated the cost of creating
    a build. Hex is written by ``bytes.hex``, other power-of-two bases by shifting (the same text).
    """
    if alphabet == HEX and length:
        return rng.getrandbits(4 * length).to_bytes((length + 1) // 2, "big").hex()[length % 2 :]
    size = len(alphabet)
    value = rng.randrange(size**length)
    if 1 < size <= 64 and size & (size - 1) == 0:  # a digit is ``bits`` bits: two at a time
        bits, pairs = size.bit_length() - 1, _pairs(alphabet)
        mask = size * size - 1
        return "".join([pairs[value >> at & mask] for at in range(0, bits * length, 2 * bits)])[
            :length
        ]
    chars = []
    for _ in range(length):
        value, digit = divmod(value, size)
        chars.append(alphabet[digit])
    return "".join(chars)


@functools.lru_cache(maxsize=16)
def _pairs(alphabet: str) -> tuple[str, ...]:
    """Every two digits of ``alphabet``, the less significant first, at their value."""
    return tuple(low + high for high in alphabet for low in alphabet)


def prefixed(rng: random.Random, prefix: str, alphabet: str, length: int) -> str:
    """A vendor id: ``prefix`` followed by ``length`` characters of ``alphabet``."""
    return prefix + draw(rng, alphabet, length)


def sha(rng: random.Random) -> str:
    """A 40-hex git commit SHA (``draw(rng, HEX, 40)``, without its dispatch: builds draw many)."""
    return rng.getrandbits(160).to_bytes(20, "big").hex()


def matcher(prefix: str, alphabet: str, length: int) -> re.Pattern[str]:
    """A regex that accepts exactly the ids :func:`prefixed` makes with these arguments."""
    return re.compile(f"^{re.escape(prefix)}[{re.escape(alphabet)}]{{{length}}}$")
