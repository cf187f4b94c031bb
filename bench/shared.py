"""buildmock over a shared Redis store: throughput per store and worker count, and consistency.

One command, from the repository root::

    .venv/bin/python -m bench.shared            # about 6 minutes on 2 cores
    .venv/bin/python -m bench.shared --quick    # about 2 minutes

It installs ``wrk`` and ``redis-server`` from Debian if missing, starts a redis-server of its own on a
free loopback port (no persistence) and then:

1. throughput: buildmock with the memory store and 1 worker, the Redis store and 1 worker, and the
   Redis store and 2 workers, each started afresh, under the three ``wrk`` workloads of ``bench.run``
   (GET by id, list, create) on the Stainless API: requests/s, p50, p99, errors;
2. consistency: against the Redis store with 2 workers, 32 clients each create a build and read it
   back on a new connection (so any worker may answer), many times: misses and duplicate ids must be
   0; then the same sequence of requests, sent once to 1 worker and once to 2 workers after a reset,
   must give byte-identical responses;
3. round trips: Redis commands per request of each kind, from Redis's own ``INFO commandstats``.

All traffic goes to 127.0.0.1; every load is bounded in time. Exit 0 when the consistency run holds.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from bench.harness import HOST, WORK, Result, Server, ensure_wrk, free_port, http, log, running
from bench.run import prepare, run_workloads
from bench.workloads import WORKLOADS

TOKEN = "sk-bench"


def ensure_redis() -> str:
    """``redis-server`` on PATH, installed from Debian if missing."""
    import shutil

    found = shutil.which("redis-server")
    if found:
        return found
    log("installing redis-server (apt-get)")
    subprocess.run(["apt-get", "update", "-qq"], check=True, capture_output=True)
    subprocess.run(
        ["apt-get", "install", "-y", "-qq", "redis-server"], check=True, capture_output=True
    )
    found = shutil.which("redis-server")
    if not found:
        raise SystemExit("bench: redis-server could not be installed")
    return found


@contextmanager
def redis_server() -> Iterator[int]:
    """A redis-server of the benchmark's own on a free port; yields the port."""
    port = free_port()
    with tempfile.TemporaryDirectory() as directory:
        process = subprocess.Popen(
            [ensure_redis(), "--port", str(port), "--bind", HOST, "--save", "", "--dir", directory],
            stdout=subprocess.DEVNULL,
        )
        try:
            for _ in range(200):
                if _redis(port, "PING").strip() == "PONG":
                    break
                time.sleep(0.05)
            yield port
        finally:
            process.terminate()
            process.wait(timeout=10)


def _redis(port: int, *command: str) -> str:
    done = subprocess.run(["redis-cli", "-p", str(port), *command], capture_output=True, text=True)
    return done.stdout


def server(name: str, store: str | None, workers: int, clock: str = "real") -> Server:
    """``buildmock serve`` with the given store, worker count and clock (default settings else)."""

    def argv(port: int) -> list[str]:
        cmd = [
            sys.executable,
            "-m",
            "buildmock",
            "serve",
            "--port",
            str(port),
            "--api",
            "stainless",
            "--clock",
            clock,
        ]
        if store:
            cmd += ["--store", store]
        return [*cmd, "--workers", str(workers), "--log-level", "error", "--token", TOKEN]

    return Server(name, argv, "/stainless", env={"BUILDMOCK_TOKEN": TOKEN})


def _headers() -> dict[str, str]:
    return {"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"}


