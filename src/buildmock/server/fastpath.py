"""The fast path: requests Connexion would hand straight to a vendor's handler, answered directly.

Connexion's request path (nine middleware layers, routing twice, request objects rebuilt per
layer, parameter decoration, jsonschema) costs several times what a handler does (profiles in
bench/RESULTS.md). At start-up this module compiles every vendor operation of the mounted specs
once, from Connexion's own operation objects: its route, its parameters with their coercion and
schema checks, its JSON body schema, and the handler the resolver bound to it. A request is
answered here only when everything Connexion would do to it is known to succeed and to give the
handler the same arguments; anything else — a parameter or body the schema refuses, a body with no
or an unusual content type, a failed auth check, an ambiguous or unknown path, HEAD, the Swagger UI,
the control API — goes to Connexion untouched, which answers it exactly as it always did.

The one rule: deciding to defer happens before the handler runs, so a request is handled once.
``tests/server/test_fastpath.py`` replays Schemathesis-generated traffic through an app with and
without the fast path and requires the same bytes back.
"""

from __future__ import annotations

import copy
import logging
import re
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

import fastjsonschema
import orjson
from connexion import context as connexion_context
from connexion.decorators.parameter import _get_val_from_param, inspect_function_arguments
from connexion.operations import AbstractOperation
from connexion.spec import Specification
from jsonschema import Draft4Validator
from starlette.datastructures import Headers
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from buildmock.core.openapi import METHODS
from buildmock.server.limits import replay
from buildmock.server.middleware import _pythonic

log = logging.getLogger("buildmock")

_DRAFT4 = "http://json-schema.org/draft-04/schema#"
_FORMAT_CHECKER = Draft4Validator.FORMAT_CHECKER
_INTEGER = re.compile(r"-?[0-9]{1,18}")
#: Plain decimals only: Connexion's ``float()`` reads these exactly as the fast path does.
_NUMBER = re.compile(r"-?[0-9]{1,15}(\.[0-9]{1,15})?")
_BOOLEAN = {"true": True, "false": False}
_PARAM = re.compile(r"^\{[^{}]+\}$")
_NULLS = ("null", "None")


class _Unsupported(Exception):
    """An operation (or a part of one) the fast path leaves to Connexion."""


class _Defer(Exception):
    """This request goes to Connexion."""


# -- schemas -------------------------------------------------------------------------------------


def _formats(schema: Any, found: set[str]) -> set[str]:
    if isinstance(schema, Mapping):
        value = schema.get("format")
        if isinstance(value, str):
            found.add(value)
        for key, sub in schema.items():
            if key not in ("example", "examples", "default", "enum"):
                _formats(sub, found)
    elif isinstance(schema, list):
        for sub in schema:
            _formats(sub, found)
    return found


#: Keywords that only document; dropped before compiling (fastjsonschema embeds the schema it
#: checks in every error it can raise, so they would cost start-up time and memory, nothing else).
_DOCUMENTATION = frozenset(
    {"description", "example", "examples", "title", "externalDocs", "xml", "deprecated"}
)
#: Keywords whose values are data, not schemas.
_DATA = frozenset({"enum", "default", "required", "type", "pattern", "format"})
#: Keywords whose values map names (not keywords) to schemas.
_NAMED = frozenset({"properties", "patternProperties", "definitions", "dependencies"})


def _prepare(schema: Any, nullable: bool) -> Any:
    """The schema as plain draft 4, documentation dropped.

    With ``nullable``, OpenAPI's ``nullable`` is read as Connexion's request validator reads it:
    ``null`` passes the node's ``type`` and ``enum`` and nothing else.
    """
    if isinstance(schema, list):
        return [_prepare(sub, nullable) for sub in schema]
    if not isinstance(schema, Mapping):
        return schema
    out: dict[str, Any] = {}
    for key, value in schema.items():
        if key in _DOCUMENTATION or key.startswith("x-"):
            continue
        if key in _DATA:
            out[key] = copy.deepcopy(value)
        elif key in _NAMED and isinstance(value, Mapping):
            out[key] = {name: _prepare(sub, nullable) for name, sub in value.items()}
        else:
            out[key] = _prepare(value, nullable)
    if nullable and (schema.get("nullable") is True or schema.get("x-nullable") is True):
        kind = out.get("type")
        if isinstance(kind, str):
            out["type"] = [kind, "null"]
        elif isinstance(kind, list) and "null" not in kind:
            out["type"] = [*kind, "null"]
        if isinstance(out.get("enum"), list) and None not in out["enum"]:
            out["enum"] = [*out["enum"], None]
    return out


