"""buildmock against its peers and its ceiling, per vendor: throughput, latency, memory, start-up.

One command, from the repository root::

    .venv/bin/python -m bench.run            # everything (see bench/RESULTS.md for how long)
    .venv/bin/python -m bench.run --quick    # smoke run: 3 s per workload, short memory run

It installs what it needs (``wrk`` from Debian; Prism, WireMock and Mockoon CLI from npm into
``bench/.work/``), then:

1. throughput, for each vendor (``--vendors``): buildmock is started once to seed the builds the
   workloads read and to capture its answers (GET by id, list, create); those bytes become WireMock's
   stubs and the bare-ASGI ceiling's table. Then every server (buildmock on uvicorn, and each of
   ``--peers``: Prism static and dynamic on the vendor's spec, WireMock, Mockoon importing the spec,
   the ceiling on uvicorn and, with ``granian``, buildmock and the ceiling on granian) is started
   afresh (the order rotates every round) and runs the three ``wrk`` workloads after a warm-up;
2. memory: ``--creates`` Stainless creates over HTTP against one buildmock, RSS sampled every second;
3. start-up: buildmock with every vendor, time from spawn to each vendor's first good response.

It prints one table per vendor, the targets of issue #20 as ratios from this run, and exits 0 only
when every target is met. All traffic goes to 127.0.0.1; every load is bounded in time.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import signal
import statistics
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench import peers
from bench.harness import (
    HOST,
    WORK,
    Result,
    Sampler,
    Server,
    cpu_seconds,
    ensure_wrk,
    http,
    log,
    lua_request,
    lua_script,
    rss_mb,
    running,
    wrk,
)
from bench.workloads import KINDS, WORKLOADS, Workload

PAGE = 10  # builds seeded before the workloads: a full default page for the list

# -- workloads ---------------------------------------------------------------------------------


def prepare(server: Server, w: Workload, salt: str) -> str:
    """Seed ``PAGE`` builds on buildmock; the GET workload's path (the last one's)."""
    last = ""
    for n in range(PAGE):
        status, body = http(
            "POST", server.url(w.create_path), w.body(f"{salt}-seed-{n}"), headers=w.headers
        )
        if not 200 <= status < 300:
            raise RuntimeError(f"{server.name}: create answered {status}: {body[:300]!r}")
        last = w.get_path.replace("{id}", w.id_of(json.loads(body)))
    return last


def script(server: Server, w: Workload, kind: str, get_path: str, salt: str) -> Path:
    """The wrk script of one workload against one server."""
    if kind == "get":
        part = lua_request("GET", server.prefix + get_path, w.headers, None)
    elif kind == "list":
        part = lua_request("GET", server.prefix + w.list_path, w.headers, None)
    else:
        part = lua_request("POST", server.prefix + w.create_path, w.headers, w.body("{n}"), salt)
    return lua_script(f"{w.vendor}-{server.name}-{kind}-{salt}", part)


def run_workloads(
    server: Server, wrk_bin: str, args: argparse.Namespace, w: Workload, get_path: str
) -> list[Result]:
    """The three workloads (GET by id, list, create) against a started server."""
    results = []
    url = f"http://{HOST}:{server.port}/"
    opts = {"threads": args.threads, "connections": args.connections}
    if server.name == "wiremock":  # its JVM compiles as it runs: warm every request kind first
        for kind in KINDS:
            warm = script(server, w, kind, get_path, f"jvm{int(time.time() * 1000) % 10**8}")
            wrk(wrk_bin, warm, url, seconds=args.jvm_warmup, **opts)
    for kind in KINDS:
        salt = f"{int(time.time() * 1000) % 10**8}"
        wrk(
            wrk_bin, script(server, w, kind, get_path, salt + "w"), url, seconds=args.warmup, **opts
        )
        measured = script(server, w, kind, get_path, salt)
        load = os.getloadavg()[0]
        cpu0 = cpu_seconds(server.pid)
        with Sampler(server.pid) as sampler:
            figures = wrk(wrk_bin, measured, url, seconds=args.duration, **opts)
        cpu = cpu_seconds(server.pid) - cpu0
        n = max(1, figures["requests"])
        errors = sum(figures[k] for k in ("connect", "read", "write", "status", "timeout"))
        r = Result(
            server=server.name,
            workload=kind,
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
            vendor=w.vendor,
        )
        results.append(r)
        log(
            f"  {w.vendor:<9} {server.name:<20} {kind:<6} {r.rps:8.0f} req/s  p50 {r.p50_ms:6.1f} ms"
            f"  p99 {r.p99_ms:7.1f} ms  errors {r.errors}  cpu {r.cpu_ms:.2f} ms/req"
            f"  rss {r.peak_rss:.0f} MB  load {load:.1f}"
        )
    return results


def servers_for(w: Workload, args: argparse.Namespace, answers: Path) -> list[Server]:
    """buildmock and the selected peers, on vendor ``w``."""
    chosen = set(args.peers)
    out = [peers.buildmock(w)]
    if args.no_journal:
        out.append(peers.buildmock(w, journal=False))
    if "granian" in chosen:
        out.append(peers.buildmock(w, server="granian"))
    makers: dict[str, Callable[[], Server]] = {
        "prism-static": lambda: peers.prism(w, dynamic=False),
        "prism-dynamic": lambda: peers.prism(w, dynamic=True),
        "wiremock": lambda: peers.wiremock(w, answers),
        "mockoon": lambda: peers.mockoon(w),
        "ceiling": lambda: peers.ceiling(w, answers),
    }
    out += [make() for name, make in makers.items() if name in chosen]
    if "granian" in chosen and "ceiling" in chosen:
        out.append(peers.ceiling(w, answers, server="granian"))
    return out


#: Peers answering captured bytes: checked to answer them byte for byte before they are measured.
STATIC = ("wiremock", "ceiling-uvicorn", "ceiling-granian")


def throughput(args: argparse.Namespace, wrk_bin: str, notes: list[str]) -> list[Result]:
    """Per vendor: capture buildmock's answers, then rounds of every server, the order rotating."""
    results: list[Result] = []
    for vendor in args.vendors:
        w = WORKLOADS[vendor]
        salt = f"{int(time.time()) % 10**6}"
        with running(peers.buildmock(w)) as bm:
            get_path = prepare(bm, w, salt)
            # Builds change as they progress: captured at about the age they are read at when
            # measured (after the GET workload), the peers' answers match buildmock's.
            time.sleep(args.warmup * 2 + args.duration)
            answers = peers.capture(bm, w, get_path, salt)
        servers = servers_for(w, args, answers)
        for round_no in range(args.rounds):
            k = round_no % len(servers)
            order = servers[k:] + servers[:k]
            log(f"{vendor} round {round_no + 1}/{args.rounds}: {', '.join(s.name for s in order)}")
            for server in order:
                try:
                    with running(server, timeout=args.start_timeout):
                        log(f"  {server.name} ready in {server.startup:.2f}s")
                        path = get_path
                        if server.name.startswith("buildmock"):
                            path = prepare(server, w, salt)
                        elif server.name in STATIC and round_no == 0:
                            same = peers.same_bytes(server, answers, w)
                            notes.append(
                                f"{vendor}: {server.name} answers buildmock's bytes: {same}"
                            )
                        results += run_workloads(server, wrk_bin, args, w, path)
                except (RuntimeError, OSError) as exc:
                    reason = " ".join(str(exc).split())[:300]
                    log(f"  {server.name} failed: {reason}")
                    notes.append(f"{vendor}: {server.name} could not be measured: {reason}")
    return results


