"""What the request journal costs: buildmock with the journal (default) against ``--journal 0``.

One command, from the repository root::

    .venv/bin/python -m bench.journal            # about 3 minutes on 2 cores
    .venv/bin/python -m bench.journal --quick    # about 1 minute
    .venv/bin/python -m bench.journal --vendors all --duration 4   # every vendor, about 12 minutes

Both servers run side by side for the whole measurement and take turns in ABBA order (on, off,
off, on, ...), so neither profits from going first or from a quieter minute: ``bench.run`` starts its
servers one after the other, and with one round the server that runs first was measured 7 % faster on
creates, which the journal (a few µs on a 200 µs request) cannot explain. Each turn is a short
``wrk`` warm-up then a measured run of one workload of ``bench.run`` (GET by id, list, create);
the figures are medians over the turns: requests/s, p99 and the server's CPU time per request (read
from ``/proc``, the steadiest figure on a shared machine). Exit 0 when, for every workload, the
journal costs at most ``--target`` (default 10 %) in requests/s and in CPU per request.

On a shared machine every timing moves with the neighbours' load; ``--instructions N`` adds the one
figure that does not: both servers run under valgrind's callgrind (Debian ``valgrind``, installed if
missing), and after a warm-up the instructions each executes for N requests of each kind (GET by id,
list, create; one keep-alive connection) are counted from a zeroed counter, so the journal's cost is
read as instructions per request. Instructions are not time (memory stalls are not in them), which is
why both measurements are printed.
"""

from __future__ import annotations

import argparse
import glob
import http.client
import json
import os
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass

from bench.harness import (
    HOST,
    WORK,
    Server,
    cpu_seconds,
    ensure_debian,
    ensure_wrk,
    log,
    running,
    wrk,
)
from bench.peers import buildmock
from bench.run import PAGE, prepare, script
from bench.workloads import KINDS, WORKLOADS, Workload


@dataclass
class Turn:
    """One measured run of one workload against one server."""

    server: str
    workload: str
    rps: float
    p99_ms: float
    cpu_us: float  # server CPU time per request


def measure(
    server: Server, w: Workload, kind: str, get_path: str, args: argparse.Namespace
) -> Turn:
    """Warm up, then one measured ``wrk`` run of ``kind`` against ``server``."""
    url = f"http://{HOST}:{server.port}/"
    opts = {"threads": args.threads, "connections": args.connections}
    salt = f"{int(time.time() * 1000) % 10**8}"
    wrk(args.wrk, script(server, w, kind, get_path, salt + "w"), url, seconds=args.warmup, **opts)
    cpu0 = cpu_seconds(server.pid)
    figures = wrk(args.wrk, script(server, w, kind, get_path, salt), url, seconds=args.duration,
                  **opts)  # fmt: skip
    requests = max(1, figures["requests"])
    turn = Turn(
        server=server.name,
        workload=kind,
        rps=figures["requests"] / (figures["duration_us"] / 1e6),
        p99_ms=figures["p99_us"] / 1000,
        cpu_us=(cpu_seconds(server.pid) - cpu0) / requests * 1e6,
    )
    log(
        f"  {turn.server:<20} {kind:<6} {turn.rps:8.0f} req/s  p99 {turn.p99_ms:6.1f} ms  "
        f"cpu {turn.cpu_us:6.2f} µs/req  load {os.getloadavg()[0]:.1f}"
    )
    return turn


def _summary(path: str) -> int:
    with open(path) as dump:
        for line in dump:
            if line.startswith(("summary:", "totals:")):
                return int(line.split()[1])
    raise RuntimeError(f"no totals in {path}")


def _send(
    conn: http.client.HTTPConnection,
    method: str,
    path: str,
    w: Workload,
    sent: Iterator[int],
    headers: dict[str, str],
) -> None:
    payload = w.body(next(sent)) if method == "POST" else None
    conn.request(method, path, payload, headers)
    conn.getresponse().read()


def instructions(w: Workload, journal: int, requests: int) -> dict[str, float]:
    """Instructions per request of each kind, ``buildmock serve --journal N`` under callgrind."""
    valgrind = ensure_debian("valgrind")
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        port = probe.getsockname()[1]
    out = WORK / f"callgrind-{journal}.out"
    for old in glob.glob(f"{out}*"):
        os.unlink(old)
    argv = [valgrind, "--tool=callgrind", f"--callgrind-out-file={out}", "--dump-instr=no",
            sys.executable, "-m", "buildmock", "serve", "--api", w.vendor, "--port", str(port),
            "--log-level", "error", "--journal", str(journal)]  # fmt: skip
    server = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    headers = {**w.headers, "User-Agent": "bench", "Accept": "*/*"}
    prefix = f"/{w.vendor}"
    sent = iter(range(10**9))
    try:
        deadline = time.monotonic() + 600  # Python starts about 50x slower under callgrind
        while True:
            try:
                conn = http.client.HTTPConnection(HOST, port, timeout=60)
                conn.request("POST", prefix + w.create_path, w.body(next(sent)), headers)
                created = conn.getresponse()
                body = created.read()
                if 200 <= created.status < 300:
                    break
            except OSError:
                pass
            if time.monotonic() > deadline or server.poll() is not None:
                raise RuntimeError("buildmock did not start under callgrind")
            time.sleep(1)
        get_path = w.get_path.replace("{id}", w.id_of(json.loads(body)))
        for _ in range(PAGE):  # the list workload reads a full default page
            conn.request("POST", prefix + w.create_path, w.body(next(sent)), headers)
            conn.getresponse().read()
        figures: dict[str, float] = {}
        for number, kind in enumerate(KINDS, 1):
            path = prefix + (get_path if kind == "get" else w.list_path if kind == "list"
                             else w.create_path)  # fmt: skip
            method = "POST" if kind == "create" else "GET"

            for _ in range(min(300, requests)):
                _send(conn, method, path, w, sent, headers)
            subprocess.run(["callgrind_control", "-z", str(server.pid)], capture_output=True)
            for _ in range(requests):
                _send(conn, method, path, w, sent, headers)
            subprocess.run(["callgrind_control", "-d", str(server.pid)], capture_output=True)
            figures[kind] = _summary(f"{out}.{number}") / requests
        return figures
    finally:
        server.terminate()
        server.wait()


