"""Every case of issue #16, as a probe against real servers: what happens, and whether that is the
hardened behaviour. ``test_hardening.py`` requires every probe to pass; ``table.py`` runs them
against two source trees and prints the before/after table."""

from __future__ import annotations

import re
import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import httpx

from tests.adversarial.lab import CONTROL, JSON, TOKEN, Lab, Server, free_port

Outcome = tuple[bool, str]
BEARER = {"Authorization": f"Bearer {TOKEN}"}
GATEWAY = {"user-id": "1", "user-role": "ADMIN", "user-workspace": "1"}
CREATE = "/stainless/v0/builds"


@dataclass(frozen=True)
class Case:
    """One case of the issue: its row in the table and its probe."""

    area: str
    case: str
    probe: Callable[[Lab], Outcome]


def token_server(lab: Lab) -> Server:
    """Manual clock, pinned token, 1 s client timeout, access log on (new settings by variable, so
    an older build starts too and simply ignores them)."""
    return lab.shared("token", "--clock", "manual", "--token", TOKEN,
                      env={"BUILDMOCK_TIMEOUT": "1", "BUILDMOCK_ACCESS_LOG": "1"})  # fmt: skip


def open_server(lab: Lab) -> Server:
    """Manual clock, no credentials configured."""
    return lab.shared("open", "--clock", "manual")


def reset(server: Server) -> None:
    """Back to the initial state (credentials sent whether or not they are needed)."""
    httpx.post(f"{server.base}/__buildmock/reset", headers={**CONTROL, **JSON}, timeout=30)


def brief(response: httpx.Response, limit: int = 70) -> str:
    """``<status> <start of body>``."""
    text = response.text.replace("\n", " ")
    return f"{response.status_code} {text[:limit]}{'…' if len(text) > limit else ''}"


# -- control API ---------------------------------------------------------------------------------


def control_without_credentials(lab: Lab) -> Outcome:
    server = token_server(lab)
    seen = []
    for method, path in (("POST", "reset"), ("POST", "clock/advance"), ("GET", "state")):
        body = b'{"seconds": 1}' if path == "clock/advance" else b"{}"
        content = body if method == "POST" else None
        r = httpx.request(method, f"{server.base}/__buildmock/{path}", content=content,
                          headers=JSON if method == "POST" else {})  # fmt: skip
        seen.append(r.status_code)
    reset(server)
    return all(s == 401 for s in seen), f"reset/advance/state with --token, no credential: {seen}"


def cross_site_reset(lab: Lab) -> Outcome:
    server = open_server(lab)
    simple = httpx.post(f"{server.base}/__buildmock/reset", content=b"{}",
                        headers={"Content-Type": "text/plain", "Origin": "http://evil.example"})  # fmt: skip
    no_origin = httpx.post(f"{server.base}/__buildmock/reset", content=b"{}",
                           headers={"Content-Type": "text/plain"})  # fmt: skip
    ok = simple.status_code == 403 and no_origin.status_code == 415
    return (
        ok,
        f"text/plain + foreign Origin: {simple.status_code}; text/plain alone: {no_origin.status_code}",
    )


def vela_ignores_token(lab: Lab) -> Outcome:
    server = token_server(lab)
    r = httpx.get(f"{server.base}/vela/api/v1/repos/github/octocat/builds",
                  headers={"Authorization": "Bearer vela-user"})  # fmt: skip
    return r.status_code == 401, f"--token set, Bearer vela-user: {brief(r, 40)}"


