"""ASGI middleware of buildmock's own: vendor auth in place of Connexion's security, and
Connexion's request path with its per-request repeated work done once."""

from __future__ import annotations

import copy
import functools
import sys
from collections.abc import AsyncGenerator, Callable, Mapping
from typing import Any

import orjson
from connexion import context
from connexion.apps.asynchronous import AsyncApi, AsyncOperation
from connexion.datastructures import MediaTypeDict
from connexion.decorators import StarletteDecorator
from connexion.decorators.parameter import AsyncParameterDecorator, pythonic
from connexion.exceptions import BadRequestProblem
from connexion.json_schema import Draft4RequestValidator
from connexion.middleware.request_validation import (
    RequestValidationAPI,
    RequestValidationMiddleware,
    RequestValidationOperation,
)
from connexion.middleware.swagger_ui import SwaggerUIAPI, SwaggerUIMiddleware
from connexion.operations import AbstractOperation
from connexion.spec import Specification
from connexion.utils import is_json_mimetype, is_null, is_nullable
from connexion.validators import (
    FormDataValidator,
    JSONRequestBodyValidator,
    MultiPartFormDataValidator,
    ParameterValidator,
)
from jsonschema import Draft4Validator, ValidationError
from starlette.datastructures import Headers
from starlette.types import ASGIApp, Receive, Scope, Send


class VendorAuthMiddleware:
    """Runs the vendor's ``authenticate`` on every routed request under ``/<vendor>``.

    It sits after Connexion's routing (so unknown paths are 404, not 401) and before request
    validation (so a request without credentials is 401 whatever its body), as the vendors do.
    """

    #: vendor prefix -> its check; set on a subclass made per app by ``create_app``.
    checks: Mapping[str, Callable[[Headers], None]] = {}

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and self.checks:
            routing = scope.get("extensions", {}).get("connexion_routing")
            if routing and routing.get("operation_id"):
                prefix = scope["path"].lstrip("/").split("/", 1)[0]
                check = self.checks.get(prefix)
                if check is not None:
                    check(Headers(scope=scope))
        await self.app(scope, receive, send)


# -- Connexion, minus the work it repeats on every request ------------------------------------
#
# Connexion 3 re-decorates the handler, re-inspects its signature, rebuilds the URI parser and
# compiles a fresh jsonschema validator for every parameter and body on every request. Profiled
# under load that was most of the time spent outside the handlers (bench/RESULTS.md). The classes
# below do the same work once per operation; behaviour (what is accepted, what is rejected, the
# messages) is Connexion's own.


@functools.lru_cache(maxsize=1024)
def _pythonic(name: str) -> str:
    return pythonic(name)


class LeanParameterDecorator(AsyncParameterDecorator):
    """Connexion's parameter decorator with names converted once and no body lookup for
    operations that have no request body (GETs)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        sanitize: Callable[[str], str] = self.sanitize_fn  # type: ignore[has-type]
        if sanitize is pythonic:
            self.sanitize_fn = _pythonic

    def _maybe_get_body(self, request: Any, *, arguments: list[str], has_kwargs: bool) -> Any:
        operation = context.operation
        if not has_kwargs and not operation.request_body:
            return None
        consumes = operation.consumes
        if "content-type" not in request.headers and consumes and is_json_mimetype(consumes[0]):
            # With no Content-Type Connexion validates the body as the operation's first media
            # type (JSON) but would hand the handler raw bytes: parse it as what was validated.
            return request.json()
        return super()._maybe_get_body(request, arguments=arguments, has_kwargs=has_kwargs)


class OnceDecorator(StarletteDecorator):
    """Connexion's Starlette decorator, with the handler wrapped once instead of per request."""

    @property
    def _parameter_decorator_cls(self) -> type[AsyncParameterDecorator]:
        return LeanParameterDecorator

    def __call__(self, function: Callable[..., Any]) -> Callable[..., Any]:
        """Wrap ``function`` once; each call only builds the request object."""
        decorated = self.decorate(function)
        get_request = self.framework.get_request
        parser: list[Any] = []

        async def wrapper(*args: Any, **kwargs: Any) -> Any:
            if not parser:
                # The operation (a context variable) is the same on every call of this wrapper.
                parser.append(self.uri_parser)
            request = get_request(
                uri_parser=parser[0], scope=context.scope, receive=context.receive
            )
            return await decorated(request)

        return functools.wraps(function)(wrapper)


