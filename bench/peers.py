"""The servers the bench measures, each on one vendor's workloads: buildmock (on uvicorn or granian,
with or without its journal or fast path), Prism static and dynamic, WireMock and Mockoon (npm, in
``bench/.work``), and the bare-ASGI ceiling (bench/ceiling.py) on uvicorn or granian.

WireMock's stubs and the ceiling's table answer the bytes buildmock answered (:func:`capture`).
"""

from __future__ import annotations

import base64
import json
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit

import yaml

from bench.harness import HOST, WORK, Server, ensure_npm, request
from bench.workloads import Workload
from buildmock.server.journal import DEFAULT_SIZE

PRISM = WORK / "node_modules" / ".bin" / "prism"
PRISM_PACKAGE = "@stoplight/prism-cli@^5"
WIREMOCK_PACKAGE = "wiremock@^3"
WIREMOCK_DIR = WORK / "node_modules" / "wiremock"
MOCKOON = WORK / "node_modules" / ".bin" / "mockoon-cli"
MOCKOON_PACKAGE = "@mockoon/cli@^9"
#: Response headers not captured: each server sets its own.
HOP_HEADERS = {"date", "server", "content-length", "connection", "keep-alive", "transfer-encoding"}
#: Every peer the bench knows; ``buildmock`` (on uvicorn) always runs.
PEERS = (
    "prism-static",
    "prism-dynamic",
    "wiremock",
    "mockoon",
    "ceiling",
    "granian",
)

#: Another checkout's ``src`` to benchmark instead of this one (``--src``: before/after figures).
SRC: list[Path] = []


def _env() -> dict[str, str]:
    return {"PYTHONPATH": str(SRC[0])} if SRC else {}


def buildmock(w: Workload, *, server: str = "uvicorn", journal: bool = True) -> Server:
    """buildmock as ``buildmock serve --api <vendor>`` runs it (default settings, real clock)."""

    def argv(port: int) -> list[str]:
        cmd = [sys.executable, "-m", "buildmock", "serve", "--port", str(port), "--api", w.vendor]
        cmd += [] if server == "uvicorn" else ["--server", server]
        return [*cmd, "--log-level", "error", *([] if journal else ["--journal", "0"])]

    name = "buildmock" + ("" if server == "uvicorn" else f"-{server}")
    name += "" if journal else "-nojournal"
    return _server(name, argv, f"/{w.vendor}", w, env=_env())


def _server(
    name: str, argv: object, prefix: str, w: Workload, env: dict[str, str] | None = None
) -> Server:
    return Server(
        name,
        argv,  # type: ignore[arg-type]
        prefix,
        env=env or {},
        ready_path=w.list_path,
        headers=w.headers,
    )


def prism(w: Workload, dynamic: bool) -> Server:
    """Prism on the vendor's spec: static examples (its fastest, ``-v error``) or dynamic (``-d``)."""
    ensure_npm(PRISM_PACKAGE, PRISM)

    def argv(port: int) -> list[str]:
        cmd = [str(PRISM), "mock", "-h", HOST, "-p", str(port), "-v", "error"]
        return cmd + (["-d"] if dynamic else []) + [str(w.spec)]

    return _server("prism-dynamic" if dynamic else "prism-static", argv, "", w)


def version(binary: Path) -> str:
    """An npm tool's ``--version``, or ``-`` if it is not installed."""
    if not binary.exists():
        return "-"
    out = subprocess.run([str(binary), "--version"], capture_output=True, text=True)
    return (out.stdout.strip() or "?").splitlines()[0]


def wiremock_version() -> str:
    """The installed WireMock's version, or ``-``."""
    manifest = WIREMOCK_DIR / "package.json"
    return str(json.loads(manifest.read_text())["version"]) if manifest.exists() else "-"


def wiremock_jar() -> Path:
    """The standalone jar the npm package ``wiremock`` bundles."""
    ensure_npm(WIREMOCK_PACKAGE, WIREMOCK_DIR / "package.json")
    jars = sorted((WIREMOCK_DIR / "build").glob("*.jar"))
    if not jars:
        raise RuntimeError(f"no jar in {WIREMOCK_DIR / 'build'}")
    return jars[-1]