def exposure_warning(lab: Lab) -> Outcome:
    # Loopback only: in the child every bind to 0.0.0.0 is redirected to 127.0.0.1 and uvicorn's
    # serving loop is replaced by a no-op, so what `serve --host 0.0.0.0` prints is seen without
    # anything ever listening beyond loopback.
    code = (
        "import socket, uvicorn\n"
        "bind = socket.socket.bind\n"
        "def loopback(self, address):\n"
        "    if isinstance(address, tuple) and address[0] in ('0.0.0.0', ''):\n"
        "        address = ('127.0.0.1', *address[1:])\n"
        "    return bind(self, address)\n"
        "socket.socket.bind = loopback\n"
        "uvicorn.Server.run = lambda self, *a, **k: None\n"
        "from buildmock.cli.main import main\n"
        f"main(['serve', '--host', '0.0.0.0', '--port', '{free_port()}', '--no-fixtures'])\n"
    )
    _, out = lab.python(code)
    warned = "WARNING" in out and "control" in out.lower()
    line = next((line for line in out.splitlines() if "WARNING" in line), "")
    return warned, (line[:90] if warned else "no warning")


# -- callbacks -----------------------------------------------------------------------------------


def _callback(server: Server, url: str) -> dict[str, object]:
    r = httpx.post(f"{server.base}/cocktail/v1/build/run/1", params={"callbackUrl": url},
                   headers={**GATEWAY, "Prefer": "outcome=DONE"})  # fmt: skip
    assert r.status_code == 200, r.text
    httpx.post(f"{server.base}/__buildmock/clock/advance", json={"seconds": 600}, headers=CONTROL)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        state = httpx.get(f"{server.base}/__buildmock/state", headers=CONTROL).json()
        calls = state["services"]["cocktail"]["callbacks"]
        if calls["recent"] and not calls["queued"]:
            return dict(calls["recent"][-1])
        time.sleep(0.1)
    return {"outcome": "none", "detail": "no delivery recorded"}


def callback_to_own_reset(lab: Lab) -> Outcome:
    server = token_server(lab)
    reset(server)
    made = httpx.post(f"{server.base}{CREATE}", json={"project": "acme-api", "revision": "main"},
                      headers=BEARER)  # fmt: skip
    assert made.status_code == 200, made.text
    entry = _callback(server, f"http://127.0.0.1:{server.port}/__buildmock/reset")
    time.sleep(0.3)
    kept = httpx.get(f"{server.base}/stainless/v0/builds/{made.json()['id']}", headers=BEARER)
    reset(server)
    ok = kept.status_code == 200 and entry["outcome"] == "refused"
    return (
        ok,
        f"callback {entry['outcome']} ({str(entry['detail'])[:40]}); build afterwards: {kept.status_code}",
    )


def callback_unresolved_name(lab: Lab) -> Outcome:
    server = token_server(lab)
    reset(server)
    entry = _callback(server, "http://nothing-here.localhost:9/cb")
    reset(server)
    detail = str(entry["detail"])
    ok = entry["outcome"] == "refused" and "resolve" in detail
    return ok, f"{entry['outcome']}: {detail[:60]}"


# -- clock and speed -----------------------------------------------------------------------------


def clock_nan(lab: Lab) -> Outcome:
    server = token_server(lab)
    advance = httpx.post(f"{server.base}/__buildmock/clock/advance", content=b'{"seconds": NaN}',
                         headers={**CONTROL, **JSON})  # fmt: skip
    state = httpx.get(f"{server.base}/__buildmock/state", headers=CONTROL)
    listed = httpx.get(f"{server.base}{CREATE}", params={"project": "acme-api"}, headers=BEARER)
    reset(server)
    ok = advance.status_code == 400 and state.status_code == 200 and listed.status_code == 200
    return (
        ok,
        f"advance NaN: {advance.status_code}; then state {state.status_code}, list {listed.status_code}",
    )


def clock_overflow(lab: Lab) -> Outcome:
    server = token_server(lab)
    statuses: list[int] = []
    with httpx.Client(base_url=server.base, headers=CONTROL) as c:
        for _ in range(1000):
            r = c.post("/__buildmock/clock/advance", json={"seconds": 315360000})
            statuses.append(r.status_code)
            if r.status_code != 200:
                break
        state = c.get("/__buildmock/state").status_code
        listed = c.get(CREATE, params={"project": "acme-api"}, headers=BEARER).status_code
    reset(server)
    ok = statuses[-1] == 400 and state == 200 and listed == 200
    return ok, f"advance #{len(statuses)}: {statuses[-1]}; then state {state}, list {listed}"


