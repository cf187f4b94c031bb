"""The reference the request path is compared against: the same mock served by Connexion alone.

An AsyncApp with Connexion's own middleware stack (minus security, replaced by the vendors' auth
checks run where Connexion would run security, and minus response validation), Connexion's
request validation, parameter decoration and routing, the same handlers and the same error
renderers. Only two things are changed, each a fix buildmock made to Connexion's answers before
the request path existed: a body with no ``Content-Type`` is handed to the handler as the JSON it
was validated as (Connexion validates it as the first media type, then passes raw bytes on), and
an integer too long for Python is a 400, not a 500.
"""

from __future__ import annotations

import functools
import json
import re
import sys
from collections.abc import AsyncGenerator, Callable, Mapping
from typing import Any

from connexion import AsyncApp, context
from connexion.apps.asynchronous import AsyncApi, AsyncOperation
from connexion.datastructures import MediaTypeDict
from connexion.decorators import StarletteDecorator
from connexion.decorators.parameter import AsyncParameterDecorator
from connexion.exceptions import BadRequestProblem, ProblemException
from connexion.lifecycle import ConnexionRequest, ConnexionResponse
from connexion.middleware.context import ContextMiddleware
from connexion.middleware.exceptions import ExceptionMiddleware
from connexion.middleware.lifespan import LifespanMiddleware
from connexion.middleware.request_validation import RequestValidationMiddleware
from connexion.middleware.routing import RoutingMiddleware
from connexion.middleware.server_error import ServerErrorMiddleware
from connexion.operations import AbstractOperation
from connexion.resolver import Resolver
from connexion.utils import is_json_mimetype
from connexion.validators import (
    FormDataValidator,
    JSONRequestBodyValidator,
    MultiPartFormDataValidator,
)
from starlette.datastructures import Headers
from starlette.exceptions import HTTPException
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from buildmock.core.errors import ApiError
from buildmock.core.openapi import METHODS
from buildmock.server.app import (
    CONTROL_PREFIX,
    BuildMockApp,
    _bind,
    _shared_wrap,
    load_control,
    serving,
)
from buildmock.server.errors import make_renderer
from buildmock.server.mock import BuildMock
from buildmock.server.shared import SharedServing
from buildmock.settings import Settings
from buildmock.vendors.base import REQUEST_SCOPE

#: Connexion statuses the vendors answer with a plain 400 (wrong content type…).
_AS_BAD_REQUEST = {406, 411, 413, 415, 422}


class VendorAuth:
    """The vendor's ``authenticate`` after routing (unknown paths stay 404) and before request
    validation (no credentials is 401 whatever the body), where Connexion runs security."""

    checks: Mapping[str, Callable[[Headers], None]] = {}

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and self.checks:
            routing = scope.get("extensions", {}).get("connexion_routing")
            if routing and routing.get("operation_id"):
                check = self.checks.get(scope["path"].lstrip("/").split("/", 1)[0])
                if check is not None:
                    check(Headers(scope=scope))
        await self.app(scope, receive, send)


class _JSONBodyParameters(AsyncParameterDecorator):
    def _maybe_get_body(self, request: Any, *, arguments: list[str], has_kwargs: bool) -> Any:
        consumes = context.operation.consumes
        if "content-type" not in request.headers and consumes and is_json_mimetype(consumes[0]):
            return request.json()
        return super()._maybe_get_body(request, arguments=arguments, has_kwargs=has_kwargs)


class _Decorator(StarletteDecorator):
    @property
    def _parameter_decorator_cls(self) -> type[AsyncParameterDecorator]:
        return _JSONBodyParameters


class _Operation(AsyncOperation):
    @property
    def fn(self) -> Callable[..., Any]:
        decorator = _Decorator(pythonic_params=self.pythonic_params, jsonifier=self.jsonifier)
        return decorator(self._fn)  # type: ignore[no-any-return]


class _Api(AsyncApi):
    def make_operation(self, operation: AbstractOperation) -> AsyncOperation:
        return _Operation.from_operation(
            operation, pythonic_params=self.pythonic_params, jsonifier=self.jsonifier
        )


class _JSONBody(JSONRequestBodyValidator):
    async def _parse(self, stream: AsyncGenerator[bytes, None], scope: Scope) -> Any:
        try:
            return await super()._parse(stream, scope)
        except UnicodeDecodeError:
            raise
        except ValueError as exc:
            if isinstance(exc, json.JSONDecodeError):
                raise
            raise BadRequestProblem(
                detail=f"request body has a number longer than {sys.get_int_max_str_digits()} digits"
            ) from exc


_VALIDATORS: dict[str, Any] = {
    "body": MediaTypeDict(
        {
            "*/*json": _JSONBody,
            "application/x-www-form-urlencoded": FormDataValidator,
            "multipart/form-data": MultiPartFormDataValidator,
        }
    )
}