def _call(method: str, url: str, body: str | None = None) -> tuple[int, bytes]:
    import urllib.error
    import urllib.request

    request = urllib.request.Request(
        url, data=body.encode() if body else None, method=method, headers=_headers()
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:  # a new connection each time
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def consistency(base: str, clients: int, rounds: int) -> dict[str, int]:
    """``clients`` threads, each creating a build and reading it back ``rounds`` times."""
    ids: list[str] = []
    misses = errors = 0
    lock = threading.Lock()

    def client(n: int) -> None:
        nonlocal misses, errors
        for _ in range(rounds):
            status, body = _call(
                "POST", f"{base}/stainless/v0/builds", f'{{"project":"c-{n}","revision":"main"}}'
            )
            if status != 200:
                with lock:
                    errors += 1
                continue
            build = json.loads(body)["id"]
            status, _ = _call("GET", f"{base}/stainless/v0/builds/{build}")
            with lock:
                ids.append(build)
                misses += status != 200

    threads = [threading.Thread(target=client, args=(n,)) for n in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    duplicates = sum(count - 1 for count in Counter(ids).values() if count > 1)
    return {"pairs": len(ids), "misses": misses, "duplicates": duplicates, "errors": errors}


def journey(base: str) -> list[bytes]:
    """A fixed sequence of creates, reads, lists and clock moves; every response body."""
    _call("POST", f"{base}/__buildmock/reset")
    bodies = []
    made = []
    for n in range(30):
        _, body = _call(
            "POST", f"{base}/stainless/v0/builds", f'{{"project":"j-{n % 3}","revision":"main"}}'
        )
        bodies.append(body)
        made.append(json.loads(body)["id"])
    for build in made:
        bodies.append(_call("GET", f"{base}/stainless/v0/builds/{build}")[1])
    for n in range(3):
        bodies.append(_call("GET", f"{base}/stainless/v0/builds?project=j-{n}")[1])
    return bodies


def commands_per_request(port: int, base: str) -> dict[str, float]:
    """Redis commands one request of each kind costs, read from ``INFO commandstats``."""

    def total() -> int:
        count = 0
        for line in _redis(port, "INFO", "commandstats").splitlines():
            if line.startswith("cmdstat_") and not line.startswith("cmdstat_info"):
                count += int(line.split("calls=")[1].split(",")[0])
        return count

    figures = {}
    n = 50
    _, body = _call("POST", f"{base}/stainless/v0/builds", '{"project":"rt","revision":"main"}')
    build = json.loads(body)["id"]
    for name, method, path, payload in (
        ("create", "POST", "/stainless/v0/builds", '{"project":"rt","revision":"main"}'),
        ("get", "GET", f"/stainless/v0/builds/{build}", None),
        ("list", "GET", "/stainless/v0/builds?project=rt", None),
    ):
        before = total()
        for _ in range(n):
            _call(method, f"{base}{path}", payload)
        figures[name] = (total() - before) / n
    return figures


def main(argv: list[str] | None = None) -> int:
    """Run everything and print the table; 0 if the consistency run holds."""
    p = argparse.ArgumentParser(prog="python -m bench.shared", description=__doc__.split("\n")[0])
    p.add_argument("--quick", action="store_true", help="short smoke run")
    p.add_argument("--duration", type=float, help="seconds per workload (default 10; quick 3)")
    p.add_argument("--warmup", type=float, help="warm-up seconds (default 2; quick 1)")
    p.add_argument("--connections", type=int, default=32)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--json", type=Path, help="also write the raw results here")
    args = p.parse_args(argv)
    args.duration = args.duration or (3 if args.quick else 10)
    args.warmup = args.warmup if args.warmup is not None else (1 if args.quick else 2)
    WORK.mkdir(parents=True, exist_ok=True)
    wrk_bin = ensure_wrk()
    results: list[Result] = []
    report: dict[str, Any] = {}
    with redis_server() as port:
        url = f"redis://{HOST}:{port}/0"
        for srv in (
            server("memory-1", None, 1),
            server("redis-1", url, 1),
            server("redis-2", url, 2),
        ):
            _redis(port, "FLUSHALL")
            log(f"{srv.name}: starting")
            with running(srv):
                http("POST", f"http://{HOST}:{srv.port}/__buildmock/reset")
                w = WORKLOADS["stainless"]
                results += run_workloads(srv, wrk_bin, args, w, prepare(srv, w, srv.name))
        _redis(port, "FLUSHALL")
        with running(server("redis-2", url, 2, "manual")) as two:
            base = f"http://{HOST}:{two.port}"
            report["consistency"] = consistency(base, clients=32, rounds=10 if args.quick else 40)
            shared = journey(base)
            _redis(port, "CONFIG", "RESETSTAT")
            report["commands"] = commands_per_request(port, base)
        with running(server("redis-1", url, 1, "manual")) as one:
            alone = journey(f"http://{HOST}:{one.port}")
        report["identical"] = shared == alone
        report["journey_responses"] = len(alone)
    print()
    print("| server | workload | req/s | p50 ms | p99 ms | errors |")
    print("|---|---|---:|---:|---:|---:|")
    for r in results:
        print(
            f"| {r.server} | {r.workload} | {r.rps:,.0f} | {r.p50_ms:.1f} | {r.p99_ms:.1f} | {r.errors} |"
        )
    c = report["consistency"]
    print()
    print(
        f"consistency (Redis, 2 workers, 32 clients): {c['pairs']} create-then-read pairs, "
        f"{c['misses']} misses, {c['duplicates']} duplicate ids, {c['errors']} errors"
    )
    print(
        f"byte-identical, 1 worker vs 2 workers: {report['identical']} "
        f"({report['journey_responses']} responses)"
    )
    rt = report["commands"]
    print(
        "Redis commands per request: "
        + ", ".join(f"{name} {count:.1f}" for name, count in rt.items())
    )
    if args.json:
        args.json.write_text(json.dumps({"results": [r.__dict__ for r in results], **report}))
    ok = c["misses"] == 0 and c["duplicates"] == 0 and c["errors"] == 0 and report["identical"]
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
