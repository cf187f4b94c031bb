"""Callback targets: resolved, every address checked, the checked address used, never the mock."""

from __future__ import annotations

import pytest

from buildmock.callbacks import Target, pinned_target


def test_loopback_name_is_resolved_and_pinned_to_its_address() -> None:
    target = pinned_target("http://localhost:9999/cb?x=1")
    assert isinstance(target, Target)
    assert target.url.startswith(("http://127.", "http://[::1]")) and target.url.endswith(
        ":9999/cb?x=1"
    )
    assert target.host_header == "localhost:9999" and target.server_name == "localhost"


@pytest.mark.parametrize(
    ("url", "extra", "reason"),
    [
        ("http://127.0.0.1:8080/__buildmock/reset", (), "the mock itself"),
        ("http://[::1]:8080/x", (), "the mock itself"),
        ("http://127.0.0.2:8080/x", (), "the mock itself"),
        ("http://nothing-here.localhost:9/cb", (), "does not resolve"),
        ("http://10.9.9.9:80/cb", ("10.0.0.0/16",), "not on the allow-list"),
    ],
)
def test_refused_targets(url: str, extra: tuple[str, ...], reason: str) -> None:
    refused = pinned_target(url, extra, own=("127.0.0.1", 8080))
    assert isinstance(refused, str) and reason in refused


def test_mock_bound_elsewhere_still_refuses_its_own_address() -> None:
    refused = pinned_target("http://10.1.2.3:8080/x", ("10.0.0.0/8",), own=("10.1.2.3", 8080))
    assert isinstance(refused, str) and "the mock itself" in refused
    other_port = pinned_target("http://10.1.2.3:8081/x", ("10.0.0.0/8",), own=("10.1.2.3", 8080))
    assert isinstance(other_port, Target) and other_port.url == "http://10.1.2.3:8081/x"


def test_https_keeps_the_name_for_tls() -> None:
    target = pinned_target("https://localhost/hook")
    assert isinstance(target, Target) and target.server_name == "localhost"
    assert target.host_header == "localhost"
