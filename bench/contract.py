"""``buildmock contract --mock``: wall and CPU time, all vendors at once and each vendor alone.

One command, from the repository root::

    .venv/bin/python -m bench.contract                    # all vendors, then each alone (about 4 minutes)
    .venv/bin/python -m bench.contract --skip-each        # only the all-vendor run (the target: < 60 s)
    .venv/bin/python -m bench.contract --vendors nuon,vela --skip-all --seed 1

Each run is the command a user types (default phases and examples per operation), in a subprocess. Wall
time depends on what else the machine runs, so the bench also prints CPU seconds (user + system of the
run and every process it started, the worker processes included) and the load average before and after.
From the per-vendor CPU seconds it prints the floor of the all-vendor wall time: the vendors dealt
longest first onto the worker processes (``--jobs``, default one per core), as the runner deals them.
Exit 0 when the all-vendor run took under ``--target`` seconds (or was skipped).
"""

from __future__ import annotations

import argparse
import os
import re
import resource
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BUILDMOCK = Path(sys.executable).with_name("buildmock")
VENDORS = ("cocktail", "escape", "nuon", "stainless", "vela")
#: Seconds between two looks at the run's processes' CPU time (a worker's last fraction of it may be missed).
POLL = 0.5
_TICKS = os.sysconf("SC_CLK_TCK")
_SUMMARY = re.compile(
    r"^(\w+) \(mock:\w+\): (\d+) scenarios, (\d+) requests, (\d+) findings? in ([\d.]+)s"
)


@dataclass
class Run:
    """One ``buildmock contract`` run: what it was asked, how long it took, what it printed."""

    label: str
    wall: float
    cpu: float
    exit_code: int
    load: tuple[str, str]
    #: Per API: (scenarios, requests, findings, seconds the run reported).
    apis: dict[str, tuple[int, int, int, float]]


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _load() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def _tree_cpu(root: int, seen: dict[int, float]) -> None:
    """Note the CPU seconds so far of ``root`` and each process under it (from ``/proc``) in ``seen``."""
    parent: dict[int, int] = {}
    cpu: dict[int, float] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue  # gone meanwhile
        pid = int(stat.parent.name)
        parent[pid] = int(fields[1])
        cpu[pid] = (int(fields[11]) + int(fields[12])) / _TICKS
    for pid, seconds in cpu.items():
        up = pid
        while up in parent and up != root:
            up = parent[up]
        if up == root:
            seen[pid] = max(seen.get(pid, 0.0), seconds)


def contract(label: str, args: list[str]) -> Run:
    """Run ``buildmock contract --mock ARGS`` and measure it."""
    before, load = _children_cpu(), _load()
    started = time.perf_counter()
    seen: dict[int, float] = {}
    with subprocess.Popen(
        [str(BUILDMOCK), "contract", "--mock", *args],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
    ) as process:  # fmt: skip
        reader = threading.Thread(
            target=lambda: out.append(process.stdout.read() if process.stdout else "")
        )
        out: list[str] = []
        reader.start()
        while process.poll() is None:
            _tree_cpu(process.pid, seen)
            time.sleep(POLL)
        reader.join()
    wall = time.perf_counter() - started
    apis = {}
    for line in "".join(out).splitlines():
        match = _SUMMARY.match(line)
        if match:
            api, scenarios, requests, findings, seconds = match.groups()
            apis[api] = (int(scenarios), int(requests), int(findings), float(seconds))
    # Processes already reaped by their parent are counted until their last poll; the command itself in full.
    seen[process.pid] = max(seen.get(process.pid, 0.0), _children_cpu() - before)
    return Run(label, wall, sum(seen.values()), process.returncode, (load, _load()), apis)


def floor(cpu: dict[str, float], jobs: int) -> float:
    """The all-vendor wall time if each vendor took its CPU seconds, dealt longest first onto ``jobs``."""
    workers = [0.0] * max(1, jobs)
    for seconds in sorted(cpu.values(), reverse=True):
        workers[workers.index(min(workers))] += seconds
    return max(workers)


def _show(run: Run) -> None:
    apis = ", ".join(f"{api} {s:.1f}s ({n} req)" for api, (_, n, _, s) in run.apis.items())
    print(
        f"{run.label:<12} wall {run.wall:6.1f} s  cpu {run.cpu:6.1f} s  exit {run.exit_code}  "
        f"load {run.load[0]} -> {run.load[1]}  [{apis}]",
        flush=True,
    )


def main(argv: list[str] | None = None) -> int:
    """Measure, print, and exit 0 when the all-vendor run met ``--target``."""
    parser = argparse.ArgumentParser(
        prog="python -m bench.contract", description=__doc__.splitlines()[0]
    )
    parser.add_argument(
        "--vendors", default=",".join(VENDORS), help="comma-separated (default: all)"
    )
    parser.add_argument("--seed", type=int, help="Schemathesis seed for every run")
    parser.add_argument(
        "--jobs", type=int, help="--jobs of the all-vendor run (default: the runner's)"
    )
    parser.add_argument(
        "--target", type=float, default=60.0, help="seconds the all-vendor run must beat"
    )
    parser.add_argument("--skip-all", action="store_true", help="leave the all-vendor run out")
    parser.add_argument("--skip-each", action="store_true", help="leave the per-vendor runs out")
    args = parser.parse_args(argv)
    vendors = [v for v in args.vendors.split(",") if v]
    common = ["--seed", str(args.seed)] if args.seed is not None else []
    selected = (
        [arg for v in vendors for arg in ("--api", v)] if set(vendors) != set(VENDORS) else []
    )
    jobs = args.jobs or len(os.sched_getaffinity(0))
    print(
        f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs, jobs {jobs}, vendors {','.join(vendors)}"
    )
    met = True
    if not args.skip_all:
        run = contract("all", [*selected, *common, "--jobs", str(jobs)])
        _show(run)
        met = run.wall < args.target and run.exit_code == 0
        print(
            f"target: all vendors under {args.target:g} s: {'met' if met else 'NO'} ({run.wall:.1f} s)"
        )
    if not args.skip_each:
        cpu = {}
        for vendor in vendors:
            run = contract(vendor, ["--api", vendor, "--jobs", "1", *common])
            _show(run)
            cpu[vendor] = run.cpu
        print(f"cpu of each vendor alone: {sum(cpu.values()):.1f} s in all; "
              f"floor of the all-vendor run on {jobs} cores (longest first): {floor(cpu, jobs):.1f} s")  # fmt: skip
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
