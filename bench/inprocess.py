"""CPU µs per request through the whole app, in one process: each vendor's GET by id, list, create.

``python -m bench.inprocess [--vendors a,b] [--age SECONDS] [--repeat N]``

The app (``create_app``, every layer, the journal on) is driven as ASGI without a server, so the figure
is the app's own cost, and ``time.process_time`` with the minimum of ``--repeat`` repetitions keeps it
steady on a shared machine (wall-clock requests per second there are noise). ``--age`` runs on a manual
clock moved that many seconds after the builds are made (GET and list only): what a client polling a
build of that age costs. The harness's own share is printed first (a bare ASGI app answering the same
way). ``bench/RESULTS.md`` has figures.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from collections.abc import Awaitable, Callable
from typing import Any

from bench.workloads import WORKLOADS, Workload
from buildmock.server.app import create_app
from buildmock.server.run import tune_gc
from buildmock.settings import Settings

App = Callable[[dict[str, Any], Any, Any], Awaitable[None]]


async def request(
    app: App, method: str, path: str, body: str | None, headers: dict[str, str]
) -> list[dict[str, Any]]:
    """One request as uvicorn would hand it over; the messages the app sent."""
    path, _, query = path.partition("?")
    raw = [(b"host", b"bench")] + [(k.lower().encode(), v.encode()) for k, v in headers.items()]
    if body is not None:
        raw.append((b"content-type", b"application/json"))
    scope = {
        "type": "http", "method": method, "path": path, "raw_path": path.encode(),
        "query_string": query.encode(), "root_path": "", "headers": raw, "scheme": "http",
        "server": ("127.0.0.1", 8080), "client": ("127.0.0.1", 50000), "http_version": "1.1",
        "asgi": {"version": "3.0"},
    }  # fmt: skip
    sent: list[dict[str, Any]] = []
    given = False

    async def receive() -> dict[str, Any]:
        nonlocal given
        if given:
            await asyncio.sleep(3600)  # a client that sent everything and waits
        given = True
        return {"type": "http.request", "body": (body or "").encode(), "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    await app(scope, receive, send)
    return sent


async def per_request(make: Callable[[int], Awaitable[Any]], count: int, repeat: int) -> float:
    """The least CPU µs per call of ``make(i)`` over ``repeat`` runs of ``count`` calls."""
    best = float("inf")
    for _ in range(repeat):
        start = time.process_time()
        for i in range(count):
            await make(i)
        best = min(best, (time.process_time() - start) / count * 1e6)
    return best


async def bare(_: dict[str, Any], __: Any, send: Any) -> None:
    """The ceiling's app: a fixed answer."""
    await send(
        {"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"2")]}
    )
    await send({"type": "http.response.body", "body": b"{}"})


async def vendor(w: Workload, age: float | None, repeat: int) -> dict[str, float]:
    """µs per GET, list (and create, without ``age``) of one vendor."""
    settings = Settings(apis=(w.vendor,), seed=1, clock="manual" if age is not None else "real")
    app = create_app(settings)
    tune_gc()  # as ``buildmock serve`` does
    base = f"/{w.vendor}"

    async def call(method: str, path: str, body: str | None = None) -> list[dict[str, Any]]:
        sent = await request(app, method, base + path, body, w.headers)
        if not 200 <= sent[0]["status"] < 300:
            raise RuntimeError(f"{w.vendor} {method} {path}: {sent[0]['status']} {sent[1:]!r}")
        return sent

    made = await call("POST", w.create_path, w.body("bench-0"))
    get = w.get_path.replace("{id}", w.id_of(json.loads(made[1]["body"])))
    for n in range(10):
        await call("POST", w.create_path, w.body(f"bench-{n + 1}"))
    if age is not None:
        app.mock.clock.advance(age)
    kinds: dict[str, tuple[str, str, int]] = {
        "get": ("GET", get, 1000),
        "list": ("GET", w.list_path, 1000),
    }
    if age is None:
        kinds["create"] = ("POST", w.create_path, 200)
    figures = {}
    for kind, (method, path, count) in kinds.items():

        async def one(i: int, method: str = method, path: str = path, kind: str = kind) -> Any:
            return await call(
                method,
                path,
                w.body(f"{kind}-{i}-{time.process_time_ns()}") if method == "POST" else None,
            )

        await per_request(one, 50, 1)  # warm-up: operations compiled, caches filled
        figures[kind] = await per_request(one, count, repeat)
    return figures


async def main(names: list[str], age: float | None, repeat: int) -> None:
    """Print the figures, one line per vendor."""
    ceiling = await per_request(lambda i: request(bare, "GET", "/x", None, {}), 2000, repeat)
    print(f"harness (bare ASGI app): {ceiling:.1f} µs per request")
    for name in names:
        figures = await vendor(WORKLOADS[name], age, repeat)
        shown = "  ".join(f"{kind} {value:7.1f} µs" for kind, value in figures.items())
        print(f"{name:<10} {shown}", flush=True)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--vendors", default=",".join(WORKLOADS), help="comma-separated (default all)"
    )
    parser.add_argument(
        "--age", type=float, help="manual clock, builds this many seconds old (GET, list)"
    )
    parser.add_argument(
        "--repeat", type=int, default=5, help="repetitions; the least is kept (default 5)"
    )
    args = parser.parse_args()
    asyncio.run(main(args.vendors.split(","), args.age, args.repeat))
