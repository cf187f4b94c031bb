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

    Hex is one random integer written by ``bytes.hex``; an alphabet of 2, 4, …, 256 ASCII
    characters is one random byte per character, translated (a byte modulo the alphabet's size is
    uniform); any other is one big random integer written in base ``len(alphabet)``, its least
    significant digit first. Drawing character by character dominated the cost of creating a build.
    """
    if alphabet == HEX and length:
        return rng.getrandbits(4 * length).to_bytes((length + 1) // 2, "big").hex()[length % 2 :]
    table = _translation(alphabet)
    if table is not None:
        return rng.randbytes(length).translate(table).decode("ascii")
    size = len(alphabet)
    value = rng.randrange(size**length)
    chars = []
    for _ in range(length):
        value, digit = divmod(value, size)
        chars.append(alphabet[digit])
    return "".join(chars)


@functools.lru_cache(maxsize=16)
def _translation(alphabet: str) -> bytes | None:
    """The byte table writing byte ``b`` as ``alphabet[b % len(alphabet)]``, for an ASCII alphabet
    whose size divides 256; None for any other."""
    size = len(alphabet)
    if not alphabet.isascii() or size < 2 or 256 % size:
        return None
    return bytes(ord(alphabet[b % size]) for b in range(256))


def prefixed(rng: random.Random, prefix: str, alphabet: str, length: int) -> str:
    """A vendor id: ``prefix`` followed by ``length`` characters of ``alphabet``."""
    return prefix + draw(rng, alphabet, length)


def sha(rng: random.Random) -> str:
    """A 40-hex git commit SHA (``draw(rng, HEX, 40)``, without its dispatch: builds draw many)."""
    return rng.getrandbits(160).to_bytes(20, "big").hex()


def matcher(prefix: str, alphabet: str, length: int) -> re.Pattern[str]:
    """A regex that accepts exactly the ids :func:`prefixed` makes with these arguments."""
    return re.compile(f"^{re.escape(prefix)}[{re.escape(alphabet)}]{{{length}}}$")