#: Compiled checks by schema, so the many identical parameter schemas compile once.
_compiled: dict[str, Callable[[Any], Any]] = {}


def compile_schema(schema: Mapping[str, Any], *, nullable: bool) -> Callable[[Any], Any]:
    """A draft-4 check equivalent to (or stricter than) the jsonschema validator Connexion uses.

    ``nullable`` follows Connexion's request-body validator; parameters are checked with plain
    draft 4. Formats jsonschema does not check are accepted as it accepts them; a format it checks
    is checked by jsonschema's own check (both apply format checks to strings only).
    """
    try:
        prepared = {**_prepare(schema, nullable), "$schema": _DRAFT4}
        key = orjson.dumps(prepared, option=orjson.OPT_SORT_KEYS).decode()
    except RecursionError as exc:  # a schema that refers to itself, inlined by Connexion
        raise _Unsupported("recursive schema") from exc
    except orjson.JSONEncodeError as exc:
        raise _Unsupported(f"schema: {exc}") from exc
    check = _compiled.get(key)
    if check is None:
        formats = {name: _format_check(name) for name in _formats(prepared, set())}
        try:
            # Connexion fills in no defaults, so neither may the check; its error details are
            # never shown (a refused request goes to Connexion), so none are generated.
            check = fastjsonschema.compile(
                prepared, formats=formats, use_default=False, detailed_exceptions=False
            )
        except (fastjsonschema.JsonSchemaDefinitionException, ValueError) as exc:
            raise _Unsupported(f"schema: {exc}") from exc
        _compiled[key] = check
    return check


def _format_check(name: str) -> Callable[[str], bool]:
    """The format check jsonschema's draft-4 checker applies to ``name`` (none if it knows none)."""
    if name not in _FORMAT_CHECKER.checkers:
        return _anything
    return lambda value: _FORMAT_CHECKER.conforms(value, name)


def _anything(value: str) -> bool:
    return True


# -- operations ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Param:
    definition: Mapping[str, Any]
    name: str
    key: str  # the handler's keyword
    kind: str
    required: bool
    nullable: bool
    check: Callable[[Any], Any]
    default: Any = None
    has_default: bool = False


@dataclass(frozen=True)
class _Body:
    media_types: frozenset[str]
    check: Callable[[Any], Any]
    key: str | None  # the handler's keyword, or None if it takes no body


@dataclass
class _Operation:
    handler: Callable[..., Awaitable[Any]]
    path_params: dict[str, _Param]
    query_params: dict[str, _Param]
    body: _Body | None
    operation_id: str


def _param(definition: Mapping[str, Any], takes: Callable[[str], bool]) -> _Param:
    schema = definition.get("schema") or {}
    kind = schema.get("type")
    if definition["in"] == "path" and kind not in ("string", "integer"):
        raise _Unsupported(f"path parameter of type {kind}")
    if kind not in ("string", "integer", "number", "boolean", "array"):
        raise _Unsupported(f"parameter of type {kind}")
    if kind == "array" and definition.get("required"):
        raise _Unsupported("required array parameter")
    if definition["in"] == "query" and definition.get("style", "form") == "deepObject":
        raise _Unsupported("deepObject parameter")
    name = definition["name"]
    key = _pythonic(name.replace("-", "_") if definition["in"] == "path" else name)
    has_default = "default" in definition or "default" in schema
    return _Param(
        definition=definition,
        name=name,
        key=key if definition["in"] == "path" or takes(key) else "",
        kind=kind,
        required=bool(definition.get("required")),
        nullable=bool(schema.get("nullable") or definition.get("x-nullable")),
        check=compile_schema(schema, nullable=False),
        default=definition.get("default", schema.get("default")),
        has_default=has_default,
    )


