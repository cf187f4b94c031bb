"""buildmock against Prism on ``specs/stainless.yaml``: throughput, latency, memory and start-up.

One command, from the repository root::

    .venv/bin/python -m bench.run            # full run (about 25 minutes on 2 cores)
    .venv/bin/python -m bench.run --quick    # smoke run (about 2 minutes)

It installs what it needs (``wrk`` from Debian if missing, ``@stoplight/prism-cli`` from npm into
``bench/.work/``), then:

1. throughput: for each round, starts each server afresh (buildmock, Prism static ``-v error``,
   Prism dynamic ``-d -v error``; the order rotates every round), times its start-up, and runs the
   same four ``wrk`` workloads against it (GET by id, list, POST create, mixed 70/20/10), each after a
   short warm-up. Medians over rounds are reported with peak RSS and server CPU per request
   (``--connexion`` adds buildmock with ``--no-fast-path``, to show what the fast path buys);
2. memory: 1 000 000 creates (``--creates``) over HTTP against one buildmock server with ``wrk``
   (the load generator stops itself after that many responses), RSS sampled every second;
3. start-up: buildmock with every vendor that has a spec and a handler module, time from spawn to
   the first good response of each mounted vendor.

All traffic goes to 127.0.0.1; every load is bounded in time.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
WORK = ROOT / "bench" / ".work"
SPEC = ROOT / "specs" / "stainless.yaml"
PRISM = WORK / "node_modules" / ".bin" / "prism"
PRISM_PACKAGE = "@stoplight/prism-cli@^5"
TOKEN = "sk-bench"
HOST = "127.0.0.1"
WORKLOADS = ("get", "list", "post", "mixed")
CREATE_BODY = '{"project":"bench-create","revision":"main"}'
LIST_PROJECT = "bench-list"
FALLBACK_ID = "bui_" + "a" * 26
PAGE = 10  # builds seeded for the list workload: one full default page


# -- tools -------------------------------------------------------------------------------------


def log(message: str) -> None:
    """Progress on stderr, so stdout is only the report."""
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def ensure_wrk() -> str:
    """``wrk`` on PATH, installed from Debian if missing."""
    found = shutil.which("wrk")
    if found:
        return found
    log("installing wrk (apt-get)")
    apt = ["apt-get", "install", "-y", "-qq", "wrk"]
    if subprocess.run(apt, capture_output=True).returncode != 0:
        subprocess.run(["apt-get", "update", "-qq"], check=True, capture_output=True)
        subprocess.run(apt, check=True, capture_output=True)
    found = shutil.which("wrk")
    if not found:
        raise SystemExit("bench: wrk could not be installed")
    return found


def ensure_prism() -> Path:
    """Prism's CLI in ``bench/.work/node_modules``, installed with npm if missing."""
    if not PRISM.exists():
        log(f"installing {PRISM_PACKAGE} into {WORK.relative_to(ROOT)} (npm)")
        WORK.mkdir(parents=True, exist_ok=True)
        if not (WORK / "package.json").exists():
            (WORK / "package.json").write_text('{"name": "buildmock-bench", "private": true}\n')
        subprocess.run(
            ["npm", "install", "--no-audit", "--no-fund", "--prefix", str(WORK), PRISM_PACKAGE],
            check=True,
            capture_output=True,
        )
    return PRISM


def prism_version() -> str:
    """The installed Prism's version."""
    out = subprocess.run([str(PRISM), "--version"], capture_output=True, text=True)
    return out.stdout.strip() or "?"


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


