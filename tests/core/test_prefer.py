"""RFC 7240 parsing and the preferences the mock honours."""

from __future__ import annotations

import pytest

from buildmock.core import prefer
from buildmock.core.prefer import Latency, PreferError


def test_combined_in_one_header_with_parameters_and_quotes() -> None:
    found = prefer.parse(['code=404, example="a, b", latency=250ms, fault=429; retry-after=30'])
    assert found.code == 404
    assert found.example == "a, b"
    assert found.latency == Latency(0.25)
    assert (found.fault, found.retry_after) == ("429", 30)


def test_several_headers_and_first_instance_wins() -> None:
    found = prefer.parse(["outcome=failure", "outcome=success, dynamic=false"])
    assert (found.outcome, found.dynamic) == ("failure", False)


def test_unknown_preferences_are_ignored() -> None:
    found = prefer.parse(["respond-async, wait=10, return=minimal"])
    assert found == prefer.NONE and not found.given


@pytest.mark.parametrize(
    ("text", "expected"),
    [("250ms", Latency(0.25)), ("2s", Latency(2.0)), ("1.5s", Latency(1.5)), ("40", Latency(0.04)),
     ("100ms-2s", Latency(0.1, 2.0))],
)  # fmt: skip
def test_latency_forms(text: str, expected: Latency) -> None:
    assert prefer.parse_latency(text) == expected


@pytest.mark.parametrize(
    "header",
    ["code=abc", "code=99", "code=600", "dynamic=maybe", "latency=soon", "latency=2s-1s",
     "latency=301s", "fault=explode", "fault=429; retry-after=-1", "example="],
)  # fmt: skip
def test_bad_values_are_refused(header: str) -> None:
    with pytest.raises(PreferError):
        prefer.parse([header])


def test_over_fills_only_what_is_missing() -> None:
    header = prefer.parse(["latency=1s"])
    rule = prefer.build({"latency": "5s", "fault": "503"})
    merged = header.over(rule)
    assert (merged.latency, merged.fault) == (Latency(1.0), "503")
    assert merged.describe() == "latency=1000ms, fault=503"