def _speeds(lab: Lab, *speeds: str, fixtures: bool = True) -> dict[str, str]:
    """Build the app (manual clock, bundled fixtures or none) at each speed, as ``serve`` would."""
    code = (
        "from buildmock.server import create_app\nfrom buildmock.settings import Settings\n"
        f"for speed in {speeds!r}:\n"
        "    try:\n"
        f"        create_app(Settings(speed=float(speed), clock='manual'{'' if fixtures else ', fixtures=None'}))\n"
        "        print(speed, 'starts')\n"
        "    except Exception as exc:\n"
        "        print(speed, 'refused:', str(exc)[-50:])\n"
    )
    _, out = lab.python(code)
    found = dict(line.split(" ", 1) for line in out.splitlines() if line.split(" ", 1)[0] in speeds)
    return {speed: found.get(speed, "?") for speed in speeds}


def speed_with_fixtures(lab: Lab) -> Outcome:
    seen = _speeds(lab, "2", "10", "1000")
    ok = all(v == "starts" for v in seen.values())
    return ok, "; ".join(f"--speed {k}: {v}" for k, v in seen.items())


def speed_not_finite(lab: Lab) -> Outcome:
    seen = _speeds(lab, "nan", "inf", fixtures=False)
    ok = all(v.startswith("refused") for v in seen.values())
    return ok, "; ".join(f"--speed {k}: {v}" for k, v in seen.items())


# -- bodies, media types, transfer encodings -----------------------------------------------------


def deep_json(lab: Lab) -> Outcome:
    server = token_server(lab)
    body = b'{"project": ' + b"[" * 1000 + b"]" * 1000 + b', "revision": "main"}'
    r = httpx.post(f"{server.base}{CREATE}", content=body, headers={**BEARER, **JSON})
    return r.status_code == 400, f"JSON 1000 deep: {brief(r, 50)}"


def shouted_media_type(lab: Lab) -> Outcome:
    server = token_server(lab)
    r = httpx.post(f"{server.base}{CREATE}", content=b'{"project": 5}',
                   headers={**BEARER, "Content-Type": "APPLICATION/JSON"})  # fmt: skip
    return r.status_code == 400, f"APPLICATION/JSON, refused body: {brief(r, 50)}"


def _chunks() -> Iterator[bytes]:
    yield b'{"project": "acme-api", '
    yield b'"revision": "main"}'


def chunked_both_paths(lab: Lab) -> Outcome:
    fast = token_server(lab)
    slow = lab.shared(
        "slow", "--clock", "manual", "--token", TOKEN, env={"BUILDMOCK_FAST_PATH": "0"}
    )
    seen = []
    for server in (fast, slow):
        r = httpx.post(f"{server.base}{CREATE}", content=_chunks(), headers={**BEARER, **JSON})
        seen.append(r.status_code)
    return seen == [200, 200], f"chunked create: fast path {seen[0]}, Connexion {seen[1]}"


# -- limits --------------------------------------------------------------------------------------


def big_body(lab: Lab) -> Outcome:
    server = token_server(lab)
    body = b'{"project": "acme-api", "revision": "' + b"a" * 5_000_000 + b'"}'
    r = httpx.post(f"{server.base}{CREATE}", content=body, headers={**BEARER, **JSON}, timeout=30)
    reset(server)
    return r.status_code == 413, f"5 MB body: {brief(r, 45)}"


def big_headers(lab: Lab) -> Outcome:
    server = token_server(lab)
    r = httpx.get(f"{server.base}{CREATE}", params={"project": "acme-api"},
                  headers={**BEARER, "X-Big": "a" * 65_536})  # fmt: skip
    return r.status_code == 431, f"64 KiB header: {brief(r, 45)}"