def compile_operation(operation: AbstractOperation, names: tuple[str, ...]) -> _Operation:
    """What the fast path needs to answer ``operation`` (whose template has the path parameters
    ``names``); :class:`_Unsupported` if it cannot."""
    arguments, has_kwargs = inspect_function_arguments(operation.function)

    def takes(key: str) -> bool:
        return has_kwargs or key in arguments

    path_params: dict[str, _Param] = {}
    query_params: dict[str, _Param] = {}
    seen: set[tuple[str, str]] = set()
    # Connexion appends the path item's parameters to the operation's own list every time it
    # builds the operation, so the list repeats them; the first of each (an operation's own
    # definition wins over its path item's, as OpenAPI says) is the one that counts.
    for definition in operation.parameters:
        where, name = definition["in"], definition["name"]
        if (where, name) in seen:
            continue
        seen.add((where, name))
        if where == "path":
            path_params[name] = _param(definition, takes)
        elif where == "query":
            query_params[name] = _param(definition, takes)
        else:
            raise _Unsupported(f"{where} parameter")
    if set(path_params) != set(names):
        raise _Unsupported("path parameters do not match the template")
    body = None
    if operation.request_body:
        media_types = frozenset(m.lower() for m in operation.consumes)
        if not media_types or any(m != "application/json" for m in media_types):
            raise _Unsupported(f"request body as {sorted(media_types)}")
        schema = operation.body_schema("application/json")
        if not schema or not operation.request_body.get("required"):
            raise _Unsupported("optional or schemaless request body")
        key = _pythonic(operation.body_name("application/json"))
        body = _Body(
            media_types, compile_schema(schema, nullable=True), key if takes(key) else None
        )
    return _Operation(
        handler=operation.function,
        path_params=path_params,
        query_params=query_params,
        body=body,
        operation_id=str(operation.operation_id),
    )


# -- routes --------------------------------------------------------------------------------------


@dataclass
class _Node:
    literal: dict[str, _Node] = field(default_factory=dict)
    param: _Node | None = None
    methods: dict[str, _Slot] | None = None
    names: tuple[str, ...] = ()  # the template's parameter names, in order


class _Routes:
    """A vendor's path templates as a segment tree; a path must match exactly one template."""

    def __init__(self) -> None:
        self.root = _Node()
        self.complex: list[re.Pattern[str]] = []

    def add(self, template: str, methods: dict[str, _Slot], multi: bool) -> None:
        """Add ``template``; ``multi`` if a parameter of it may span segments (``format: path``)."""
        segments = template.split("/")[1:]
        if multi or any(("{" in s or "}" in s) and not _PARAM.match(s) for s in segments):
            # Such a template is never served here, but a path it matches must not be either.
            pattern = re.sub(r"\\\{[^/]*?\\\}", ".+", re.escape(template))
            self.complex.append(re.compile(f"^{pattern}$"))
            return
        node = self.root
        for segment in segments:
            if _PARAM.match(segment):
                node.param = node.param or _Node()
                node = node.param
            else:
                node = node.literal.setdefault(segment, _Node())
        node.methods = methods
        node.names = template_names(template)

    def match(self, path: str) -> tuple[dict[str, _Slot], dict[str, str]] | None:
        """The methods of the one template ``path`` matches and its parameter values, or None."""
        if any(p.match(path) for p in self.complex):
            return None
        found: list[tuple[_Node, list[str]]] = []
        self._walk(self.root, path.split("/")[1:], 0, [], found)
        if len(found) != 1:
            return None
        node, values = found[0]
        assert node.methods is not None
        return node.methods, dict(zip(node.names, values, strict=True))

    def _walk(
        self,
        node: _Node,
        segments: list[str],
        index: int,
        values: list[str],
        found: list[tuple[_Node, list[str]]],
    ) -> None:
        if index == len(segments):
            if node.methods is not None:
                found.append((node, list(values)))
            return
        segment = segments[index]
        child = node.literal.get(segment)
        if child is not None:
            self._walk(child, segments, index + 1, values, found)
        if node.param is not None and segment:
            values.append(segment)
            self._walk(node.param, segments, index + 1, values, found)
            values.pop()


