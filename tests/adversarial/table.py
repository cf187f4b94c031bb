"""Print issue #16's cases as a before/after table: ``python -m tests.adversarial.table --before
/path/to/baseline/src`` (``--after`` defaults to this checkout's ``src``)."""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from tests.adversarial.lab import SRC, Lab
from tests.adversarial.probes import CASES, Outcome


def run_all(src: Path) -> dict[str, Outcome]:
    """Every probe against servers from ``src``; a probe that crashes is reported as such."""
    lab = Lab(src=src)
    results: dict[str, Outcome] = {}
    try:
        for name, case in CASES.items():
            try:
                results[name] = case.probe(lab)
            except Exception as exc:  # the baseline may answer in ways a probe cannot follow
                results[name] = (False, f"probe failed: {type(exc).__name__}: {str(exc)[:60]}")
    finally:
        lab.close()
    return results


def main() -> None:
    """Run both trees and print the markdown table."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--before", type=Path, required=True)
    parser.add_argument("--after", type=Path, default=SRC)
    args = parser.parse_args()
    started = time.perf_counter()
    before, after = run_all(args.before), run_all(args.after)
    print("| area | case | before | after |")
    print("|---|---|---|---|")
    for name, case in CASES.items():
        b, a = before[name], after[name]
        cells = [f"{'ok' if ok else 'FAIL'}: {text}".replace("|", "/") for ok, text in (b, a)]
        print(f"| {case.area} | {case.case} | {cells[0]} | {cells[1]} |")
    fixed = sum(after[n][0] for n in CASES)
    print(f"\n{fixed}/{len(CASES)} hardened after ({sum(before[n][0] for n in CASES)} before); "
          f"{time.perf_counter() - started:.0f} s")  # fmt: skip


if __name__ == "__main__":
    main()
