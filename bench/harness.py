"""The bench's tools: installing what it needs, starting and measuring servers, driving ``wrk``."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
WORK = ROOT / "bench" / ".work"
TOKEN = "sk-bench"
HOST = "127.0.0.1"

# -- tools -------------------------------------------------------------------------------------


def log(message: str) -> None:
    """Progress on stderr, so stdout is only the report."""
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def ensure_debian(binary: str, package: str | None = None) -> str:
    """``binary`` on PATH, installed from Debian's ``package`` (default: the same name) if missing."""
    found = shutil.which(binary)
    if found:
        return found
    package = package or binary
    log(f"installing {package} (apt-get)")
    apt = ["apt-get", "install", "-y", "-qq", package]
    if subprocess.run(apt, capture_output=True).returncode != 0:
        subprocess.run(["apt-get", "update", "-qq"], check=True, capture_output=True)
        subprocess.run(apt, check=True, capture_output=True)
    found = shutil.which(binary)
    if not found:
        raise SystemExit(f"bench: {package} could not be installed")
    return found


def ensure_wrk() -> str:
    """``wrk`` on PATH, installed from Debian if missing."""
    return ensure_debian("wrk")


def ensure_npm(package: str, installed: Path) -> Path:
    """``installed`` (a file of an npm package in ``bench/.work``), installing ``package`` if missing."""
    if not installed.exists():
        log(f"installing {package} into {WORK.relative_to(ROOT)} (npm)")
        WORK.mkdir(parents=True, exist_ok=True)
        if not (WORK / "package.json").exists():
            (WORK / "package.json").write_text('{"name": "buildmock-bench", "private": true}\n')
        subprocess.run(
            ["npm", "install", "--no-audit", "--no-fund", "--prefix", str(WORK), package],
            check=True,
            capture_output=True,
        )
    return installed


def free_port() -> int:
    """A free TCP port on the loopback interface."""
    with socket.socket() as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


# -- processes ---------------------------------------------------------------------------------


def _tree(pid: int) -> list[int]:
    """``pid`` and all its descendants."""
    pids = [pid]
    for child in Path(f"/proc/{pid}/task").glob("*/children"):
        try:
            for c in child.read_text().split():
                pids.extend(_tree(int(c)))
        except OSError:
            pass
    return pids


def rss_mb(pid: int) -> float:
    """Resident memory of a process tree, MB."""
    total = 0
    for p in _tree(pid):
        try:
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        except OSError:
            pass
    return total / 1024


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process tree, seconds."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0
    for p in _tree(pid):
        try:
            fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])
        except (OSError, IndexError):
            pass
    return total / ticks