# -- the ASGI app --------------------------------------------------------------------------------


class FastPath:
    """ASGI app: answers what it can (see the module docstring), passes the rest to ``app``."""

    def __init__(
        self,
        app: ASGIApp,
        routes: Mapping[str, _Routes],
        checks: Mapping[str, Callable[[Headers], None]],
        render_error: Callable[[str, Exception], Response],
    ) -> None:
        self.app = app
        self._routes = dict(routes)
        self._checks = dict(checks)
        self._render_error = render_error
        #: Requests answered here / passed to Connexion (for tests and the benchmark).
        self.served = 0
        self.deferred = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Serve ``scope`` here if it qualifies, else hand it to Connexion."""
        if scope["type"] != "http" or scope.get("root_path"):
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]
        prefix, _, rest = path[1:].partition("/")
        routes = self._routes.get(prefix)
        # The Swagger UI middleware's paths are Connexion's; Starlette's mount pattern (`.*`)
        # stops at a newline, so such paths never reach a route.
        skip = routes is None or "/ui" in path or "/openapi." in path or "\n" in path
        matched = None if skip or routes is None else routes.match("/" + rest)
        slot = matched[0].get(scope["method"].lower()) if matched is not None else None
        operation = slot.get() if slot is not None else None
        if operation is None or matched is None:
            self.deferred += 1
            await self.app(scope, receive, send)
            return
        raw = b""
        if operation.body is not None:
            raw, more = await _read_body(receive)
            if more is not None:  # the client went away mid-body
                return
            receive = replay(raw, receive)
        try:
            kwargs = self._arguments(prefix, operation, matched[1], scope, raw)
        except _Defer:
            self.deferred += 1
            await self.app(scope, receive, send)
            return
        self.served += 1
        connexion_context._scope.set(scope)
        connexion_context._receive.set(receive)
        try:
            response = await operation.handler(**kwargs)
            if not isinstance(response, Response):
                raise TypeError(f"{operation.operation_id} returned {type(response).__name__}")
        except Exception as exc:
            response = self._render_error(path, exc)
        await response(scope, receive, send)

    def _arguments(
        self, prefix: str, operation: _Operation, values: dict[str, str], scope: Scope, raw: bytes
    ) -> dict[str, Any]:
        """The handler's keyword arguments, as Connexion would pass them; :class:`_Defer` if
        Connexion might answer anything else."""
        check = self._checks.get(prefix)
        if check is not None:
            try:
                check(Headers(scope=scope))
            except Exception as exc:
                raise _Defer from exc
        kwargs: dict[str, Any] = {}
        for name, value in values.items():
            param = operation.path_params[name]
            kwargs[param.key] = _value(param, value)
        kwargs.update(_query(operation, scope["query_string"]))
        if operation.body is not None:
            body = _json_body(operation.body, scope, raw)
            if operation.body.key is not None:
                kwargs[operation.body.key] = body
        elif any(k == b"content-type" for k, _ in scope["headers"]):
            # Connexion parses a form body on any operation (a multipart type without a
            # boundary is its 400); a body nobody reads is left to it.
            raise _Defer
        return kwargs


def _value(param: _Param, raw: str) -> Any:
    """A parameter's value coerced and checked as Connexion does, when that is certain."""
    if param.nullable and raw.strip() in _NULLS:
        raise _Defer
    value: Any
    if param.kind == "string":
        value = raw
    elif param.kind == "integer":
        if not _INTEGER.fullmatch(raw):
            raise _Defer
        value = int(raw)
    elif param.kind == "number":
        if not _NUMBER.fullmatch(raw):
            raise _Defer
        value = float(raw)
    elif param.kind == "boolean":
        if raw not in _BOOLEAN:
            raise _Defer
        value = _BOOLEAN[raw]
    else:
        raise _Defer
    try:
        param.check(value)
    except Exception as exc:
        raise _Defer from exc
    return value


