"""A real HTTP server on loopback that counts the callbacks it receives."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import orjson


class Receiver:
    """A real HTTP server on loopback that records every POST it gets."""

    def __init__(self, status: int = 200) -> None:
        self.status = status
        self.bodies: list[tuple[str, Any]] = []
        self.queries: list[str] = []
        self.lock = threading.Condition()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                raw = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                path, _, query = self.path.partition("?")
                with outer.lock:
                    outer.bodies.append((path, orjson.loads(raw)))
                    outer.queries.append(query)
                    outer.lock.notify_all()
                self.send_response(outer.status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def url(self, path: str = "/callback") -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}{path}"

    def got(self) -> list[tuple[str, Any]]:
        with self.lock:
            return list(self.bodies)

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def wait_for(self, count: int, timeout: float = 10.0) -> list[tuple[str, Any]]:
        """What arrived once ``count`` callbacks did (or the time ran out)."""
        with self.lock:
            self.lock.wait_for(lambda: len(self.bodies) >= count, timeout)
        return self.got()
