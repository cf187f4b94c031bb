"""Start-up: one-line errors, the exposure warning, the guarded protocols."""

from __future__ import annotations

import socket

import pytest

from buildmock.server.protocol import GuardedH11, GuardedHttpTools, protocol
from buildmock.server.run import exposure_warning, listen, serve
from buildmock.settings import Settings
from tests.process import free_port


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


@pytest.mark.parametrize("workers", [1, 2])
@pytest.mark.parametrize(
    ("store", "said"),
    [
        ("redis://:hunter2-secret@127.0.0.1:{closed}/0", "connecting to 127.0.0.1:{closed}"),
        ("redis://127.0.0.1:notaport/0", "notaport"),
    ],
)
def test_unreachable_store_is_one_line(
    capsys: pytest.CaptureFixture[str], store: str, said: str, workers: int
) -> None:
    closed = free_port()  # nothing listens there
    settings = Settings(port=free_port(), store=store.format(closed=closed), workers=workers)
    assert serve(settings) == 2
    err = capsys.readouterr().err
    assert err.startswith("buildmock: error: cannot use --store redis://") and err.count("\n") == 1
    assert said.format(closed=closed) in err
    assert "hunter2-secret" not in err and "Traceback" not in err
