"""Contract checks: one test per operation of a vendor's spec (Schemathesis), in your JUnit report.

Against the mock the plugin starts, and, when credentials are in the environment, against the real
API: read-only there (GET/HEAD/OPTIONS only; writes are refused before they leave the process), the
token masked in every failure message, each failure explained as schema drift.
"""

from __future__ import annotations

import os

from buildmock.testing import contract_tests

# Every Stainless operation against the buildmock server, five generated cases per phase.
test_stainless_mock = contract_tests("stainless", max_examples=5, seed=1)

if os.environ.get("STAINLESS_API_KEY"):
    test_stainless_live = contract_tests(
        "stainless",
        base_url="https://api.stainless.com",
        headers={"Authorization": f"Bearer {os.environ['STAINLESS_API_KEY']}"},
        max_examples=5,
    )