def main(argv: list[str] | None = None) -> int:
    """Run the A/B; exit 0 when the journal's cost is within the target on every workload."""
    p = argparse.ArgumentParser(prog="python -m bench.journal", description=__doc__.split("\n")[0])
    p.add_argument("--quick", action="store_true", help="2 turns per server of 3 s")
    p.add_argument("--turns", type=int, help="measured turns per server and workload (default 4)")
    p.add_argument("--duration", type=float, help="seconds per turn (default 5; quick 3)")
    p.add_argument("--warmup", type=float, default=1.0, help="warm-up seconds per turn")
    p.add_argument("--connections", type=int, default=32)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument(
        "--vendors",
        "--vendor",
        default="stainless",
        help=f"comma-separated, or all: {','.join(sorted(WORKLOADS))} (default stainless)",
    )
    p.add_argument("--workloads", default=",".join(KINDS), help="comma-separated")
    p.add_argument("--target", type=float, default=10.0, help="allowed cost, percent")
    p.add_argument(
        "--instructions",
        type=int,
        default=0,
        metavar="N",
        help="also count instructions per request under callgrind over N requests of each kind",
    )
    p.add_argument("--skip-timing", action="store_true", help="only the instruction count")
    args = p.parse_args(argv)
    args.turns = args.turns or (2 if args.quick else 4)
    args.duration = args.duration or (3.0 if args.quick else 5.0)
    workloads = [w for w in args.workloads.split(",") if w]
    unknown = sorted(set(workloads) - set(KINDS))
    if unknown:
        p.error(f"unknown workload(s) {', '.join(unknown)}; known: {', '.join(KINDS)}")
    vendors = sorted(WORKLOADS) if args.vendors == "all" else args.vendors.split(",")
    strange = sorted(set(vendors) - set(WORKLOADS))
    if strange:
        p.error(f"unknown vendor(s) {', '.join(strange)}; known: {', '.join(sorted(WORKLOADS))}")
    WORK.mkdir(parents=True, exist_ok=True)
    args.wrk = ensure_wrk()
    ok = all([_one_vendor(WORKLOADS[vendor], workloads, args) for vendor in vendors])
    print(
        f"\njournal within {args.target:g} % on every vendor and workload: {'yes' if ok else 'NO'}"
    )
    return 0 if ok else 1


def _one_vendor(w: Workload, workloads: list[str], args: argparse.Namespace) -> bool:
    """Measure one vendor; whether the journal's cost is within the target on every workload."""
    print(f"\n## {w.vendor}")
    ok = True
    if args.instructions:
        counts = {size: instructions(w, size, args.instructions) for size in (5000, 0)}
        print(f"\ninstructions per request under callgrind, {args.instructions} requests each\n")
        print("| request | journal on | journal off | cost |")
        print("|---|---:|---:|---:|")
        for kind, with_journal in counts[5000].items():
            without = counts[0][kind]
            cost = (with_journal / without - 1) * 100
            ok = ok and cost <= args.target
            print(f"| {kind} | {with_journal:,.0f} | {without:,.0f} | {cost:+.1f} % |")
    if args.skip_timing:
        return ok
    on, off = buildmock(w), buildmock(w, journal=False)
    turns: list[Turn] = []
    with ExitStack() as stack:
        for server in (on, off):
            stack.enter_context(running(server))
        gets = {server.name: prepare(server, w, f"ab-{server.name}") for server in (on, off)}
        for workload in workloads:
            log(f"{workload}: {args.turns} turns each, ABBA")
            for turn in range(args.turns):
                for server in (on, off) if turn % 2 == 0 else (off, on):
                    turns.append(measure(server, w, workload, gets[server.name], args))
    print(f"\nwrk -t{args.threads} -c{args.connections}, {args.turns} turns x {args.duration:g} s "
          f"per server and workload (ABBA, both servers up throughout); medians\n")  # fmt: skip
    print(
        "| workload | req/s on / off | ratio | CPU µs/req on / off | CPU cost | p99 ms on / off |"
    )
    print("|---|---:|---:|---:|---:|---:|")
    for workload in workloads:
        mine = {
            name: [t for t in turns if t.server == name and t.workload == workload]
            for name in (on.name, off.name)
        }
        rps = {name: statistics.median(t.rps for t in ts) for name, ts in mine.items()}
        cpu = {name: statistics.median(t.cpu_us for t in ts) for name, ts in mine.items()}
        p99 = {name: statistics.median(t.p99_ms for t in ts) for name, ts in mine.items()}
        a, b = on.name, off.name
        ratio = rps[a] / rps[b]
        cost = (cpu[a] / cpu[b] - 1) * 100
        ok = ok and ratio >= 1 - args.target / 100 and cost <= args.target
        print(f"| {workload} | {rps[a]:,.0f} / {rps[b]:,.0f} | {ratio:.3f} | "
              f"{cpu[a]:.1f} / {cpu[b]:.1f} | {cost:+.1f} % | {p99[a]:.1f} / {p99[b]:.1f} |")  # fmt: skip
    print(
        f"\n{w.vendor}: journal within {args.target:g} % on every workload: {'yes' if ok else 'NO'}"
    )
    return ok


if __name__ == "__main__":
    sys.exit(main())