def http(method: str, url: str, body: str | None = None, timeout: float = 5.0) -> tuple[int, bytes]:
    """One request with the bench's bearer token; ``(status, body)``, status 0 if unreachable."""
    headers = {"Authorization": f"Bearer {TOKEN}"}
    data = None
    if body is not None:
        data = body.encode()
        headers["Content-Type"] = "application/json"
    request = urllib.request.Request(url, data=data, method=method, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()
    except (urllib.error.URLError, OSError):
        return 0, b""


@dataclass
class Server:
    """A server under test: how to start it and where its Stainless API lives."""

    name: str
    argv: Callable[[int], list[str]]
    prefix: str  # path of the Stainless API on the server
    env: dict[str, str] = field(default_factory=dict)
    port: int = 0
    process: subprocess.Popen[bytes] | None = None
    startup: float = 0.0
    spawned: float = 0.0

    def url(self, path: str) -> str:
        """Absolute URL of an API path."""
        return f"http://{HOST}:{self.port}{self.prefix}{path}"

    def start(self, ready_path: str = "/v0/builds?project=acme-api", timeout: float = 60) -> None:
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
        while time.perf_counter() - started < timeout:
            if self.process.poll() is not None:
                err = self.process.stderr.read().decode() if self.process.stderr else ""
                raise RuntimeError(f"{self.name} exited at start-up: {err[-2000:]}")
            status, _ = http("GET", self.url(ready_path), timeout=1)
            if status == 200:
                self.startup = time.perf_counter() - started
                return
            time.sleep(0.01)
        self.stop()
        raise RuntimeError(f"{self.name} not ready after {timeout}s")

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


#: Another checkout's ``src`` to benchmark instead of this one (``--src``: before/after figures).
SRC: Path | None = None


def _env() -> dict[str, str]:
    return {"PYTHONPATH": str(SRC)} if SRC else {}


def buildmock_server(*apis: str, fast_path: bool = True, journal: bool = True) -> Server:
    """buildmock as ``buildmock serve`` runs it (default settings, real clock); with
    ``fast_path=False`` every request goes through Connexion's full stack (``--no-fast-path``),
    with ``journal=False`` no request is journaled (``--journal 0``)."""

    def argv(port: int) -> list[str]:
        cmd = [sys.executable, "-m", "buildmock", "serve", "--port", str(port)]
        for api in apis:
            cmd += ["--api", api]
        cmd += [] if fast_path else ["--no-fast-path"]
        return [*cmd, "--log-level", "error", *([] if journal else ["--journal", "0"])]

    name = "buildmock" if fast_path else "buildmock-connexion"
    name += "" if journal else "-nojournal"
    return Server(name, argv, "/stainless", env=_env())


def prism_server(dynamic: bool) -> Server:
    """Prism on the same spec: static examples (its fastest, ``-v error``) or dynamic (``-d``)."""

    def argv(port: int) -> list[str]:
        cmd = [str(PRISM), "mock", "-h", HOST, "-p", str(port), "-v", "error"]
        return cmd + (["-d"] if dynamic else []) + [str(SPEC)]

    return Server("prism-dynamic" if dynamic else "prism-static", argv, "")


# -- wrk ---------------------------------------------------------------------------------------

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


def lua_script(workload: str, server: Server, ids: list[str], limited: bool = False) -> Path:
    """The wrk script of one workload against one server."""
    auth = f'wrk.headers["Authorization"] = "Bearer {TOKEN}"\n'
    get_path = f"{server.prefix}/v0/builds/"
    list_path = f"{server.prefix}/v0/builds?project={LIST_PROJECT}"
    post_path = f"{server.prefix}/v0/builds"
    if workload == "get":
        body = auth + f'wrk.method = "GET"\nwrk.path = "{get_path}{ids[0]}"\n'
    elif workload == "list":
        body = auth + f'wrk.method = "GET"\nwrk.path = "{list_path}"\n'
    elif workload == "post":
        body = (
            auth
            + 'wrk.method = "POST"\nwrk.headers["Content-Type"] = "application/json"\n'
            + f"wrk.path = \"{post_path}\"\nwrk.body = '{CREATE_BODY}'\n"
        )
    else:  # mixed: 70 % GET by id over a few builds, 20 % list, 10 % create
        id_list = ", ".join(f'"{i}"' for i in ids)
        body = f"""
local ids = {{{id_list}}}
local auth = {{["Authorization"] = "Bearer {TOKEN}"}}
local post_headers = {{["Authorization"] = "Bearer {TOKEN}", ["Content-Type"] = "application/json"}}
function request()
  local roll = math.random(100)
  if roll <= 70 then
    return wrk.format("GET", "{get_path}" .. ids[math.random(#ids)], auth)
  elseif roll <= 90 then
    return wrk.format("GET", "{list_path}", auth)
  end
  return wrk.format("POST", "{post_path}", post_headers, '{CREATE_BODY}')
end
"""
    path = WORK / f"{server.name}-{workload}{'-limited' if limited else ''}.lua"
    path.write_text(body + _LUA_COMMON + (_LUA_LIMIT if limited else ""))
    return path


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


def prepare(server: Server) -> list[str]:
    """Seed the builds the workloads read; returns ids for the GET workloads."""
    for _ in range(PAGE):
        http("POST", server.url("/v0/builds"), f'{{"project":"{LIST_PROJECT}","revision":"main"}}')
    ids = []
    for _ in range(20):
        status, body = http("POST", server.url("/v0/builds"), CREATE_BODY)
        if status != 200:
            raise RuntimeError(f"{server.name}: create answered {status}: {body[:300]!r}")
        drawn = str(json.loads(body).get("id", ""))
        # Prism's dynamic mode may draw any string; fall back to a well-formed id it accepts.
        ids.append(drawn if drawn.replace("_", "").isalnum() and drawn.isascii() else FALLBACK_ID)
    return ids


def run_workloads(
    server: Server, wrk_bin: str, args: argparse.Namespace, ids: list[str]
) -> list[Result]:
    """The four workloads against a started server."""
    results = []
    for workload in WORKLOADS:
        if workload == "mixed":
            # The create workload before has evicted the first builds (the store's cap).
            ids = prepare(server)
        script = lua_script(workload, server, ids)
        url = f"http://{HOST}:{server.port}/"
        opts = {"threads": args.threads, "connections": args.connections}
        wrk(wrk_bin, script, url, seconds=args.warmup, **opts)
        load = os.getloadavg()[0]
        cpu0 = cpu_seconds(server.pid)
        with Sampler(server.pid) as sampler:
            figures = wrk(wrk_bin, script, url, seconds=args.duration, **opts)
        cpu = cpu_seconds(server.pid) - cpu0
        n = max(1, figures["requests"])
        errors = sum(figures[k] for k in ("connect", "read", "write", "status", "timeout"))
        results.append(
            Result(
                server=server.name,
                workload=workload,
                rps=figures["requests"] / (figures["duration_us"] / 1e6),
                p50_ms=figures["p50_us"] / 1000,
                p99_ms=figures["p99_us"] / 1000,
                errors=errors,
                requests=figures["requests"],
                cpu_ms=cpu / n * 1000,
                peak_rss=sampler.peak,
                bytes_per=figures["bytes"] / n,
                startup=server.startup,
                load=load,
            )
        )
        r = results[-1]
        log(
            f"  {server.name:<14} {workload:<6} {r.rps:8.0f} req/s  p50 {r.p50_ms:6.1f} ms  "
            f"p99 {r.p99_ms:7.1f} ms  errors {r.errors}  cpu {r.cpu_ms:.2f} ms/req  "
            f"rss {r.peak_rss:.0f} MB  load {load:.1f}"
        )
    return results


def throughput(args: argparse.Namespace, wrk_bin: str) -> list[Result]:
    """Rounds of every workload against every server, the order rotating each round."""
    servers = [buildmock_server("stainless")]
    if args.connexion:
        servers.append(buildmock_server("stainless", fast_path=False))
    if args.no_journal:
        servers.append(buildmock_server("stainless", journal=False))
    if not args.skip_prism:
        servers += [prism_server(dynamic=False), prism_server(dynamic=True)]
    results: list[Result] = []
    for round_no in range(args.rounds):
        order = servers[round_no % len(servers) :] + servers[: round_no % len(servers)]
        log(f"round {round_no + 1}/{args.rounds}: {', '.join(s.name for s in order)}")
        for server in order:
            with running(server):
                log(f"  {server.name} ready in {server.startup:.2f}s")
                results += run_workloads(server, wrk_bin, args, prepare(server))
    return results


# -- memory and start-up -----------------------------------------------------------------------


def memory_run(args: argparse.Namespace, wrk_bin: str) -> dict[str, Any]:
    """``--creates`` creates against one buildmock server, RSS sampled every second."""
    server = buildmock_server("stainless")
    with running(server):
        script = lua_script("post", server, [], limited=True)
        rss_start = rss_mb(server.pid)
        log(f"memory: {args.creates:,} creates over HTTP (wrk -c{args.connections}), RSS sampled")
        started = time.perf_counter()
        with Sampler(server.pid, every=1.0) as sampler:
            figures = wrk(
                wrk_bin,
                script,
                f"http://{HOST}:{server.port}/",
                threads=args.threads,
                connections=args.connections,
                seconds=args.memory_timeout,
                limit=args.creates,
            )
        elapsed = time.perf_counter() - started
        _, state = http("GET", f"http://{HOST}:{server.port}/__buildmock/state")
        held = json.loads(state or b"{}").get("vendors", {}).get("stainless", {})
    series = sampler.series
    errors = sum(figures[k] for k in ("connect", "read", "write", "status", "timeout"))
    checkpoints = []
    for fraction in (0.1, 0.25, 0.5, 0.75, 1.0):
        at = series[min(len(series) - 1, int(fraction * (len(series) - 1)))]
        checkpoints.append((fraction, at[1]))
    tenth = checkpoints[0][1]
    return {
        "creates": figures["requests"],
        "errors": errors,
        "seconds": elapsed,
        "rate": figures["requests"] / elapsed,
        "rss_start": rss_start,
        "rss_peak": sampler.peak,
        "rss_end": series[-1][1],
        "growth_after_10pct": series[-1][1] - tenth,
        "checkpoints": checkpoints,
        "held": held,
    }


def startup_run(repeats: int) -> dict[str, Any]:
    """buildmock with every available vendor: time to the first good response from each."""
    times = []
    vendors: list[str] = []
    for _ in range(repeats):
        server = Server(
            "buildmock-all",
            lambda port: [sys.executable, "-m", "buildmock", "serve", "--port", str(port)],
            "",
            env=_env(),
        )
        with running(server, ready_path="/__buildmock/health"):
            _, state = http("GET", server.url("/__buildmock/state"))
            vendors = sorted(json.loads(state or b"{}").get("vendors", {}))
            pending = {name: _probe_path(name) for name in vendors}
            deadline = time.perf_counter() + 10
            while pending and time.perf_counter() < deadline:
                for name, path in list(pending.items()):
                    if http("GET", server.url(path), timeout=1)[0] == 200:
                        del pending[name]
            elapsed = time.perf_counter() - server.spawned
            if pending:
                raise RuntimeError(f"start-up: no good response from {', '.join(pending)}")
            times.append(elapsed)
    return {"vendors": vendors, "seconds": statistics.median(times), "all": times}


def _probe_path(vendor: str) -> str:
    """A GET every mounted vendor answers 200 without credentials: its OpenAPI document."""
    return f"/{vendor}/openapi.json"


# -- report ------------------------------------------------------------------------------------


def median_results(results: list[Result]) -> dict[tuple[str, str], Result]:
    """Median over rounds per server and workload (errors summed, RSS and start-up: max/median)."""
    grouped: dict[tuple[str, str], list[Result]] = {}
    for r in results:
        grouped.setdefault((r.server, r.workload), []).append(r)
    out = {}
    for key, rs in grouped.items():
        out[key] = Result(
            server=key[0],
            workload=key[1],
            rps=statistics.median(r.rps for r in rs),
            p50_ms=statistics.median(r.p50_ms for r in rs),
            p99_ms=statistics.median(r.p99_ms for r in rs),
            errors=sum(r.errors for r in rs),
            requests=sum(r.requests for r in rs),
            cpu_ms=statistics.median(r.cpu_ms for r in rs),
            peak_rss=max(r.peak_rss for r in rs),
            bytes_per=statistics.median(r.bytes_per for r in rs),
            startup=statistics.median(r.startup for r in rs),
            load=statistics.median(r.load for r in rs),
        )
    return out


def report(
    args: argparse.Namespace,
    results: list[Result],
    memory: dict[str, Any] | None,
    startup: dict[str, Any] | None,
) -> tuple[str, bool]:
    """The markdown report and whether every target was met."""
    lines = [
        f"## bench run {datetime.now(UTC).strftime('%Y-%m-%d %H:%M UTC')}",
        "",
        f"- machine: {platform.node()}, {os.cpu_count()} cores, {platform.platform()}, "
        f"Python {platform.python_version()}, Prism {prism_version() if PRISM.exists() else '-'}",
        f"- wrk -t{args.threads} -c{args.connections} -d{args.duration:g}s "
        f"(+{args.warmup:g}s warm-up), {args.rounds} round(s), medians; loopback; "
        f"load average at start {os.getloadavg()[0]:.1f}",
        "",
    ]
    ok = True
    med = median_results(results)
    if med:
        lines += [
            "| server | workload | req/s | p50 ms | p99 ms | errors | server CPU ms/req | "
            "bytes/resp | peak RSS MB | start-up s |",
            "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|",
        ]
        for (server, workload), r in sorted(
            med.items(), key=lambda kv: (kv[0][0], WORKLOADS.index(kv[0][1]))
        ):
            lines.append(
                f"| {server} | {workload} | {r.rps:,.0f} | {r.p50_ms:.1f} | {r.p99_ms:.1f} | "
                f"{r.errors} | {r.cpu_ms:.2f} | {r.bytes_per:,.0f} | {r.peak_rss:.0f} | "
                f"{r.startup:.2f} |"
            )
        lines.append("")
    checks: list[tuple[str, bool, str]] = []
    if ("prism-static", "get") in med:
        lines += [
            "| workload | buildmock/Prism static | buildmock/Prism dynamic | "
            "p99 buildmock vs Prism static |",
            "|---|---:|---:|---:|",
        ]
        need = {"get": 1.5, "list": 1.5, "post": 1.0, "mixed": 1.0}
        for w in WORKLOADS:
            bm, ps, pd = med[("buildmock", w)], med[("prism-static", w)], med[("prism-dynamic", w)]
            # A server that completed no request in the whole run gets an infinite ratio.
            rs = bm.rps / ps.rps if ps.rps else float("inf")
            rd = bm.rps / pd.rps if pd.rps else float("inf")
            lines.append(f"| {w} | {rs:.2f}x | {rd:.1f}x | {bm.p99_ms:.1f} vs {ps.p99_ms:.1f} ms |")
            checks.append((f"{w}: >= {need[w]}x Prism static", rs >= need[w], f"{rs:.2f}x"))
            if w != "mixed":
                checks.append((f"{w}: >= 10x Prism dynamic", rd >= 10, f"{rd:.1f}x"))
            checks.append(
                (f"{w}: p99 <= Prism static", bm.p99_ms <= ps.p99_ms, f"{bm.p99_ms:.1f} ms")
            )
            checks.append((f"{w}: 0 errors", bm.errors == 0, str(bm.errors)))
        lines.append("")
    elif med:
        for w in WORKLOADS:
            bm = med[("buildmock", w)]
            checks.append((f"{w}: 0 errors", bm.errors == 0, str(bm.errors)))
    if ("buildmock-connexion", "get") in med:
        gains = ", ".join(
            f"{w} {med[('buildmock', w)].rps / med[('buildmock-connexion', w)].rps:.2f}x"
            for w in WORKLOADS
            if med[("buildmock-connexion", w)].rps
        )
        lines += [f"fast path against Connexion's full stack (`--no-fast-path`): {gains}", ""]
    if memory is not None:
        c = memory["checkpoints"]
        lines += [
            f"memory run: {memory['creates']:,} creates over HTTP in {memory['seconds']:.0f}s "
            f"({memory['rate']:,.0f}/s), {memory['errors']} errors; RSS start "
            f"{memory['rss_start']:.0f} MB, peak {memory['rss_peak']:.0f} MB, end "
            f"{memory['rss_end']:.0f} MB; RSS at "
            + ", ".join(f"{int(f * 100)}%: {mb:.0f} MB" for f, mb in c)
            + f"; builds held at the end: {memory['held'].get('build', '?')}",
            "",
        ]
        checks.append(
            (
                f"RSS < 200 MB after {memory['creates']:,} creates",
                memory["rss_peak"] < 200 and memory["creates"] >= args.creates,
                f"{memory['rss_peak']:.0f} MB",
            )
        )
        checks.append(("memory run: 0 errors", memory["errors"] == 0, str(memory["errors"])))
    if startup is not None:
        lines += [
            f"start-up run: {', '.join(startup['vendors'])} mounted; first good response in "
            f"{startup['seconds']:.2f}s (median of {', '.join(f'{t:.2f}' for t in startup['all'])})",
            "",
        ]
        checks.append(
            ("start-up, all vendors < 2 s", startup["seconds"] < 2, f"{startup['seconds']:.2f}s")
        )
    if checks:
        lines += ["| target | met | measured |", "|---|---|---|"]
        for name, met, measured in checks:
            ok &= met
            lines.append(f"| {name} | {'yes' if met else '**NO**'} | {measured} |")
    return "\n".join(lines) + "\n", ok


def main(argv: list[str] | None = None) -> int:
    """Run the bench; exit 0 when every target was met, 1 otherwise."""
    p = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__.split("\n")[0])
    p.add_argument("--quick", action="store_true", help="short smoke run (about 2 minutes)")
    p.add_argument("--rounds", type=int, help="rounds of every server (default 3; quick 1)")
    p.add_argument("--duration", type=float, help="seconds per workload (default 15; quick 3)")
    p.add_argument("--warmup", type=float, help="warm-up seconds per workload (default 2; quick 1)")
    p.add_argument("--connections", type=int, default=32)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--creates", type=int, help="memory run creates (default 1000000; quick 20000)")
    p.add_argument("--memory-timeout", type=float, default=1800, help="memory run time bound, s")
    p.add_argument("--skip-prism", action="store_true", help="buildmock only (no ratios)")
    p.add_argument(
        "--connexion",
        action="store_true",
        help="also run buildmock with --no-fast-path (every request through Connexion's stack)",
    )
    p.add_argument(
        "--no-journal",
        action="store_true",
        help="also run buildmock with --journal 0 (what recording every request costs)",
    )
    p.add_argument("--skip-throughput", action="store_true")
    p.add_argument("--skip-memory", action="store_true")
    p.add_argument("--skip-startup", action="store_true")
    p.add_argument("--json", type=Path, help="also write the raw results here")
    p.add_argument(
        "--src", type=Path, help="serve buildmock from this source tree instead (before/after runs)"
    )
    args = p.parse_args(argv)
    global SRC
    SRC = args.src.resolve() if args.src else None
    quick = args.quick
    args.rounds = args.rounds or (1 if quick else 3)
    args.duration = args.duration or (3 if quick else 15)
    args.warmup = args.warmup if args.warmup is not None else (1 if quick else 2)
    args.creates = args.creates or (20_000 if quick else 1_000_000)

    # A terminated bench still stops the servers it started (the ``finally`` of ``running``).
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    WORK.mkdir(parents=True, exist_ok=True)
    wrk_bin = ensure_wrk()
    if not args.skip_prism and not args.skip_throughput:
        ensure_prism()
    results = [] if args.skip_throughput else throughput(args, wrk_bin)
    memory = None if args.skip_memory else memory_run(args, wrk_bin)
    startup = None if args.skip_startup else startup_run(1 if quick else 3)
    text, ok = report(args, results, memory, startup)
    print(text)
    if args.json:
        args.json.write_text(
            json.dumps(
                {
                    "results": [r.__dict__ for r in results],
                    "memory": memory,
                    "startup": startup,
                },
                indent=2,
            )
        )
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
