"""Vendor id formats, drawn from a seeded random source."""

from __future__ import annotations

import base64
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
    a build. Hex and 32-character alphabets are written by the C codecs (the same text).
    """
    if alphabet == HEX and length:
        return rng.getrandbits(4 * length).to_bytes((length + 1) // 2, "big").hex()[length % 2 :]
    size = len(alphabet)
    value = rng.randrange(size**length)
    if size == 32 and length and alphabet.isascii():
        return _base32(value, alphabet, length)
    chars = []
    for _ in range(length):
        value, digit = divmod(value, size)
        chars.append(alphabet[digit])
    return "".join(chars)


_RFC4648 = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"


@functools.lru_cache(maxsize=8)
def _translation(alphabet: str) -> bytes:
    return bytes.maketrans(_RFC4648, alphabet.encode("utf-8"))


def _base32(value: int, alphabet: str, length: int) -> str:
    """``value``'s ``length`` base-32 digits, least significant first, as characters of
    ``alphabet``: ``base64.b32encode`` writes them most significant first (padded to 40 bits)."""
    pad = -5 * length % 40
    encoded = base64.b32encode((value << pad).to_bytes((5 * length + pad) // 8, "big"))
    return encoded[length - 1 :: -1].translate(_translation(alphabet)).decode("utf-8")


def prefixed(rng: random.Random, prefix: str, alphabet: str, length: int) -> str:
    """A vendor id: ``prefix`` followed by ``length`` characters of ``alphabet``."""
    return prefix + draw(rng, alphabet, length)


def sha(rng: random.Random) -> str:
    """A 40-hex git commit SHA (``draw(rng, HEX, 40)``, without its dispatch: builds draw many)."""
    return rng.getrandbits(160).to_bytes(20, "big").hex()


def matcher(prefix: str, alphabet: str, length: int) -> re.Pattern[str]:
    """A regex that accepts exactly the ids :func:`prefixed` makes with these arguments."""
    return re.compile(f"^{re.escape(prefix)}[{re.escape(alphabet)}]{{{length}}}$")
