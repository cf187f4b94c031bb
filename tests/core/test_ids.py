"""Vendor ids drawn from a seeded stream."""

from __future__ import annotations

import random

import pytest

from buildmock.core import ids


@pytest.mark.parametrize("seed", range(5))
def test_sha_is_a_forty_hex_draw(seed: int) -> None:
    # ``sha`` skips ``draw``'s dispatch: the same values, and the stream left where ``draw`` leaves it.
    fast, general = random.Random(seed), random.Random(seed)
    assert [ids.sha(fast) for _ in range(50)] == [ids.draw(general, ids.HEX, 40) for _ in range(50)]
    assert fast.random() == general.random()


def test_prefixed_ids_are_what_the_matcher_accepts() -> None:
    rng = random.Random(1)
    for alphabet, length in ((ids.BASE32, 26), (ids.BASE36, 23), (ids.HEX, 12)):
        matcher = ids.matcher("x_", alphabet, length)
        drawn = [ids.prefixed(rng, "x_", alphabet, length) for _ in range(200)]
        assert all(matcher.match(value) for value in drawn)
        assert len(set(drawn)) == 200


def _digits(rng: random.Random, alphabet: str, length: int) -> str:
    """The reference, character by character: hex digits of one random integer; a random byte
    per character, modulo the alphabet's size, for an ASCII alphabet whose size divides 256; else one big random
    integer written out digit by digit, least significant first."""
    size = len(alphabet)
    if alphabet == ids.HEX:
        return format(rng.getrandbits(4 * length), f"0{length}x")
    if alphabet.isascii() and size > 1 and 256 % size == 0:
        return "".join(alphabet[byte % size] for byte in rng.randbytes(length))
    value, chars = rng.randrange(size**length), []
    for _ in range(length):
        value, digit = divmod(value, size)
        chars.append(alphabet[digit])
    return "".join(chars)


@pytest.mark.parametrize(
    "alphabet",
    [ids.HEX, ids.BASE32, ids.BASE36, "0123456789ABCDEFGHJKMNPQRSTVWXYZ", "01", "x", "é0"],
)
def test_draw_writes_the_digits_as_the_reference_does(alphabet: str) -> None:
    # Hex and alphabets whose size divides 256 take shortcuts; every length (odd hex lengths
    # too) gives the reference's text and leaves the same stream.
    fast, reference = random.Random(9), random.Random(9)
    for length in [*range(1, 41), 64, 26, 26, 26]:
        for _ in range(20):
            assert ids.draw(fast, alphabet, length) == _digits(reference, alphabet, length)
    assert fast.random() == reference.random()