class OnceOperation(AsyncOperation):
    """An operation of the AsyncApp that decorates its handler on first use, not per request."""

    _decorated: Callable[..., Any] | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> Any:
        """Call the (once-)decorated handler and send its response."""
        fn = self._decorated
        if fn is None:
            decorator = OnceDecorator(
                pythonic_params=self.pythonic_params, jsonifier=self.jsonifier
            )
            fn = self._decorated = decorator(self._fn)
        response = await fn()
        return await response(scope, receive, send)


class OnceApi(AsyncApi):
    """The AsyncApp's API, making :class:`OnceOperation` s."""

    def make_operation(self, operation: AbstractOperation) -> AsyncOperation:
        """An operation that decorates its handler once."""
        return OnceOperation.from_operation(
            operation, pythonic_params=self.pythonic_params, jsonifier=self.jsonifier
        )


class AuthoredSpecUIAPI(SwaggerUIAPI):
    """Connexion's Swagger UI routes serving the spec as authored: its ``$ref``s and components kept.

    Connexion serves the document with every ``$ref`` inlined (744 KB for 27 KB of source), which
    loses every named type for client generators; only ``servers`` is rewritten, as Connexion does.
    """

    def _spec_for_prefix(self, request: Any) -> dict[str, Any]:
        """The authored document with ``servers`` set to where this request reached it."""
        return {**self.specification.raw, "servers": [{"url": self._base_path_for_prefix(request)}]}


class LeanSwaggerUIMiddleware(SwaggerUIMiddleware):
    """Connexion's Swagger UI middleware, skipped for paths that cannot be one of its routes, and
    serving each spec as authored (:class:`AuthoredSpecUIAPI`)."""

    def add_api(
        self, specification: Specification, base_path: str | None = None, **kwargs: Any
    ) -> None:
        """Mount the spec's UI and documents at its base path."""
        api = AuthoredSpecUIAPI(
            specification, base_path=base_path, default=self.default_fn, **kwargs
        )
        self.router.mount(api.base_path, app=api.router)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Serve ``…/ui…`` and ``…/openapi.*``; pass anything else straight on."""
        path = scope.get("path", "")
        if scope["type"] == "http" and "/ui" not in path and "/openapi." not in path:
            await self.app(scope, receive, send)
            return
        await super().__call__(scope, receive, send)


class _CachedValidationOperation(RequestValidationOperation):
    """Connexion's request validation with the URI parser and parameter validator made once."""

    _parameters: Any = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Validate parameters, content type and body as Connexion does, then call on."""
        parameters = self._parameters
        if parameters is None:
            operation = self._operation
            uri_parser = operation._uri_parser_class(
                operation.parameters, operation.body_definition()
            )
            parameters = self._parameters = self._validator_map["parameter"](
                operation.parameters,
                uri_parser=uri_parser,
                strict_validation=self.strict_validation,
                security_query_params=self.security_query_params,
            )
        parameters.validate(scope)
        if not self._operation.request_body:
            # No body: Connexion would work out the content type, then find nothing to check.
            await self.next_app(scope, receive, send)
            return
        await self._body_then_next(scope, receive, send)

    async def _body_then_next(self, scope: Scope, receive: Receive, send: Send) -> None:
        """The rest of Connexion's ``__call__``: content type and body, then the next app."""
        headers = scope["headers"]
        mime_type, encoding = self.extract_content_type(headers)
        self.validate_mime_type(mime_type)
        schema = self._operation.body_schema(mime_type)
        if schema:
            try:
                body_validator = self._validator_map["body"][mime_type]
            except KeyError:
                pass
            else:
                validator = body_validator(
                    schema=schema,
                    required=self._operation.request_body.get("required", False),
                    nullable=is_nullable(self._operation.body_definition(mime_type)),
                    encoding=encoding,
                    strict_validation=self.strict_validation,
                    uri_parser=self._operation.uri_parser_class(
                        self._operation.parameters, self._operation.body_definition()
                    ),
                )
                receive, scope = await validator.wrap_receive(receive, scope=scope)
        await self.next_app(scope, receive, send)


