"""The app factory: one ASGI app serving every vendor spec plus the control API."""

from __future__ import annotations

import functools
import importlib
import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml
from connexion import AsyncApp
from connexion.exceptions import ProblemException
from connexion.middleware.context import ContextMiddleware
from connexion.middleware.exceptions import ExceptionMiddleware
from connexion.middleware.lifespan import LifespanMiddleware
from connexion.middleware.request_validation import RequestValidationMiddleware
from connexion.middleware.routing import RoutingMiddleware
from connexion.middleware.server_error import ServerErrorMiddleware
from connexion.middleware.swagger_ui import SwaggerUIMiddleware
from connexion.options import SwaggerUIOptions
from connexion.resolver import Resolver
from starlette.exceptions import HTTPException
from starlette.types import Receive, Scope, Send

from buildmock.core.errors import ApiError
from buildmock.server import errors
from buildmock.server.middleware import VendorAuthMiddleware
from buildmock.server.mock import BuildMock
from buildmock.settings import Settings
from buildmock.vendors.base import Headers

log = logging.getLogger("buildmock")

CONTROL_SPEC = Path(__file__).with_name("control.yaml")
CONTROL_PREFIX = "__buildmock"

# Connexion's default stack minus security (vendors authenticate in their own way) and response
# validation (responses are proven valid by the Schemathesis suite, not checked on the hot path).
MIDDLEWARES = [
    ServerErrorMiddleware,
    ExceptionMiddleware,
    SwaggerUIMiddleware,
    RoutingMiddleware,
    VendorAuthMiddleware,
    RequestValidationMiddleware,
    LifespanMiddleware,
    ContextMiddleware,
]


def _bind(module: str, target: Any) -> Callable[[str], Callable[..., Any]]:
    """A function resolver: operationId -> ``module.<operationId>`` with ``target`` bound first."""
    handlers = importlib.import_module(module)

    def resolve(operation_id: str) -> Callable[..., Any]:
        function = getattr(handlers, operation_id)
        return functools.partial(function, target)

    return resolve


def _resolver(module: str, target: Any) -> Resolver:
    bind = _bind(module, target)

    class BoundResolver(Resolver):
        def resolve_function_from_operation_id(self, operation_id: str) -> Callable[..., Any]:
            return bind(operation_id)

    return BoundResolver()


def _auth_check(
    authenticate: Callable[[Headers, Settings], None], settings: Settings
) -> Callable[[Headers], None]:
    def check(headers: Headers) -> None:
        authenticate(headers, settings)

    return check


class BuildMockApp:
    """The ASGI app ``create_app`` returns: Connexion underneath, the mock's state on ``.mock``."""

    def __init__(self, mock: BuildMock, connexion_app: AsyncApp) -> None:
        self.mock = mock
        self.connexion = connexion_app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self.connexion(scope, receive, send)

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
    auth = type("VendorAuth", (VendorAuthMiddleware,), {"checks": checks})
    app = AsyncApp(
        "buildmock",
        middlewares=[auth if m is VendorAuthMiddleware else m for m in MIDDLEWARES],
        swagger_ui_options=SwaggerUIOptions(swagger_ui_path="/ui"),
    )
    for name, runtime in mock.runtimes.items():
        app.add_api(
            mock.specs[name],
            base_path=f"/{name}",
            name=name,
            resolver=_resolver(f"buildmock.vendors.{name}", runtime),
            pythonic_params=True,
            validate_responses=False,
            strict_validation=False,
        )
    control = yaml.safe_load(CONTROL_SPEC.read_text())
    app.add_api(
        control,
        base_path=f"/{CONTROL_PREFIX}",
        name=CONTROL_PREFIX,
        resolver=_resolver("buildmock.server.control", mock),
        pythonic_params=True,
    )
    renderers = {name: rt.vendor.render_error for name, rt in mock.runtimes.items()}
    handler = errors.make_handler(
        renderers, errors.MethodTable(mock.specs | {CONTROL_PREFIX: control})
    )
    for exc in (ApiError, ProblemException, HTTPException, Exception):
        app.add_error_handler(exc, handler)
    return BuildMockApp(mock, app)
