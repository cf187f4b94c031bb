"""Every fault kind against every vendor, as a client sees it; then the journal records it.

Starts a real ``buildmock serve`` (all vendors, seed 1) on a free loopback port, sends each vendor's
list request once per fault (``Prefer: fault=…``) and once with ``Prefer: latency=250ms``, and prints
what an ``httpx`` client got back: the status, ``Retry-After`` and the vendor-shaped error body, or the
transport error. Then it pins a scenario through the control API (Vela's next list: a 429), and asks the
request journal for the recorded faults and scenario and verifies them::

    .venv/bin/python examples/faults_tour.py

Exit 0 when every status fault answered its status in the vendor's shape and every transport fault
broke the transport; 1 otherwise.
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager

import httpx

from buildmock.contract.auth import mock_headers
from buildmock.core.prefer import STATUS_FAULTS, TRANSPORT_FAULTS

TOKEN = "tour-token"
CONTROL = {"X-Buildmock-Token": TOKEN}
#: Each vendor's list of builds in the seeded fixtures (a body worth breaking).
LISTS = {
    "cocktail": "/v1/build/run?buildSeq=1",
    "escape": "/api/v1/state/acme/environments/production/builds/",
    "nuon": "/v1/builds?component_id=cmpwi146p6io410dd3uopq4chl",
    "stainless": "/v0/builds?project=acme-api",
    "vela": "/api/v1/repos/github/octocat/builds",
}
EXTRA = {"nuon": {"X-Nuon-Org-ID": "orgdf0nnt8u8ob9jefcazcou5q"}}


@contextmanager
def served() -> Iterator[str]:
    """``buildmock serve`` on a free port, until the block ends."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    argv = [sys.executable, "-m", "buildmock", "serve", "--port", str(port), "--seed", "1",
            "--token", TOKEN, "--log-level", "error"]  # fmt: skip
    process = subprocess.Popen(argv)
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(200):
            try:
                if httpx.get(f"{base}/__buildmock/health", headers=CONTROL).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.05)
        else:
            raise SystemExit("buildmock serve did not start")
        yield base
    finally:
        process.terminate()
        process.wait(10)


def headers(vendor: str, spec: dict[str, object]) -> dict[str, str]:
    """Credentials the vendor's mock accepts."""
    return {**mock_headers(vendor, spec, TOKEN), **EXTRA.get(vendor, {})}


def seen(client: httpx.Client, url: str, sent: dict[str, str]) -> tuple[bool, str]:
    """(broken transport?, what the client saw)."""
    try:
        answer = client.get(url, headers=sent)
    except httpx.TransportError as exc:
        return True, f"{type(exc).__name__}: {exc}"
    retry = answer.headers.get("Retry-After")
    shown = f"{answer.status_code}" + (f" Retry-After: {retry}" if retry else "")
    return False, f"{shown}  {answer.text[:90] or '(empty body)'}"


def main() -> int:
    """Print the tour; exit 0 when every fault had its effect."""
    ok = True
    with served() as base, httpx.Client(timeout=10) as client:
        for vendor, path in LISTS.items():
            url = f"{base}/{vendor}{path}"
            sent = headers(vendor, client.get(f"{base}/{vendor}/openapi.json").json())
            print(f"\n{vendor}: GET /{vendor}{path}")
            for fault in (*STATUS_FAULTS, *TRANSPORT_FAULTS):
                prefer = f"fault={fault}" + ("; retry-after=30" if fault == "429" else "")
                broken, text = seen(client, url, {**sent, "Prefer": prefer})
                expected = fault in TRANSPORT_FAULTS or text.startswith(fault)
                ok = ok and expected and broken == (fault in TRANSPORT_FAULTS)
                print(f"  {prefer:<28} {text}")
            started = time.perf_counter()
            _, text = seen(client, url, {**sent, "Prefer": "latency=250ms"})
            took = (time.perf_counter() - started) * 1000
            ok = ok and took >= 250 and text.startswith("200")
            print(f"  {'latency=250ms':<28} {text[:3]} after {took:.0f} ms")
        print("\nthe journal: Stainless requests answered 429")
        control = httpx.Client(base_url=base, headers=CONTROL)
        found = control.get("/__buildmock/requests", params={"vendor": "stainless", "status": 429})
        for entry in found.json()["requests"]:
            print(" ", json.dumps({key: entry[key] for key in
                                   ("id", "method", "path", "status", "applied", "headers")}))  # fmt: skip
        print("\na pinned scenario: Vela's next list answers 429 once, no header needed")
        rule = {"id": "tour-429", "vendor": "vela", "method": "GET", "fault": "429",
                "retry_after": 5, "times": 1}  # fmt: skip
        control.post("/__buildmock/scenarios", json=rule).raise_for_status()
        url = f"{base}/vela{LISTS['vela']}"
        vela = headers("vela", client.get(f"{base}/vela/openapi.json").json())
        pinned = [seen(client, url, vela)[1] for _ in range(2)]
        print(f"  first  {pinned[0]}\n  second {pinned[1][:40]}")
        ok = ok and pinned[0].startswith("429 Retry-After: 5") and pinned[1].startswith("200")
        found = control.get("/__buildmock/requests", params={"vendor": "vela", "status": 429})
        print("  journal:", [(entry["id"], entry["applied"]) for entry in found.json()["requests"]])
        verdict = control.post("/__buildmock/requests/verify", json={
            "vendor": "vela", "method": "GET", "path": "/vela/api/v1/*", "status": 429,
            "count": 2})  # fmt: skip
        print("  verify two 429s for Vela (the Prefer one and the scenario's):", verdict.text)
        ok = ok and verdict.json()["matched"] is True
        print("verify: two GETs of Stainless's builds broken before any answer (reset, empty)")
        verdict = control.post("/__buildmock/requests/verify", json={
            "vendor": "stainless", "method": "GET", "path": "/stainless/v0/builds", "status": 0,
            "count": 2})  # fmt: skip
        print(" ", verdict.text)
        ok = ok and verdict.json()["matched"] is True
    print("\nevery fault had its effect" if ok else "\nSOME FAULT DID NOT HAVE ITS EFFECT")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
