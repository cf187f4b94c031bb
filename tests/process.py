"""Real processes for end-to-end tests: a ``buildmock serve`` on a free loopback port, Debian tools."""

from __future__ import annotations

import fcntl
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def answers_health(
    base: str, wait: float, running: Callable[[], bool] = lambda: True, status: int | None = 200
) -> bool:
    """Whether the server at ``base`` answers its health check (with ``status``; any status if
    None) within ``wait`` seconds, polled while ``running()``.

    One client for every poll: a client builds its TLS context (the CA bundle parsed) when it is
    made, which ``httpx.get`` did on every poll of every server start.
    """
    deadline = time.monotonic() + wait
    with httpx.Client(timeout=1) as client:
        while time.monotonic() < deadline and running():
            try:
                answer = client.get(f"{base}/__buildmock/health")
            except httpx.TransportError:
                time.sleep(0.05)
                continue
            if status is None or answer.status_code == status:
                return True
    return False


@contextmanager
def serving(
    *args: str, env: dict[str, str] | None = None
) -> Iterator[tuple[str, subprocess.Popen[str]]]:
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "buildmock", "serve", "--port", str(port), *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, **(env or {})},
    )
    base = f"http://127.0.0.1:{port}"
    try:
        if not answers_health(base, 30):
            process.kill()
            pytest.fail(f"server did not start: {process.communicate()[0]}")
        yield base, process
    finally:
        process.terminate()
        process.wait(timeout=10)


#: Held while apt-get runs, so test workers (pytest-xdist) needing a package install it one at a time.
APT_LOCK = Path(tempfile.gettempdir()) / "buildmock-tests-apt.lock"


def debian_binary(binary: str, package: str) -> str:
    """The path of ``binary``, installing Debian's ``package`` first when it is missing (CI is root)."""
    found = shutil.which(binary)
    if found is None:
        with APT_LOCK.open("a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)  # another worker may be installing it right now
            found = shutil.which(binary)
            if found is None:
                _apt_install(package)
                found = shutil.which(binary)
    if found is None:
        pytest.fail(f"{package} installed no {binary}")
    return found


def _apt_install(package: str) -> None:
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for command in (["apt-get", "update", "-qq"], ["apt-get", "install", "-y", "-qq", package]):
        done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=900)
        if done.returncode != 0:
            pytest.fail(f"{' '.join(command)} failed: {done.stderr[-2000:]}")
