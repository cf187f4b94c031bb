"""``bench.contract``'s arithmetic: the all-vendor floor from each vendor's CPU seconds."""

from __future__ import annotations

import pytest
from bench.contract import floor


@pytest.mark.parametrize(
    ("cpu", "jobs", "expected"),
    [
        ({"escape": 35.0, "vela": 30.0, "nuon": 23.0, "stainless": 7.0, "cocktail": 4.0}, 2, 53.0),
        ({"escape": 35.0, "vela": 30.0}, 1, 65.0),
        ({"a": 10.0, "b": 10.0, "c": 10.0}, 4, 10.0),
        ({}, 2, 0.0),
    ],
)
def test_floor_deals_the_longest_first(cpu: dict[str, float], jobs: int, expected: float) -> None:
    assert floor(cpu, jobs) == expected
