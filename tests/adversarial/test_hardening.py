"""Issue #16's cases against real servers on loopback: each must show the hardened behaviour.

``python -m tests.adversarial.table --before <src>`` prints the same cases as a before/after table.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.adversarial.lab import Lab
from tests.adversarial.probes import CASES


@pytest.fixture(scope="module")
def lab() -> Iterator[Lab]:
    made = Lab()
    try:
        yield made
    finally:
        made.close()


@pytest.mark.parametrize("name", list(CASES))
def test_case_is_hardened(lab: Lab, name: str) -> None:
    ok, observed = CASES[name].probe(lab)
    assert ok, f"{CASES[name].case}: {observed}"
