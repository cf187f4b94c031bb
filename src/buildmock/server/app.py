"""The app factory: one ASGI app serving every vendor spec plus the control API."""

from __future__ import annotations

import asyncio
import functools
import importlib
import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

from connexion.middleware.swagger_ui import SwaggerUIMiddleware
from connexion.options import SwaggerUIOptions
from connexion.spec import Specification
from starlette.types import ASGIApp, Receive, Scope, Send

from buildmock.core import openapi
from buildmock.server import accesslog, errors, layers
from buildmock.server.mock import BuildMock
from buildmock.server.request_path import RequestPath, build_router
from buildmock.server.shared import UNSHARED, SharedServing
from buildmock.server.specfile import load_spec
from buildmock.settings import SPECS_DIR, Settings
from buildmock.vendors.base import Headers

log = logging.getLogger("buildmock")

CONTROL_SPEC = Path(__file__).with_name("control.yaml")
CONTROL_PREFIX = "__buildmock"


Wrap = Callable[[Callable[..., Any], str], Callable[..., Any]]


def _bind(
    module: str, target: Any, wrap: Wrap | None = None
) -> Callable[[str], Callable[..., Any]]:
    """A function resolver: operationId -> ``module.<operationId>`` with ``target`` bound first
    (and, with a shared store, wrapped to run against it: ``wrap(bound, operationId)``)."""
    handlers = importlib.import_module(module)

    def resolve(operation_id: str) -> Callable[..., Any]:
        function = getattr(handlers, operation_id)
        bound = functools.partial(function, target)
        return bound if wrap is None else wrap(bound, operation_id)

    return resolve


def _methods(spec: dict[str, Any]) -> dict[str, str]:
    """operationId -> its HTTP method, lower case."""
    return {
        operation["operationId"]: method
        for _, method, operation in openapi.operations(spec)
        if "operationId" in operation
    }


def _shared_wrap(
    shared: SharedServing | None, vendor: str | None, spec: dict[str, Any]
) -> Wrap | None:
    if shared is None:
        return None
    methods = _methods(spec)

    def wrap(bound: Callable[..., Any], operation_id: str) -> Callable[..., Any]:
        if vendor is None and operation_id in UNSHARED:
            return bound
        return shared.wrap(bound, vendor, methods[operation_id])

    return wrap


def _auth_check(
    authenticate: Callable[[Headers, Settings], None], settings: Settings
) -> Callable[[Headers], None]:
    def check(headers: Headers) -> None:
        authenticate(headers, settings)

    return check


class BuildMockApp(layers.Dispatch):
    """The ASGI app ``create_app`` returns: the one dispatch in front of the request path
    (server/layers.py), the mock's state on ``.mock``."""

    def __init__(
        self,
        mock: BuildMock,
        inner: ASGIApp,
        render: Callable[[str, Exception], Any],
        shared: SharedServing | None = None,
    ) -> None:
        super().__init__(inner, mock, render)
        self.shared = shared
        self._ticker: asyncio.Task[None] | None = None

    def lifespan(self, receive: Receive) -> Receive:
        """``receive`` that sets a shared store up when the server's start-up event arrives (and
        runs the callback ticker until it shuts down)."""
        if self.mock.cluster is None:
            return receive

        async def wrapped() -> Any:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await self.mock.start()
                if self.shared is not None and self._ticker is None:
                    self._ticker = self.shared.start_ticker()
            elif message["type"] == "lifespan.shutdown" and self._ticker is not None:
                self._ticker.cancel()
                self._ticker = None
            return message

        return wrapped

    @property
    def settings(self) -> Settings:
        """The settings the app was made with."""
        return self.mock.settings


def load_control() -> dict[str, Any]:
    """The control API's spec."""
    loaded: dict[str, Any] = load_spec(CONTROL_SPEC)
    return loaded


class _AccessLogged(BuildMockApp):
    """``BuildMockApp`` writing one access-log line per HTTP request (``--access-log``)."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await super().__call__(scope, receive, send)
        else:
            await accesslog.logged(super().__call__, scope, receive, send)


def serving(
    mock: BuildMock,
    inner: ASGIApp,
    render: Callable[[str, Exception], Any],
    shared: SharedServing | None = None,
) -> BuildMockApp:
    """``inner`` (the request path) behind the dispatch (server/layers.py: CORS, limits, control
    guard, dashboard, then the journal, Prefer, scenarios and faults), and behind the access log
    when ``--access-log`` asks for it."""
    if not mock.settings.access_log:
        return BuildMockApp(mock, inner, render, shared)
    accesslog.enable()
    return _AccessLogged(mock, inner, render, shared)


def _swagger_ui(
    app: ASGIApp, specs: dict[str, dict[str, Any]], eager: bool
) -> Callable[[], ASGIApp]:
    """Connexion's Swagger UI at ``/<prefix>/ui/`` for each spec (its misses go to ``app``); the
    spec itself (``/<prefix>/openapi.json``, as authored) is the request path's.

    Connexion loads (and validates) the specs when the UI is first asked for, or at start-up with
    ``eager`` (specs from a ``--specs`` directory: a broken one is refused before serving).
    The bundled specs are validated by ``tests/test_specs.py``; loading them costs ~0.3 s.
    """
    made: list[ASGIApp] = []

    def swagger() -> ASGIApp:
        if not made:
            middleware = SwaggerUIMiddleware(app)
            options = SwaggerUIOptions(swagger_ui_path="/ui", serve_spec=False)
            for name, spec in specs.items():
                loaded = Specification.load(spec)
                middleware.add_api(loaded, base_path=f"/{name}", swagger_ui_options=options)
            made.append(middleware)
        return made[0]

    if eager:
        swagger()
    return swagger


def create_app(settings: Settings | None = None) -> BuildMockApp:
    """Build the mock server for ``settings``: every selected vendor at ``/<vendor>``."""
    settings = settings or Settings()
    if not settings.fast_path:
        log.warning(
            "--no-fast-path / BUILDMOCK_FAST_PATH=0 is deprecated and has no effect: "
            "every request takes the one request path"
        )
    mock = BuildMock(settings)
    checks = {
        name: _auth_check(rt.vendor.authenticate, rt.settings) for name, rt in mock.runtimes.items()
    }
    shared = SharedServing(mock) if mock.cluster is not None else None
    control = load_control()
    routers = {
        name: build_router(
            mock.specs[name],
            _bind(
                f"buildmock.vendors.{name}", runtime, _shared_wrap(shared, name, mock.specs[name])
            ),
        )
        for name, runtime in mock.runtimes.items()
    }
    routers[CONTROL_PREFIX] = build_router(
        control, _bind("buildmock.server.control", mock, _shared_wrap(shared, None, control))
    )
    renderers = {name: rt.vendor.renderer(rt.settings) for name, rt in mock.runtimes.items()}
    render = errors.make_renderer(renderers)
    specs = {**{name: mock.specs[name] for name in mock.runtimes}, CONTROL_PREFIX: control}
    # A shared store is written by other processes too: no answer of its vendors is memoized.
    memoized = mock.runtimes if shared is None else {}
    path = RequestPath(routers, checks, render, specs, memoized)
    path.ui = _swagger_ui(path.serve, specs, settings.specs.resolve() != SPECS_DIR.resolve())
    return serving(mock, path, render, shared)