class Sampler:
    """Samples a process tree's RSS in the background: peak and a time series."""

    def __init__(self, pid: int, every: float = 0.25) -> None:
        self.pid = pid
        self.every = every
        self.series: list[tuple[float, float]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        start = time.perf_counter()
        while not self._stop.is_set():
            self.series.append((time.perf_counter() - start, rss_mb(self.pid)))
            self._stop.wait(self.every)

    def __enter__(self) -> Sampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.series.append((self.series[-1][0] if self.series else 0.0, rss_mb(self.pid)))

    @property
    def peak(self) -> float:
        """Highest RSS seen, MB."""
        return max((mb for _, mb in self.series), default=0.0)


def request(
    method: str,
    url: str,
    body: str | None = None,
    headers: dict[str, str] | None = None,
    timeout: float = 5.0,
) -> tuple[int, list[tuple[str, str]], bytes]:
    """One request; ``(status, headers, body)``, status 0 if unreachable. Without ``headers``, the
    bench's bearer token."""
    sent = dict(headers) if headers is not None else {"Authorization": f"Bearer {TOKEN}"}
    data = None
    if body is not None:
        data = body.encode()
        sent["Content-Type"] = "application/json"
    req = urllib.request.Request(url, data=data, method=method, headers=sent)
    try:
        with urllib.request.urlopen(req, timeout=timeout) as response:
            return response.status, list(response.headers.items()), response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, list(exc.headers.items()), exc.read()
    except (urllib.error.URLError, OSError):
        return 0, [], b""


def http(
    method: str,
    url: str,
    body: str | None = None,
    timeout: float = 5.0,
    headers: dict[str, str] | None = None,
) -> tuple[int, bytes]:
    """One request (see :func:`request`); ``(status, body)``."""
    status, _, data = request(method, url, body, headers, timeout)
    return status, data


@dataclass
class Server:
    """A server under test: how to start it, where a vendor's API lives on it, what it sends."""

    name: str
    argv: Callable[[int], list[str]]
    prefix: str  # path of the vendor's API on the server
    env: dict[str, str] = field(default_factory=dict)
    #: A GET (relative to ``prefix``) answered 200 once the server is ready, and its headers.
    ready_path: str = "/v0/builds?project=acme-api"
    headers: dict[str, str] | None = None
    port: int = 0
    process: subprocess.Popen[bytes] | None = None
    startup: float = 0.0
    spawned: float = 0.0

    def url(self, path: str) -> str:
        """Absolute URL of an API path."""
        return f"http://{HOST}:{self.port}{self.prefix}{path}"

    def start(self, ready_path: str | None = None, timeout: float = 60) -> None:
        """Spawn and wait for the first good response; records the start-up time."""
        self.port = free_port()
        started = self.spawned = time.perf_counter()
        self.process = subprocess.Popen(
            self.argv(self.port),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            env={**os.environ, **self.env},
            cwd=ROOT,
            start_new_session=True,
        )
        probe = self.url(ready_path or self.ready_path)
        while time.perf_counter() - started < timeout:
            if self.process.poll() is not None:
                err = self.process.stderr.read().decode() if self.process.stderr else ""
                raise RuntimeError(f"{self.name} exited at start-up: {err[-2000:]}")
            status, _ = http("GET", probe, timeout=1, headers=self.headers)
            if status == 200:
                self.startup = time.perf_counter() - started
                return
            time.sleep(0.01)
        self.stop()
        raise RuntimeError(f"{self.name} not ready after {timeout}s (GET {probe})")

    def stop(self) -> None:
        """Stop the server (its whole process group)."""
        if self.process is None:
            return
        try:
            os.killpg(self.process.pid, signal.SIGTERM)
            self.process.wait(timeout=10)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            with suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()
        self.process = None

    @property
    def pid(self) -> int:
        """The server's process id."""
        assert self.process is not None
        return self.process.pid


@contextmanager
def running(server: Server, **kwargs: Any) -> Iterator[Server]:
    """Start ``server`` and always stop it."""
    server.start(**kwargs)
    try:
        yield server
    finally:
        server.stop()


# -- wrk ---------------------------------------------------------------------------------------


def lua_request(
    method: str, path: str, headers: dict[str, str], body: str | None, salt: str = ""
) -> str:
    """A wrk script's request part: one fixed request, or (``{n}`` in ``body``) a body made unique
    per request from ``salt``, the thread and a counter."""
    sent = dict(headers)
    if body is not None:
        sent["Content-Type"] = "application/json"
    table = ", ".join(f"[{json.dumps(k)}] = {json.dumps(v)}" for k, v in sent.items())
    if body is None or "{n}" not in body:
        # Fixed: wrk builds the request once, with no Lua per request.
        lines = [f"wrk.method = {json.dumps(method)}", f"wrk.path = {json.dumps(path)}"]
        lines += [f"wrk.headers[{json.dumps(k)}] = {json.dumps(v)}" for k, v in sent.items()]
        lines += [] if body is None else [f"wrk.body = {_lua_string(body)}"]
        return "\n".join(lines) + "\n"
    head, tail = body.split("{n}", 1)
    return (
        f"local headers = {{{table}}}\nlocal n = 0\n"
        f"function request()\n  n = n + 1\n"
        f"  return wrk.format({json.dumps(method)}, {json.dumps(path)}, headers, "
        f"{_lua_string(head + salt + '-')} .. tid .. '-' .. n .. {_lua_string(tail)})\nend\n"
    )


def _lua_string(text: str) -> str:
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


def lua_script(name: str, request_part: str, limited: bool = False) -> Path:
    """A wrk script file: ``request_part``, the figures hook and, with ``limited``, the stop hook."""
    path = WORK / f"{name}{'-limited' if limited else ''}.lua"
    path.write_text(request_part + _LUA_COMMON + (_LUA_LIMIT if limited else ""))
    return path


_LUA_COMMON = """
local threads = 0
function setup(thread) threads = threads + 1; thread:set("tid", threads) end
function init(args) math.randomseed(tid * 7919) end
function done(summary, latency, requests)
  io.write(string.format(
    'BENCH {"requests":%d,"duration_us":%d,"bytes":%d,"connect":%d,"read":%d,"write":%d,' ..
    '"status":%d,"timeout":%d,"p50_us":%d,"p90_us":%d,"p99_us":%d,"max_us":%d}\\n',
    summary.requests, summary.duration, summary.bytes, summary.errors.connect,
    summary.errors.read, summary.errors.write, summary.errors.status, summary.errors.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max))
end
"""


# Only for runs of a fixed number of requests: each thread counts its responses, and when it has
# its share it leaves a mark in BENCH_DONE_DIR and stops; the runner then interrupts wrk.
_LUA_LIMIT = """
local counted, limit = 0, tonumber(os.getenv("BENCH_LIMIT"))
local done_dir = os.getenv("BENCH_DONE_DIR")
function response(status, headers, body)
  counted = counted + 1
  if counted == limit then
    local f = io.open(done_dir .. "/thread-" .. tid, "w"); f:write("done"); f:close()
    wrk.thread:stop()
  end
end
"""


@dataclass
class Result:
    """One wrk run against one server."""

    server: str
    workload: str
    rps: float
    p50_ms: float
    p99_ms: float
    errors: int
    requests: int
    cpu_ms: float  # server CPU per request
    peak_rss: float
    bytes_per: float
    startup: float = 0.0
    load: float = 0.0
    vendor: str = "stainless"


def wrk(
    binary: str,
    script: Path,
    url: str,
    *,
    threads: int,
    connections: int,
    seconds: float,
    limit: int = 0,
) -> dict[str, Any]:
    """Run wrk and return the figures its ``done`` hook printed.

    With ``limit``, wrk stops once that many responses came back (or after ``seconds``).
    """
    cmd = [
        binary,
        f"-t{threads}",
        f"-c{connections}",
        f"-d{max(1, round(seconds))}s",
        "--timeout",
        "5s",
        "-s",
        str(script),
        url,
    ]
    marks = WORK / "done"
    shutil.rmtree(marks, ignore_errors=True)
    marks.mkdir()
    env = {**os.environ, "BENCH_LIMIT": str(-(-limit // threads)), "BENCH_DONE_DIR": str(marks)}
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    deadline = time.perf_counter() + seconds + 120
    while proc.poll() is None and time.perf_counter() < deadline:
        if limit and len(list(marks.iterdir())) >= threads:
            proc.send_signal(signal.SIGINT)  # wrk then reports what it did so far
            break
        time.sleep(0.2)
    try:
        stdout, stderr = proc.communicate(timeout=max(1.0, deadline - time.perf_counter()))
    except subprocess.TimeoutExpired:
        proc.kill()
        stdout, stderr = proc.communicate()
    for line in stdout.splitlines():
        if line.startswith("BENCH "):
            return dict(json.loads(line[6:]))
    raise RuntimeError(f"wrk failed: {stdout[-1000:]} {stderr[-1000:]}")