class _MethodTable:
    """The documented methods of a path, for ``Allow`` (OpenAPI's ranking: concrete paths win)."""

    def __init__(self, specs: Mapping[str, Mapping[str, Any]]) -> None:
        self._routes: list[tuple[re.Pattern[str], list[str], int]] = []
        for prefix, spec in specs.items():
            for template, item in (spec.get("paths") or {}).items():
                pattern = re.sub(r"\\{[^/}]+\\}", "[^/]+", re.escape(template))
                methods = [m.upper() for m in item if m.lower() in METHODS]
                literals = sum("{" not in part for part in template.split("/"))
                self._routes.append(
                    (re.compile(f"^/{re.escape(prefix)}{pattern}$"), methods, literals)
                )

    def allowed(self, path: str) -> list[str]:
        matches = [(m, n) for pattern, m, n in self._routes if pattern.match(path)]
        most = max((n for _, n in matches), default=0)
        found: list[str] = []
        for methods, literals in matches:
            if literals == most:
                found.extend(m for m in methods if m not in found)
        return found


def _api_error(exc: Exception, allowed: _MethodTable, path: str) -> Exception:
    if isinstance(exc, ProblemException):
        detail = str(exc.detail or exc.title or "bad request").strip()
        message = detail.split("\n\n", 1)[0].split("\n", 1)[0].strip()
        status = 400 if exc.status in _AS_BAD_REQUEST else exc.status
        return ApiError(status, message, headers=dict(exc.headers or {}))
    if isinstance(exc, UnicodeDecodeError | json.JSONDecodeError):
        return ApiError(400, "request body is not valid JSON")
    if isinstance(exc, HTTPException):
        if exc.status_code == 404:
            return ApiError(404, "not found")
        if exc.status_code == 405:
            return ApiError(
                405, "method not allowed", headers={"Allow": ", ".join(allowed.allowed(path))}
            )
        return ApiError(exc.status_code, str(exc.detail))
    return exc


def _scoped(resolve: Callable[[str], Callable[..., Any]]) -> Callable[[str], Callable[..., Any]]:
    """Handlers that see the request through ``vendors.base.REQUEST_SCOPE``, as the request
    path's do (Connexion's own context holds it here)."""

    def resolved(operation_id: str) -> Callable[..., Any]:
        handler = resolve(operation_id)

        @functools.wraps(handler)
        async def scoped(*args: Any, **kwargs: Any) -> Any:
            token = REQUEST_SCOPE.set(context.scope)
            try:
                return await handler(*args, **kwargs)
            finally:
                REQUEST_SCOPE.reset(token)

        return scoped

    return resolved


def reference_app(settings: Settings) -> BuildMockApp:
    """The mock ``create_app(settings)`` builds, served by Connexion alone."""
    mock = BuildMock(settings)
    shared = SharedServing(mock) if mock.cluster is not None else None
    auth = type(
        "Auth",
        (VendorAuth,),
        {
            "checks": {
                name: (lambda headers, rt=rt: rt.vendor.authenticate(headers, rt.settings))
                for name, rt in mock.runtimes.items()
            }
        },
    )
    app = AsyncApp(
        "reference",
        middlewares=[
            ServerErrorMiddleware,
            ExceptionMiddleware,
            RoutingMiddleware,
            auth,
            RequestValidationMiddleware,
            LifespanMiddleware,
            ContextMiddleware,
        ],
        validator_map=_VALIDATORS,
    )
    app._middleware_app.api_cls = _Api
    control = load_control()
    specs: dict[str, Mapping[str, Any]] = {CONTROL_PREFIX: control}
    for name, runtime in mock.runtimes.items():
        specs[name] = mock.specs[name]
        wrap = _shared_wrap(shared, name, mock.specs[name])
        bind = _bind(f"buildmock.vendors.{name}", runtime, wrap)
        app.add_api(
            mock.specs[name],
            base_path=f"/{name}",
            resolver=Resolver(function_resolver=_scoped(bind)),
            pythonic_params=True,
            validate_responses=False,
        )
    app.add_api(
        control,
        base_path=f"/{CONTROL_PREFIX}",
        resolver=Resolver(
            function_resolver=_scoped(
                _bind("buildmock.server.control", mock, _shared_wrap(shared, None, control))
            )
        ),
        pythonic_params=True,
    )
    allowed = _MethodTable(specs)
    renderers = {name: rt.vendor.renderer(rt.settings) for name, rt in mock.runtimes.items()}

    rendered = make_renderer(renderers)

    def render(path: str, exc: Exception) -> Response:
        return rendered(path, _api_error(exc, allowed, path))

    async def handle(request: ConnexionRequest, exc: Exception) -> ConnexionResponse:
        response = render(request.url.path, exc)
        return ConnexionResponse(
            status_code=response.status_code,
            mimetype=response.media_type,
            body=response.body,
            headers={
                k: v
                for k, v in response.headers.items()
                if k not in ("content-length", "content-type")
            },
        )

    for exc in (ApiError, ProblemException, HTTPException, Exception):
        app.add_error_handler(exc, handle)
    return serving(mock, app, render, shared)