#: buildmock's default ``--journal``: WireMock keeps a journal of the same size.
JOURNAL = DEFAULT_SIZE


def wiremock(w: Workload, answers: Path) -> Server:
    """WireMock standalone with one static stub per captured answer, configured as buildmock
    serves by default: a request journal bounded to the same 5 000 entries (WireMock's default
    journal is unbounded), no request logging (buildmock's access log is off by default)."""
    root = WORK / f"wiremock-{w.vendor}"
    (root / "mappings").mkdir(parents=True, exist_ok=True)
    (root / "__files").mkdir(exist_ok=True)
    mappings = []
    for entry in json.loads(answers.read_text()):
        mappings.append(
            {
                "request": {"method": entry["method"], "url": entry["path"]},
                "response": {
                    "status": entry["status"],
                    "headers": dict(entry["headers"]),
                    "base64Body": entry["body"],
                },
            }
        )
    (root / "mappings" / "bench.json").write_text(json.dumps({"mappings": mappings}))
    jar = wiremock_jar()

    def argv(port: int) -> list[str]:
        return [
            "java",
            "-jar",
            str(jar),
            "--bind-address",
            HOST,
            "--port",
            str(port),
            "--root-dir",
            str(root),
            "--disable-banner",
            "--max-request-journal-entries",
            str(JOURNAL),
            "--disable-request-logging",
        ]

    return _server("wiremock", argv, f"/{w.vendor}", w)


def mockoon(w: Workload) -> Server:
    """Mockoon CLI importing the vendor's OpenAPI document as it stands (``--data spec.yaml``); its
    routes sit under the path of the spec's first server."""
    ensure_npm(MOCKOON_PACKAGE, MOCKOON)
    servers = yaml.safe_load(w.spec.read_text()).get("servers") or [{"url": ""}]
    prefix = urlsplit(servers[0]["url"]).path.rstrip("/")

    def argv(port: int) -> list[str]:
        return [str(MOCKOON), "start", "--data", str(w.spec), "--port", str(port)]

    return _server("mockoon", argv, prefix, w)


def ceiling(w: Workload, answers: Path, server: str = "uvicorn") -> Server:
    """The bare ASGI app answering the captured bytes, on ``server`` with buildmock's options."""

    def argv(port: int) -> list[str]:
        cmd = [sys.executable, "-m", "bench.ceiling", "--port", str(port)]
        return [*cmd, "--answers", str(answers), "--server", server]

    return _server(f"ceiling-{server}", argv, f"/{w.vendor}", w, env=_env())


def capture(bm: Server, w: Workload, get_path: str, salt: str) -> Path:
    """The answers of a started buildmock to the three workloads' requests, as a JSON file:
    ``[{method, path, status, headers, body (base64)}]`` with buildmock's full paths."""
    entries = []
    for method, path, body in (
        ("GET", get_path, None),
        ("GET", w.list_path, None),
        ("POST", w.create_path, w.body(f"{salt}-capture")),
    ):
        status, headers, data = request(method, bm.url(path), body, w.headers)
        if not 200 <= status < 300:
            raise RuntimeError(f"capture: {method} {path} answered {status}: {data[:300]!r}")
        entries.append(
            {
                "method": method,
                "path": bm.prefix + path,
                "status": status,
                "headers": [[k, v] for k, v in headers if k.lower() not in HOP_HEADERS],
                "body": base64.b64encode(data).decode(),
            }
        )
    out = WORK / f"answers-{w.vendor}.json"
    out.write_text(json.dumps(entries))
    return out


def same_bytes(peer: Server, answers: Path, w: Workload) -> bool:
    """Whether a started static peer answers every captured request with the captured body."""
    for entry in json.loads(answers.read_text()):
        path = entry["path"][len(peer.prefix) :] if peer.prefix else entry["path"]
        body = w.body("check") if entry["method"] == "POST" else None
        status, _, data = request(entry["method"], peer.url(path), body, w.headers)
        if status != entry["status"] or data != base64.b64decode(entry["body"]):
            return False
    return True
