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
