"""Real ``buildmock serve`` processes on loopback for the adversarial probes, from any source tree.

Each server runs ``python -m buildmock`` with ``PYTHONPATH`` set to a source tree (this checkout by
default, or another one, e.g. the unmodified baseline, for the before/after table), writes its output
to a file the probes can read, and is stopped when the lab closes.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from tests.process import answers_health, free_port

SRC = Path(__file__).resolve().parents[2] / "src"
#: The token the shared servers pin (``--token``).
TOKEN = "S3cret-token"
CONTROL = {"X-Buildmock-Token": TOKEN, "Authorization": f"Bearer {TOKEN}"}
JSON = {"Content-Type": "application/json"}


@dataclass
class Server:
    """One running (or failed) server process."""

    process: subprocess.Popen[bytes]
    port: int
    log: Path
    started: bool

    @property
    def base(self) -> str:
        """Its root URL."""
        return f"http://127.0.0.1:{self.port}"

    def output(self) -> str:
        """Everything it printed so far."""
        return self.log.read_text(errors="replace")

    def stop(self) -> None:
        """Stop it (if still running)."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)


@dataclass
class Lab:
    """Starts servers from ``src`` and remembers them for :meth:`close`."""

    src: Path = SRC
    servers: dict[str, Server] = field(default_factory=dict)
    workdir: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="bm-adv-")))

    def env(self, extra: dict[str, str] | None = None) -> dict[str, str]:
        """The environment of a child: ours without ``BUILDMOCK_*``, plus ``extra``."""
        env = {k: v for k, v in os.environ.items() if not k.startswith("BUILDMOCK_")}
        env["PYTHONPATH"] = str(self.src)
        return {**env, **(extra or {})}

    def start(
        self, *args: str, env: dict[str, str] | None = None, port: int | None = None,
        wait: float = 30.0,
    ) -> Server:  # fmt: skip
        """Start ``buildmock serve ARGS``; wait until it answers health, exits, or ``wait`` passes."""
        port = port or free_port()
        log = self.workdir / f"server-{port}-{time.monotonic_ns()}.log"
        command = [sys.executable, "-m", "buildmock", "serve", *args]
        if not any(a.startswith("--port") for a in args) and "BUILDMOCK_PORT" not in (env or {}):
            command += ["--port", str(port)]
        with log.open("wb") as out:
            process = subprocess.Popen(
                command, stdout=out, stderr=subprocess.STDOUT, env=self.env(env), cwd=self.workdir
            )
        server = Server(process, port, log, started=False)
        server.started = answers_health(
            server.base, wait, running=lambda: process.poll() is None, status=None
        )
        return server

    def shared(self, name: str, *args: str, env: dict[str, str] | None = None) -> Server:
        """A server started once per lab under ``name``."""
        server = self.servers.get(name)
        if server is None:
            server = self.servers[name] = self.start(*args, env=env)
        return server

    def once(self, *args: str, env: dict[str, str] | None = None, wait: float = 30.0) -> Server:
        """A server for one probe: started, then stopped once it is up or has exited."""
        server = self.start(*args, env=env, wait=wait)
        server.stop()
        return server

    def python(self, code: str, timeout: float = 60.0) -> tuple[int, str]:
        """Run ``code`` in a child Python on the lab's source tree: exit code and output."""
        done = subprocess.run(
            [sys.executable, "-W", "ignore", "-c", code], capture_output=True, env=self.env(), cwd=self.workdir,
            timeout=timeout,
        )  # fmt: skip
        return done.returncode, (done.stdout + done.stderr).decode(errors="replace")

    def close(self) -> None:
        """Stop every server and remove the lab's files."""
        for server in self.servers.values():
            server.stop()
        self.servers.clear()
        shutil.rmtree(self.workdir, ignore_errors=True)