def many_headers(lab: Lab) -> Outcome:
    server = token_server(lab)
    headers = [(f"x-h{i}", "1") for i in range(2000)] + list(BEARER.items())
    r = httpx.get(f"{server.base}{CREATE}", params={"project": "acme-api"}, headers=headers)
    return r.status_code == 431, f"2 000 headers: {brief(r, 45)}"


def slow_clients(lab: Lab) -> Outcome:
    server = token_server(lab)
    headers_only = b"GET /__buildmock/health HTTP/1.1\r\nHost: x\r\n"
    with_body = (b"POST /stainless/v0/builds HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                 b"Authorization: Bearer " + TOKEN.encode() + b"\r\nContent-Length: 100000\r\n\r\n{")  # fmt: skip
    clients = []
    for opening in [headers_only] * 10 + [with_body] * 10:
        s = socket.create_connection(("127.0.0.1", server.port), timeout=5)
        s.sendall(opening)
        clients.append(s)
    cut = [0, 0]
    deadline = time.monotonic() + 3.0
    alive = list(enumerate(clients))
    while time.monotonic() < deadline and alive:
        time.sleep(0.25)
        for entry in list(alive):
            index, s = entry
            try:
                s.sendall(b"X-Trickle: 1\r\n" if index < 10 else b" ")
                s.settimeout(0.01)
                if s.recv(1) == b"":
                    raise ConnectionError
            except (TimeoutError, BlockingIOError):
                continue
            except OSError:
                alive.remove(entry)
                cut[index >= 10] += 1
    for s in clients:
        s.close()
    return cut == [
        10,
        10,
    ], f"trickling for 3 s: {cut[0]}/10 header senders, {cut[1]}/10 body senders cut off"


# -- fixtures ------------------------------------------------------------------------------------


def _fixture_start(lab: Lab, api: str, text: str, probe: str = "") -> tuple[int, str]:
    directory = lab.workdir / f"fx-{time.monotonic_ns()}"
    directory.mkdir()
    (directory / f"{api}.yaml").write_text(text)
    code = (
        "from pathlib import Path\n"
        "from starlette.testclient import TestClient\n"
        "from buildmock.server import create_app\nfrom buildmock.settings import Settings\n"
        "try:\n"
        f"    app = create_app(Settings(apis=({api!r},), fixtures=Path({str(directory)!r}), clock='manual'))\n"
        "except Exception as exc:\n"
        "    print(f'ERROR {type(exc).__name__}: {exc}')\n"
        "    raise SystemExit(2)\n"
        "print('STARTED')\n" + probe
    )
    return lab.python(code)


def _first_line(output: str) -> str:
    lines = [line for line in output.strip().splitlines() if line.strip()]
    last = lines[-1] if lines else ""
    return re.sub(r"/\S*/(\w+\.yaml)", r"\1", last)[:90]


def misspelt_field(lab: Lab) -> Outcome:
    text = "builds:\n  - {org: github, repo: octocat, event: push, brnach: main}\n"
    _code, out = _fixture_start(lab, "vela", text)
    ok = "ERROR FixtureError" in out and "did you mean 'branch'" in out
    return ok, "starts, field ignored" if "STARTED" in out else _first_line(out)


def age_not_a_number(lab: Lab) -> Outcome:
    text = "builds:\n  - {project: acme-api, revision: main, age: yesterday}\n"
    _code, out = _fixture_start(lab, "stainless", text)
    ok = "ERROR FixtureError" in out and "builds[0].age" in out
    return ok, _first_line(out)[:90]


def alias_bomb(lab: Lab) -> Outcome:
    levels = ["a: &a [x,x,x,x,x,x,x,x,x]"]
    for prev, name in zip("abcde", "bcdef", strict=True):
        levels.append(f"{name}: &{name} [{', '.join(['*' + prev] * 9)}]")
    text = "\n".join(levels) + "\nbuilds:\n  - {project: acme-api, revision: *f}\n"
    code, out = _fixture_start(lab, "stainless", text)
    longest = max((len(line) for line in out.splitlines()), default=0)
    return (
        longest <= 400 and code != 0,
        f"alias bomb: exit {code}, longest output line {longest} chars",
    )


def age_nan(lab: Lab) -> Outcome:
    text = "builds:\n  - {project: acme-api, revision: main, age: .nan}\n"
    listing = (
        "c = TestClient(app)\n"
        "r = c.get('/stainless/v0/builds?project=acme-api', headers={'Authorization': 'Bearer x'})\n"
        "print('LIST', r.status_code)\n"
    )
    _code, out = _fixture_start(lab, "stainless", text, listing)
    if "STARTED" in out:
        status = out.split("LIST", 1)[1].split()[0] if "LIST" in out else "?"
        return False, f"starts; list answers {status}"
    return "builds[0].age" in out, _first_line(out)[:80]


def big_fixture_reset(lab: Lab) -> Outcome:
    directory = lab.workdir / "big"
    directory.mkdir(exist_ok=True)
    rows = "".join(
        f"  - {{project: acme-api, revision: r{i}, age: {i % 500}}}\n" for i in range(6000)
    )
    (directory / "stainless.yaml").write_text("builds:\n" + rows)
    server = lab.start("--clock", "manual", "--api", "stainless", "--fixtures", str(directory),
                       "--token", TOKEN, wait=60)  # fmt: skip
    try:
        worst = 0.0
        done = threading.Event()
        took: list[float] = []

        def do_reset() -> None:
            t = time.perf_counter()
            reset(server)
            took.append(time.perf_counter() - t)
            done.set()

        threading.Thread(target=do_reset).start()
        time.sleep(0.05)
        with httpx.Client(base_url=server.base, timeout=30) as c:
            while not done.is_set():
                t = time.perf_counter()
                c.get("/__buildmock/health")
                worst = max(worst, time.perf_counter() - t)
        done.wait(60)
    finally:
        server.stop()
    spent = took[0] if took else float("nan")
    ok = worst < max(0.25, spent / 4)
    return ok, f"4 000-build reset {spent:.2f} s; slowest /health meanwhile {worst * 1000:.0f} ms"


# -- environment and start-up --------------------------------------------------------------------


def _start_line(server: Server) -> str:
    if server.started:
        return "starts"
    lines = [line for line in server.output().strip().splitlines() if line.strip()]
    return (
        f"exit {server.process.returncode}, {len(lines)} line(s): {lines[-1][:70] if lines else ''}"
    )


def env_fixtures_missing(lab: Lab) -> Outcome:
    server = lab.once(env={"BUILDMOCK_FIXTURES": "/nope"})
    line = _start_line(server)
    return "BUILDMOCK_FIXTURES" in line, f"BUILDMOCK_FIXTURES=/nope: {line}"


def env_no_fixtures(lab: Lab) -> Outcome:
    server = lab.start("--clock", "manual", env={"BUILDMOCK_NO_FIXTURES": "1"})
    try:
        state = httpx.get(f"{server.base}/__buildmock/state").json()
        records = sum(sum(kinds.values()) for kinds in state["vendors"].values())
    finally:
        server.stop()
    return records == 0, f"BUILDMOCK_NO_FIXTURES=1: {records} records loaded"


def env_bad_values(lab: Lab) -> Outcome:
    lines = []
    ok = True
    for name, value in (("BUILDMOCK_PORT", "abc"), ("BUILDMOCK_FAST_PATH", "maybe")):
        server = lab.once(env={name: value})
        line = _start_line(server)
        ok = ok and name in line and line.startswith("exit 2, 1 line")
        lines.append(f"{name}={value}: {line}")
    return ok, " / ".join(lines)


def bind_errors(lab: Lab) -> Outcome:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        busy = lab.once("--port", str(taken.getsockname()[1]))
    bad = lab.once("--host", "no-such-host.invalid")
    lines = [_start_line(busy), _start_line(bad)]
    ok = all(line.startswith("exit 2, 1 line") for line in lines)
    return ok, f"port in use: {lines[0]} / bad host: {lines[1]}"


# -- CORS and access log -------------------------------------------------------------------------


def cors_preflight(lab: Lab) -> Outcome:
    server = token_server(lab)
    r = httpx.options(f"{server.base}{CREATE}", headers={
        "Origin": "http://localhost:3000", "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "authorization, content-type"})  # fmt: skip
    allowed = r.headers.get("access-control-allow-origin")
    ok = r.status_code == 204 and allowed == "http://localhost:3000"
    return ok, f"preflight from localhost:3000: {r.status_code}, allow-origin {allowed}"


def access_log(lab: Lab) -> Outcome:
    server = token_server(lab)
    marker = f"/stainless/v0/builds/bui_{free_port()}"
    httpx.get(f"{server.base}{marker}", params={"token": "hunter2", "x": "1"}, headers=BEARER)
    time.sleep(0.3)
    lines = [line for line in server.output().splitlines() if marker in line]
    leaked = any("hunter2" in line or TOKEN in line for line in server.output().splitlines())
    ok = len(lines) == 1 and not leaked and "***" in lines[0]
    return (
        ok,
        f"{len(lines)} line(s) for the request{'; secret leaked' if leaked else ''}: {lines[0][-60:] if lines else ''}",
    )


CASES: dict[str, Case] = {
    "control-no-credential": Case("control API", "reset/advance/state need the token", control_without_credentials),
    "control-cross-site": Case("control API", "cross-site simple POST resets", cross_site_reset),
    "control-exposure-warning": Case("control API", "warning when bound beyond loopback, open", exposure_warning),
    "vela-token": Case("auth", "--token binds Vela", vela_ignores_token),
    "callback-own-port": Case("callbacks", "callback to the mock's own reset", callback_to_own_reset),
    "callback-unresolved": Case("callbacks", "names delivered without resolving", callback_unresolved_name),
    "clock-nan": Case("clock", "advance NaN", clock_nan),
    "clock-overflow": Case("clock", "advance past representable time", clock_overflow),
    "speed-fixtures": Case("speed", "--speed 2/10 with bundled fixtures", speed_with_fixtures),
    "speed-not-finite": Case("speed", "--speed nan/inf", speed_not_finite),
    "json-depth": Case("500s", "JSON nested 1 000 deep", deep_json),
    "media-type-case": Case("500s", "APPLICATION/JSON with a refused body", shouted_media_type),
    "chunked": Case("500s", "chunked body on both request paths", chunked_both_paths),
    "body-size": Case("limits", "huge body", big_body),
    "header-size": Case("limits", "huge header", big_headers),
    "header-count": Case("limits", "2 000 headers", many_headers),
    "slow-clients": Case("limits", "clients trickling headers or a body", slow_clients),
    "fixture-misspelt": Case("fixtures", "misspelt field (brnach:)", misspelt_field),
    "fixture-age-text": Case("fixtures", "age: yesterday", age_not_a_number),
    "fixture-alias-bomb": Case("fixtures", "YAML alias bomb", alias_bomb),
    "fixture-age-nan": Case("fixtures", "age: .nan", age_nan),
    "fixture-big-reset": Case("fixtures", "reset of a large fixture vs /health", big_fixture_reset),
    "env-fixtures-missing": Case("environment", "BUILDMOCK_FIXTURES=/nope", env_fixtures_missing),
    "env-no-fixtures": Case("environment", "BUILDMOCK_NO_FIXTURES=1", env_no_fixtures),
    "env-bad-values": Case("environment", "BUILDMOCK_PORT=abc, BUILDMOCK_FAST_PATH=maybe", env_bad_values),
    "start-bind-errors": Case("environment", "port in use, bad host", bind_errors),
    "cors-preflight": Case("CORS", "preflight from a local frontend", cors_preflight),
    "access-log": Case("access log", "one line per request, redacted", access_log),
}  # fmt: skip