# -- memory and start-up -----------------------------------------------------------------------


def memory_run(args: argparse.Namespace, wrk_bin: str) -> dict[str, Any]:
    """``--creates`` Stainless creates against one buildmock server, RSS sampled every second."""
    w = WORKLOADS["stainless"]
    server = peers.buildmock(w)
    with running(server):
        part = lua_request("POST", server.prefix + w.create_path, w.headers, w.body(0))
        script_path = lua_script("memory-create", part, limited=True)
        rss_start = rss_mb(server.pid)
        log(f"memory: {args.creates:,} creates over HTTP (wrk -c{args.connections}), RSS sampled")
        started = time.perf_counter()
        with Sampler(server.pid, every=1.0) as sampler:
            figures = wrk(
                wrk_bin,
                script_path,
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
    return {
        "creates": figures["requests"],
        "errors": errors,
        "seconds": elapsed,
        "rate": figures["requests"] / elapsed,
        "rss_start": rss_start,
        "rss_peak": sampler.peak,
        "rss_end": series[-1][1],
        "growth_after_10pct": series[-1][1] - checkpoints[0][1],
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
            env=peers._env(),
        )
        with running(server, ready_path="/__buildmock/health"):
            _, state = http("GET", server.url("/__buildmock/state"))
            vendors = sorted(json.loads(state or b"{}").get("vendors", {}))
            # A GET every mounted vendor answers 200 without credentials: its OpenAPI document.
            pending = {name: f"/{name}/openapi.json" for name in vendors}
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


# -- report ------------------------------------------------------------------------------------

Key = tuple[str, str, str]  # vendor, server, workload


def median_results(results: list[Result]) -> dict[Key, Result]:
    """Median over rounds per vendor, server and workload (errors summed, RSS: max)."""
    grouped: dict[Key, list[Result]] = {}
    for r in results:
        grouped.setdefault((r.vendor, r.server, r.workload), []).append(r)
    out = {}
    for key, rs in grouped.items():
        out[key] = Result(
            server=key[1],
            workload=key[2],
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
            vendor=key[0],
        )
    return out


#: Peers whose p99 buildmock's must not exceed (the ceiling and buildmock's variants are no peers).
P99_PEERS = ("prism-static", "prism-dynamic", "wiremock", "mockoon")


def targets(med: dict[Key, Result], vendors: list[str]) -> list[tuple[str, bool | None, str]]:
    """Issue #20's targets per vendor: (name, met — None when a peer it needs was not measured,
    measured)."""
    checks: list[tuple[str, bool | None, str]] = []

    def ratio(vendor: str, kind: str, peer: str, need: float, label: str) -> None:
        bm, other = med.get((vendor, "buildmock", kind)), med.get((vendor, peer, kind))
        name = f"{vendor} {kind}: >= {label} {peer}"
        if bm is None or other is None or not other.requests:
            checks.append(
                (name, None, "not measured" if other is None else f"{peer} answered none")
            )
            return
        value = bm.rps / other.rps if other.rps else float("inf")
        detail = f"{value:.2f}x ({bm.rps:,.0f} vs {other.rps:,.0f}/s)"
        checks.append((name, value >= need, detail))

    for vendor in vendors:
        ratio(vendor, "create", "prism-static", 2.0, "2x")
        ratio(vendor, "create", "wiremock", 1.0, "1x")
        ratio(vendor, "get", "wiremock", 2.0, "2x")
        ratio(vendor, "get", "ceiling-uvicorn", 0.75, "75% of")
        for kind in KINDS:
            bm = med.get((vendor, "buildmock", kind))
            if bm is None:
                continue
            # A peer that answered nothing has no latency to compare with (its row shows 0 req/s).
            others = {
                p: med[(vendor, p, kind)]
                for p in P99_PEERS
                if (vendor, p, kind) in med and med[(vendor, p, kind)].requests
            }
            worst = min(others.values(), key=lambda r: r.p99_ms, default=None)
            checks.append(
                (
                    f"{vendor} {kind}: p99 <= every peer's",
                    None if worst is None else bm.p99_ms <= worst.p99_ms,
                    f"{bm.p99_ms:.1f} ms"
                    + (
                        ""
                        if worst is None
                        else f" vs {worst.server} {worst.p99_ms:.1f} ms (lowest)"
                    ),
                )
            )
            checks.append((f"{vendor} {kind}: buildmock 0 errors", bm.errors == 0, str(bm.errors)))
    return checks


def report(
    args: argparse.Namespace,
    results: list[Result],
    memory: dict[str, Any] | None,
    startup: dict[str, Any] | None,
    notes: list[str],
) -> tuple[str, bool]:
    """The markdown report and whether every target was met."""
    lines = [
        f"## bench run {datetime.now(UTC).strftime('%Y-%m-%d %H:%M UTC')}",
        "",
        f"- machine: {platform.node()}, {os.cpu_count()} cores, {platform.platform()}, "
        f"Python {platform.python_version()}; Prism {peers.version(peers.PRISM)}, Mockoon "
        f"{peers.version(peers.MOCKOON)}, WireMock {peers.wiremock_version()}",
        f"- wrk -t{args.threads} -c{args.connections} -d{args.duration:g}s "
        f"(+{args.warmup:g}s warm-up), {args.rounds} round(s), medians; loopback; "
        f"load average at the end {os.getloadavg()[0]:.1f}",
        f"- vendors: {', '.join(args.vendors)}; peers: {', '.join(args.peers) or 'none'}",
        "",
    ]
    med = median_results(results)
    if med:
        lines += [
            "| vendor | server | workload | req/s | p50 ms | p99 ms | errors | server CPU ms/req | "
            "bytes/resp | peak RSS MB | start-up s |",
            "|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|",
        ]
        for (vendor, server, kind), r in sorted(
            med.items(), key=lambda kv: (kv[0][0], KINDS.index(kv[0][2]), -kv[1].rps)
        ):
            lines.append(
                f"| {vendor} | {server} | {kind} | {r.rps:,.0f} | {r.p50_ms:.1f} | {r.p99_ms:.1f} | "
                f"{r.errors} | {r.cpu_ms:.2f} | {r.bytes_per:,.0f} | {r.peak_rss:.0f} | "
                f"{r.startup:.2f} |"
            )
        lines.append("")
        for vendor in args.vendors:
            for variant, base in (
                ("buildmock-granian", "buildmock"),
                ("buildmock-nojournal", "buildmock"),
                ("ceiling-granian", "ceiling-uvicorn"),
                ("buildmock-granian", "ceiling-granian"),
            ):
                pairs = [
                    f"{k} {med[(vendor, variant, k)].rps / med[(vendor, base, k)].rps:.2f}x"
                    for k in KINDS
                    if (vendor, variant, k) in med
                    and (vendor, base, k) in med
                    and med[(vendor, base, k)].rps
                ]
                if pairs:
                    lines.append(f"- {vendor}: {variant} / {base}: {', '.join(pairs)}")
        lines.append("")
    lines += [f"- {note}" for note in notes]
    lines += [""] if notes else []
    checks = targets(med, args.vendors) if med else []
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
    ok = True
    if checks:
        lines += ["| target | met | measured |", "|---|---|---|"]
        for name, met, measured in checks:
            ok &= bool(met)  # a target whose peer was not measured is not met
            shown = "yes" if met else ("**n/a**" if met is None else "**NO**")
            lines.append(f"| {name} | {shown} | {measured} |")
        lines.append("")
        missed = sum(1 for _, met, _ in checks if not met)
        lines.append(f"{len(checks) - missed} of {len(checks)} targets met")
    return "\n".join(lines) + "\n", ok


def _names(raw: str, known: tuple[str, ...], what: str) -> list[str]:
    names = [n.strip() for n in raw.split(",") if n.strip()] if raw != "all" else list(known)
    unknown = [n for n in names if n not in known]
    if unknown:
        raise SystemExit(f"bench: unknown {what} {', '.join(unknown)} (known: {', '.join(known)})")
    return names


def main(argv: list[str] | None = None) -> int:
    """Run the bench; exit 0 when every target was met, 1 otherwise."""
    p = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__.split("\n")[0])
    p.add_argument("--quick", action="store_true", help="smoke run (3 s workloads, 20 000 creates)")
    p.add_argument("--vendors", default="all", help="comma-separated vendors (default all five)")
    p.add_argument(
        "--peers",
        default="all",
        help=f"comma-separated peers of {', '.join(peers.PEERS)} (default all)",
    )
    p.add_argument("--rounds", type=int, default=1, help="rounds of every server (default 1)")
    p.add_argument("--duration", type=float, help="seconds per workload (default 10; quick 3)")
    p.add_argument("--warmup", type=float, help="warm-up seconds per workload (default 3; quick 1)")
    p.add_argument(
        "--jvm-warmup",
        type=float,
        default=10,
        help="WireMock's extra warm-up per workload, all three first (its JVM compiles as it runs; "
        "default 10)",
    )
    p.add_argument("--connections", type=int, default=32)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument(
        "--start-timeout", type=float, default=60, help="seconds a server may take to start"
    )
    p.add_argument("--creates", type=int, help="memory run creates (default 1000000; quick 20000)")
    p.add_argument("--memory-timeout", type=float, default=1800, help="memory run time bound, s")
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
    if args.src:
        peers.SRC[:] = [args.src.resolve()]
    args.vendors = _names(args.vendors, tuple(WORKLOADS), "vendor")
    args.peers = _names(args.peers, peers.PEERS, "peer")
    args.duration = args.duration or (3 if args.quick else 10)
    args.warmup = args.warmup if args.warmup is not None else (1 if args.quick else 3)
    args.creates = args.creates or (20_000 if args.quick else 1_000_000)

    # A terminated bench still stops the servers it started (the ``finally`` of ``running``).
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    WORK.mkdir(parents=True, exist_ok=True)
    wrk_bin = ensure_wrk()
    started = time.perf_counter()
    notes: list[str] = []
    results = [] if args.skip_throughput else throughput(args, wrk_bin, notes)
    memory = None if args.skip_memory else memory_run(args, wrk_bin)
    startup = None if args.skip_startup else startup_run(1 if args.quick else 3)
    notes.append(f"the whole run took {time.perf_counter() - started:.0f} s")
    text, ok = report(args, results, memory, startup, notes)
    print(text)
    if args.json:
        args.json.write_text(
            json.dumps(
                {"results": [r.__dict__ for r in results], "memory": memory, "startup": startup},
                indent=2,
            )
        )
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
