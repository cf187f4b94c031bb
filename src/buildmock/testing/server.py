"""A mock server for tests: real HTTP on a free loopback port, and a client of its control API."""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx
import uvicorn

from buildmock.contract.auth import MOCK_TOKEN, mock_headers
from buildmock.fixtures import FixtureError
from buildmock.server import BuildMockApp, create_app
from buildmock.server.app import CONTROL_PREFIX
from buildmock.testing.config import HOST, ConfigError, MockConfig

#: Seconds a server may take to start listening before the fixture gives up.
START_TIMEOUT = 30.0
#: Seconds a control API call may take.
CONTROL_TIMEOUT = 30.0


class ControlError(RuntimeError):
    """The control API answered a call with an error status."""


@contextlib.contextmanager
def serve_in_thread(app: Any, host: str = HOST) -> Iterator[str]:
    """Serve ASGI ``app`` with uvicorn on ``host`` at a free port until the block ends; yields its URL."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(app, log_level="error", access_log=False, lifespan="auto")
    server = uvicorn.Server(config)
    thread = threading.Thread(
        target=server.run, kwargs={"sockets": [sock]}, name=f"buildmock:{port}", daemon=True
    )
    thread.start()
    deadline = time.monotonic() + START_TIMEOUT
    try:
        while not server.started:
            if time.monotonic() > deadline or not thread.is_alive():
                raise RuntimeError(f"buildmock test server on {host}:{port} did not start")
            time.sleep(0.01)
        yield f"http://{host}:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()


def build_app(config: MockConfig, port: int = 8080) -> BuildMockApp:
    """The mock app for ``config``; a bad vendor name or fixture becomes a :class:`ConfigError`."""
    try:
        return create_app(config.settings(port))
    except (FixtureError, ValueError) as exc:  # unknown --api, a fixture that does not fit
        raise ConfigError(f"buildmock: {exc}") from None


class MockServer:
    """A running mock: where each vendor lives, its credentials, and the control API (clock, reset…)."""

    def __init__(self, config: MockConfig) -> None:
        self.config = config
        self.app = build_app(config)
        self._stack = contextlib.ExitStack()
        self.base_url = self._stack.enter_context(serve_in_thread(self.app))
        # The control API may require the pinned token (--token); send it whenever there is one.
        auth = {"Authorization": f"Bearer {config.token}"} if config.token else {}
        self._client = self._stack.enter_context(
            httpx.Client(
                base_url=self.base_url, headers=auth, timeout=CONTROL_TIMEOUT, trust_env=False
            )
        )

    @property
    def apis(self) -> list[str]:
        """The vendors this server serves."""
        return list(self.app.mock.runtimes)

    def url(self, vendor: str) -> str:
        """Base URL of ``vendor``'s API (``http://127.0.0.1:<port>/<vendor>``), to hand to a client."""
        if vendor not in self.app.mock.runtimes:
            raise ConfigError(
                f"buildmock: {vendor!r} is not served here (serving: {', '.join(self.apis)}); "
                "check the buildmock marker's apis or --buildmock-api"
            )
        return f"{self.base_url}/{vendor}"

    def headers(self, vendor: str) -> dict[str, str]:
        """Credentials ``vendor``'s mock accepts (the configured token, else any): headers to send."""
        self.url(vendor)
        return mock_headers(vendor, self.app.mock.specs[vendor], self.config.token or MOCK_TOKEN)

    def control(self, method: str, path: str, json: Any = None) -> Any:
        """Call ``/__buildmock/<path>`` and return its JSON; :class:`ControlError` on an error status."""
        response = self._client.request(method, f"/{CONTROL_PREFIX}/{path.lstrip('/')}", json=json)
        if response.status_code >= 400:
            raise ControlError(
                f"{method.upper()} /{CONTROL_PREFIX}/{path.lstrip('/')}: "
                f"{response.status_code} {response.text[:500]}"
            )
        return response.json() if response.content else None

    def health(self) -> dict[str, Any]:
        """``GET /__buildmock/health``."""
        result: dict[str, Any] = self.control("GET", "health")
        return result

    def state(self) -> dict[str, Any]:
        """``GET /__buildmock/state``: record counts per vendor and kind, the clock, diagnostics."""
        result: dict[str, Any] = self.control("GET", "state")
        return result

    def reset(self) -> dict[str, Any]:
        """Back to the seeded initial state (fixtures reloaded, manual clock restarted)."""
        result: dict[str, Any] = self.control("POST", "reset")
        return result

    def advance(self, seconds: float) -> float:
        """Move the mock's clock forward; returns the new time (unix seconds)."""
        clock = self.control("POST", "clock/advance", json={"seconds": seconds})
        return float(clock["now"])

    def close(self) -> None:
        """Stop the server."""
        self._stack.close()

    def __enter__(self) -> MockServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<MockServer {self.base_url} {self.config}>"
