"""The app factory: one ASGI app serving every vendor spec plus the control API."""

from __future__ import annotations

import asyncio
import functools
import importlib
import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import yaml
from connexion import AsyncApp
from connexion.exceptions import ProblemException
from connexion.middleware.context import ContextMiddleware
from connexion.middleware.exceptions import ExceptionMiddleware
from connexion.middleware.lifespan import LifespanMiddleware
from connexion.middleware.routing import RoutingMiddleware
from connexion.middleware.server_error import ServerErrorMiddleware
from connexion.options import SwaggerUIOptions
from connexion.resolver import Resolver
from connexion.spec import OpenAPISpecification
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Receive, Scope, Send

from buildmock.core import openapi
from buildmock.core.errors import ApiError
from buildmock.server import errors, fastpath, intercept, layers
from buildmock.server.dashboard import Dashboard
from buildmock.server.fastpath import FastPath
from buildmock.server.middleware import (
    VALIDATOR_MAP,
    CachedRequestValidationMiddleware,
    LeanSwaggerUIMiddleware,
    OnceApi,
    VendorAuthMiddleware,
)
from buildmock.server.mock import BuildMock
from buildmock.server.shared import SharedServing
from buildmock.settings import SPECS_DIR, Settings
from buildmock.vendors.base import Headers

log = logging.getLogger("buildmock")

CONTROL_SPEC = Path(__file__).with_name("control.yaml")
CONTROL_PREFIX = "__buildmock"

# Connexion's default stack minus security (vendors authenticate in their own way) and response
# validation (responses are proven valid by the Schemathesis suite, not checked on the hot path);
# the Swagger UI and request validation middlewares are Connexion's, with the work they repeated on
# every request done once (middleware.py; profiles in bench/RESULTS.md).
MIDDLEWARES = [
    ServerErrorMiddleware,
    ExceptionMiddleware,
    LeanSwaggerUIMiddleware,
    RoutingMiddleware,
    VendorAuthMiddleware,
    CachedRequestValidationMiddleware,
    LifespanMiddleware,
    ContextMiddleware,
]


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
    return lambda bound, operation_id: shared.wrap(bound, vendor, methods[operation_id])


def _resolver(module: str, target: Any, wrap: Wrap | None = None) -> Resolver:
    bind = _bind(module, target, wrap)

    class BoundResolver(Resolver):
        def resolve_function_from_operation_id(self, operation_id: str) -> Callable[..., Any]:
            return bind(operation_id)

    return BoundResolver()


@contextmanager
def _validated_by_tests(trusted: bool) -> Iterator[None]:
    """Skip Connexion's start-up re-validation of the bundled specs (half a second for five).

    ``tests/test_specs.py`` validates every bundled spec and the Schemathesis suite proves the mock
    against it; specs from any other ``--specs`` directory are still validated by Connexion.
    """
    if not trusted:
        yield
        return
    own = OpenAPISpecification.__dict__.get("_validate_spec")
    setattr(OpenAPISpecification, "_validate_spec", classmethod(lambda cls, spec: None))  # noqa: B010
    try:
        yield
    finally:
        if own is None:
            delattr(OpenAPISpecification, "_validate_spec")
        else:
            setattr(OpenAPISpecification, "_validate_spec", own)  # noqa: B010


def _auth_check(
    authenticate: Callable[[Headers, Settings], None], settings: Settings
) -> Callable[[Headers], None]:
    def check(headers: Headers) -> None:
        authenticate(headers, settings)

    return check


class BuildMockApp:
    """The ASGI app ``create_app`` returns: Connexion underneath, the mock's state on ``.mock``.

    With ``settings.fast_path`` (the default) requests go through :class:`FastPath` first, which
    answers the ones Connexion would hand straight to a handler and passes the rest on.
    """

    def __init__(
        self,
        mock: BuildMock,
        connexion_app: AsyncApp,
        fast: FastPath | None = None,
        wrap: Callable[[ASGIApp], ASGIApp] = lambda app: app,
        shared: SharedServing | None = None,
    ) -> None:
        self.mock = mock
        self.shared = shared
        self._ticker: asyncio.Task[None] | None = None
        self.connexion = connexion_app
        self.fast = fast
        # ``wrap`` puts the shared layers in front of both request paths (see ``create_app``).
        self._entry: ASGIApp = wrap(fast if fast is not None else connexion_app)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan" and self.mock.cluster is not None:
            receive = self._starting(receive)
        await self._entry(scope, receive, send)

    def _starting(self, receive: Receive) -> Receive:
        """``receive`` that sets a shared store up when the server's start-up event arrives (and
        runs the callback ticker until it shuts down)."""

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


def create_app(settings: Settings | None = None) -> BuildMockApp:
    """Build the mock server for ``settings``: every selected vendor at ``/<vendor>``."""
    settings = settings or Settings()
    mock = BuildMock(settings)
    checks = {
        name: _auth_check(rt.vendor.authenticate, rt.settings) for name, rt in mock.runtimes.items()
    }
    shared = SharedServing(mock) if mock.cluster is not None else None
    auth = type("VendorAuth", (VendorAuthMiddleware,), {"checks": checks})
    app = AsyncApp(
        "buildmock",
        middlewares=[auth if m is VendorAuthMiddleware else m for m in MIDDLEWARES],
        swagger_ui_options=SwaggerUIOptions(swagger_ui_path="/ui"),
        validator_map=VALIDATOR_MAP,
    )
    # Handlers decorated once per operation rather than on every request (see middleware.py).
    app._middleware_app.api_cls = OnceApi
    control = yaml.load(
        CONTROL_SPEC.read_text(), Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    )
    with _validated_by_tests(settings.specs.resolve() == SPECS_DIR.resolve()):
        for name, runtime in mock.runtimes.items():
            app.add_api(
                mock.specs[name],
                base_path=f"/{name}",
                name=name,
                resolver=_resolver(
                    f"buildmock.vendors.{name}",
                    runtime,
                    _shared_wrap(shared, name, mock.specs[name]),
                ),
                pythonic_params=True,
                validate_responses=False,
                strict_validation=False,
            )
    app.add_api(
        control,
        base_path=f"/{CONTROL_PREFIX}",
        name=CONTROL_PREFIX,
        resolver=_resolver("buildmock.server.control", mock, _shared_wrap(shared, None, control)),
        pythonic_params=True,
    )
    renderers = {name: rt.vendor.renderer(rt.settings) for name, rt in mock.runtimes.items()}
    render = errors.make_renderer(
        renderers, errors.MethodTable(mock.specs | {CONTROL_PREFIX: control})
    )
    handler = errors.make_handler(render)
    for exc in (ApiError, ProblemException, HTTPException, Exception):
        app.add_error_handler(exc, handler)
    fast = None
    if settings.fast_path:
        apis = [
            (api.base_path.strip("/"), api.specification, api.kwargs["resolver"])
            for api in app.middleware.apis
            if api.base_path.strip("/") in mock.runtimes
        ]
        fast = fastpath.build(app, apis, checks, render)

    def layered(inner: ASGIApp) -> ASGIApp:
        """Outermost first: access log, CORS, limits, control guard (server/layers.py), then the
        dashboard and the vendors' pinned outcomes, then the interceptor (journal, Prefer,
        scenarios, faults), then the fast path or Connexion."""
        inner = intercept.install(inner, mock, render)
        inner = Dashboard(inner, mock)
        return layers.wrap(inner, settings, render)

    return BuildMockApp(mock, app, fast, layered, shared)