class _CachedValidationAPI(RequestValidationAPI):
    def make_operation(self, operation: AbstractOperation) -> RequestValidationOperation:
        return _CachedValidationOperation(
            self.next_app,
            operation=operation,
            strict_validation=self.strict_validation,
            validator_map=self.validator_map,
        )


class CachedRequestValidationMiddleware(RequestValidationMiddleware):
    """Connexion's request validation middleware, with per-operation work done once."""

    api_cls = _CachedValidationAPI


_compiled: dict[int, tuple[Any, Draft4Validator]] = {}


def _validator_for(schema: Mapping[str, Any], cls: Any = Draft4Validator) -> Any:
    """A compiled validator for a spec schema object (spec dicts live as long as the app)."""
    entry = _compiled.get(id(schema))
    if entry is None or entry[0] is not schema:
        validator = cls(copy.deepcopy(schema), format_checker=Draft4Validator.FORMAT_CHECKER)
        entry = _compiled[id(schema)] = (schema, validator)
    return entry[1]


class CachedParameterValidator(ParameterValidator):
    """Connexion's parameter validator with each parameter's schema compiled once."""

    @staticmethod
    def validate_parameter(
        parameter_type: str, value: Any, param: Mapping[str, Any], param_name: Any = None
    ) -> str | None:
        """Same checks and messages as Connexion's; the validator is reused."""
        if is_nullable(param) and is_null(value):
            return None
        if value is not None:
            try:
                _validator_for(param.get("schema", param)).validate(value)
            except ValidationError as exception:
                return str(exception)
        elif param.get("required"):
            return f"Missing {parameter_type} parameter '{param['name']}'"
        return None


class CachedJSONBodyValidator(JSONRequestBodyValidator):
    """Connexion's JSON body validator with the schema compiled once and orjson parsing."""

    @property
    def _validator(self) -> Any:
        return _validator_for(self._schema, Draft4RequestValidator)

    async def _parse(self, stream: AsyncGenerator[bytes, None], scope: Scope) -> Any:
        raw = b"".join([message async for message in stream])
        if not raw:
            return None
        if self._encoding.lower().replace("-", "") != "utf8":
            return await _stdlib_parse(super()._parse, raw, scope)
        try:
            return orjson.loads(raw)
        except orjson.JSONDecodeError:
            # Whatever orjson refuses (huge integers, NaN, other encodings) gets the stdlib's
            # verdict and message, as Connexion would give.
            return await _stdlib_parse(super()._parse, raw, scope)


async def _stdlib_parse(parse: Any, raw: bytes, scope: Scope) -> Any:
    """Connexion's own parse of ``raw``, with an integer too long for Python a 400, not a 500."""
    try:
        return await parse(_replay(raw), scope)
    except UnicodeDecodeError:
        raise
    except ValueError as exc:  # not JSONDecodeError: Connexion makes that a 400 itself
        raise BadRequestProblem(
            detail=f"request body has a number longer than {sys.get_int_max_str_digits()} digits"
        ) from exc


async def _replay(raw: bytes) -> AsyncGenerator[bytes, None]:
    yield raw


#: The validator map for ``AsyncApp(validator_map=...)``.
VALIDATOR_MAP: dict[str, Any] = {
    "parameter": CachedParameterValidator,
    "body": MediaTypeDict(
        {
            "*/*json": CachedJSONBodyValidator,
            "application/x-www-form-urlencoded": FormDataValidator,
            "multipart/form-data": MultiPartFormDataValidator,
        }
    ),
}
