"""``buildmock serve --server granian``: the same answers as uvicorn, and what it keeps of the limits."""

from __future__ import annotations

import socket
import time

import pytest

from buildmock.server.run import serve
from buildmock.settings import Settings
from tests.cli.test_serve import _journey
from tests.process import free_port, serving


def test_same_bytes_as_uvicorn_for_the_same_seed() -> None:
    answers = []
    for server in ("uvicorn", "granian"):
        with serving("--server", server, "--clock", "manual", "--api", "stainless") as (base, _):
            answers.append(_journey(base))
    assert answers[0] == answers[1] and len(answers[0]) == 7


def test_header_deadline_and_head_bound_are_kept() -> None:
    with serving("--server", "granian", "--timeout", "1", "--api", "stainless") as (base, _):
        port = int(base.rsplit(":", 1)[1])
        with socket.create_connection(("127.0.0.1", port)) as trickle:
            trickle.sendall(b"GET /stainless/v0/builds HTTP/1.1\r\nHost: x\r\n")  # never ends
            trickle.settimeout(10)
            started = time.monotonic()
            while trickle.recv(4096):  # granian may answer 408 before it closes
                pass
            assert time.monotonic() - started < 8
        with socket.create_connection(("127.0.0.1", port)) as big:
            big.sendall(b"GET /stainless/v0/builds HTTP/1.1\r\nHost: x\r\nX-Big: ")
            big.sendall(b"a" * 40_000 + b"\r\n\r\n")
            big.settimeout(10)
            assert big.recv(4096).startswith(b"HTTP/1.1 431 ")


def test_workers_with_a_memory_store_are_refused(capsys: pytest.CaptureFixture[str]) -> None:
    assert serve(Settings(port=free_port(), server="granian", workers=2)) == 2
    err = capsys.readouterr().err
    assert (
        err.startswith("buildmock: error: --workers 2 needs a shared store")
        and err.count("\n") == 1
    )