def _query(operation: _Operation, query_string: bytes) -> dict[str, Any]:
    given: dict[str, str] = {}
    if query_string:
        for name, value in parse_qsl(query_string.decode("latin-1"), keep_blank_values=True):
            if "[" in name:
                raise _Defer
            if name in operation.query_params:
                given[name] = value  # Connexion keeps the last of repeated values
    kwargs: dict[str, Any] = {}
    for name, param in operation.query_params.items():
        raw = given.get(name)
        if raw is None:
            if param.required:
                raise _Defer
            if param.has_default and param.key:
                kwargs[param.key] = _get_val_from_param(
                    copy.deepcopy(param.default), param.definition
                )
            continue
        value = _value(param, raw)
        if param.key:
            kwargs[param.key] = value
    return kwargs


def _json_body(body: _Body, scope: Scope, raw: bytes) -> Any:
    content_types = [v for k, v in scope["headers"] if k == b"content-type"]
    if len(content_types) != 1 or not raw:
        raise _Defer
    mime, _, params = content_types[0].decode("latin-1").partition(";")
    params = params.strip().lower().replace('"', "")
    if mime.strip().lower() not in body.media_types or params not in ("", "charset=utf-8"):
        raise _Defer
    try:
        parsed = orjson.loads(raw)
        if parsed is None:
            raise _Defer
        body.check(parsed)
    except (orjson.JSONDecodeError, fastjsonschema.JsonSchemaException) as exc:
        raise _Defer from exc
    return parsed


async def _read_body(receive: Receive) -> tuple[bytes, Message | None]:
    """The whole request body; the message that ended it early (a disconnect), if any."""
    chunks = []
    while True:
        message = await receive()
        if message["type"] != "http.request":
            return b"", message
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            return b"".join(chunks), None


class _Slot:
    """An operation compiled on its first request: start-up stays fast and operations nobody
    calls cost nothing. Holds None once compiling found it must stay Connexion's."""

    __slots__ = ("_make", "_operation")

    def __init__(self, make: Callable[[], _Operation | None]) -> None:
        self._make: Callable[[], _Operation | None] | None = make
        self._operation: _Operation | None = None

    def get(self) -> _Operation | None:
        """The compiled operation (compiling it now if this is its first request)."""
        if self._make is not None:
            self._operation, self._make = self._make(), None
        return self._operation


def _compiler(
    prefix: str, specification: Specification, resolver: Any, template: str, method: str
) -> Callable[[], _Operation | None]:
    def make() -> _Operation | None:
        operation = specification.operation_cls.from_spec(
            specification, path=template, method=method, resolver=resolver
        )
        try:
            return compile_operation(operation, template_names(template))
        except _Unsupported as why:
            log.debug("fast path: %s /%s%s left to Connexion: %s", method, prefix, template, why)
            return None

    return make


def template_names(template: str) -> tuple[str, ...]:
    """The parameter names of a path template, in order."""
    return tuple(s[1:-1] for s in template.split("/") if _PARAM.match(s))


def _spans_segments(item: Mapping[str, Any], method: str) -> bool:
    """Whether a path parameter of this operation may span segments (``format: path``)."""
    parameters = [*item.get("parameters", []), *item[method].get("parameters", [])]
    return any(
        p.get("in") == "path" and (p.get("schema") or {}).get("format") == "path"
        for p in parameters
    )


def build(
    app: ASGIApp,
    apis: Iterable[tuple[str, Specification, Any]],
    checks: Mapping[str, Callable[[Headers], None]],
    render_error: Callable[[str, Exception], Response],
) -> FastPath:
    """Route every operation of ``apis`` (``(prefix, specification, resolver)``) in front of
    ``app``; each is compiled on its first request, and stays Connexion's if it cannot be."""
    routes: dict[str, _Routes] = {}
    for prefix, specification, resolver in apis:
        table = routes[prefix] = _Routes()
        for template, item in (specification.get("paths") or {}).items():
            methods = {
                method: _Slot(_compiler(prefix, specification, resolver, template, method))
                for method in item
                if method in METHODS
            }
            table.add(template, methods, any(_spans_segments(item, m) for m in methods))
    return FastPath(app, routes, checks, render_error)
