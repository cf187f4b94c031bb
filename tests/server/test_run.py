"""Start-up: one-line errors, the exposure warning, the guarded protocols."""

from __future__ import annotations

import socket

import pytest

from buildmock.server.protocol import GuardedH11, GuardedHttpTools, protocol
from buildmock.server.run import exposure_warning, listen
from buildmock.settings import Settings


def test_bind_errors_are_one_line() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        with pytest.raises(OSError) as busy:
            listen("127.0.0.1", taken.getsockname()[1])
    assert "address already in use" in str(busy.value) and "\n" not in str(busy.value)
    with pytest.raises(OSError, match=r"cannot resolve --host 'no-such-host\.invalid'"):
        listen("no-such-host.invalid", 8080)


@pytest.mark.parametrize(
    ("settings", "warns"),
    [
        (Settings(host="0.0.0.0"), True),
        (Settings(host="::"), True),
        (Settings(host="0.0.0.0", token="t"), False),
        (Settings(host="0.0.0.0", control_token="c"), False),
        (Settings(host="127.0.0.1"), False),
        (Settings(host="localhost"), False),
    ],
)
def test_exposure_warning(settings: Settings, warns: bool) -> None:
    assert (exposure_warning(settings) is not None) is warns


def test_protocols_carry_the_limits() -> None:
    made = protocol("httptools", timeout=3.0, max_headers=7, max_header_bytes=2048)
    assert issubclass(made, GuardedHttpTools)
    assert (made.header_timeout, made.max_headers, made.max_header_bytes) == (3.0, 7, 2048)  # type: ignore[attr-defined]
    assert issubclass(
        protocol("h11", timeout=1.0, max_headers=7, max_header_bytes=2048), GuardedH11
    )
