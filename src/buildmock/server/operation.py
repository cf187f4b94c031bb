"""One compiled description per operation, made from the authored spec: its parameters with
Connexion's coercion, its JSON body schema, its handler; and the checks that give Connexion's
answers (statuses and messages) for what they refuse.

Schemas keep their ``$ref``s: each is compiled against the whole document (its
``components``), so recursive schemas (Nuon's) work. The happy path runs fastjsonschema; only a
refused value is run through jsonschema (as Connexion does) for the message.
"""

from __future__ import annotations

import copy
import functools
import json
import math
import re
import sys
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from fnmatch import fnmatchcase
from typing import Any

import fastjsonschema
import orjson
from connexion.decorators.parameter import pythonic
from connexion.json_schema import Draft4RequestValidator, format_error_with_path
from jsonschema import Draft4Validator, ValidationError

from buildmock.core.errors import ApiError

_DRAFT4 = "http://json-schema.org/draft-04/schema#"
_FORMAT_CHECKER = Draft4Validator.FORMAT_CHECKER
_NULLS = ("null", "None")
#: orjson reads an integer past 64 bits as a float; such bodies are read by the stdlib instead.
_LONG_NUMBER = re.compile(rb"[0-9]{19}")

Handler = Callable[..., Awaitable[Any]]


def bad_request(detail: str) -> ApiError:
    """A 400 whose message is the first line of ``detail`` (jsonschema appends the schema)."""
    return ApiError(400, detail.split("\n\n", 1)[0].split("\n", 1)[0].strip())


# -- schemas -------------------------------------------------------------------------------------

#: Keywords that only document; dropped before compiling (fastjsonschema embeds the schema in the
#: code it generates, so they would cost start-up time and memory, nothing else).
_DOCUMENTATION = frozenset(
    {"description", "example", "examples", "title", "externalDocs", "xml", "deprecated"}
)
#: Keywords whose values are data, not schemas.
_DATA = frozenset({"enum", "default", "required", "type", "pattern", "format", "$ref"})
#: Keywords whose values map names (not keywords) to schemas.
_NAMED = frozenset({"properties", "patternProperties", "definitions", "dependencies", "schemas"})


def _prepare(schema: Any, nullable: bool) -> Any:
    """The schema as plain draft 4, documentation dropped; with ``nullable``, OpenAPI's
    ``nullable`` read as Connexion's request validator reads it (``null`` passes the node's
    ``type`` and ``enum``)."""
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


def _formats(schema: Any, found: set[str]) -> set[str]:
    if isinstance(schema, Mapping):
        value = schema.get("format")
        if isinstance(value, str):
            found.add(value)
        for key, sub in schema.items():
            if key not in ("enum", "default"):
                _formats(sub, found)
    elif isinstance(schema, list):
        for sub in schema:
            _formats(sub, found)
    return found


def _format_check(name: str) -> Callable[[str], bool]:
    """The format check jsonschema's draft-4 checker applies to ``name`` (none if it knows none)."""
    if name not in _FORMAT_CHECKER.checkers:
        return lambda value: True
    return lambda value: _FORMAT_CHECKER.conforms(value, name)


#: Compiled checks by schema text, so the many identical parameter schemas compile once.
_compiled: dict[str, Callable[[Any], Any]] = {}


def compile_schema(
    schema: Mapping[str, Any], *, nullable: bool, components: Mapping[str, Any] | None = None
) -> Callable[[Any], Any]:
    """A draft-4 check accepting exactly what Connexion's validator accepts (or less, never more);
    ``$ref``s resolve against ``components`` (the document's)."""
    document: dict[str, Any] = {**_prepare(schema, nullable), "$schema": _DRAFT4}
    if components:
        document["components"] = _prepare(components, nullable)
    key = orjson.dumps(document, option=orjson.OPT_SORT_KEYS).decode()
    check = _compiled.get(key)
    if check is None:
        formats = {name: _format_check(name) for name in _formats(document, set())}
        check = _compiled[key] = _compile(document, formats)
    return check


class _Refused(fastjsonschema.JsonSchemaValueException):
    """What a compiled check raises, made by ``Exception``'s own constructor: a check raises and
    catches several inside ``anyOf``, ``oneOf`` and ``not`` even for a valid value, and
    fastjsonschema's constructor (Python code) was some 40 % of checking a Stainless create body.
    Nothing reads its fields: a refusal is explained by jsonschema (:meth:`Schema.refusal`). Without
    ``detailed_exceptions`` the generated code passes the message alone (a test holds it to that)."""

    __init__ = Exception.__init__


#: Keywords that combine subschemas: fastjsonschema's code checks them before a node's others.
_COMBINING = ("anyOf", "oneOf", "not")
#: Keywords that stay on their node when its checks are reordered (they hold, not check).
_HOLDING = frozenset({"$schema", "id", "definitions", "components"})


def _fail_fast(schema: Any) -> Any:
    """``schema`` with each node's own keywords checked before its ``allOf``, ``anyOf``, ``oneOf``
    and ``not``: the node as an ``allOf`` of those parts, in that order (the same verdicts).

    A failed ``anyOf`` or ``oneOf`` branch raises inside the generated code: under Stainless's
    create body's ``not``, the node's ``required`` alone refuses what its ``anyOf`` took three
    raises to refuse. A node with ``$ref`` is left as it is (draft 4 ignores its siblings).
    """
    if isinstance(schema, list):
        return [_fail_fast(sub) for sub in schema]
    if not isinstance(schema, Mapping):
        return schema
    node: dict[str, Any] = {}
    for key, value in schema.items():
        if key in _DATA:
            node[key] = value
        elif key in _NAMED and isinstance(value, Mapping):
            node[key] = {name: _fail_fast(sub) for name, sub in value.items()}
        else:
            node[key] = _fail_fast(value)
    combined = [key for key in _COMBINING if key in node]
    own = {
        k: v for k, v in node.items() if k not in _HOLDING and k != "allOf" and k not in combined
    }
    if "$ref" in node or not combined or not own:
        return node
    kept = {k: v for k, v in node.items() if k in _HOLDING}
    parts = [own, *node.get("allOf", ()), *({key: node[key]} for key in combined)]
    return {**kept, "allOf": parts}


def _compile(document: dict[str, Any], formats: dict[str, Callable[[str], bool]]) -> Any:
    """fastjsonschema's check of ``document`` (its nodes' checks reordered by :func:`_fail_fast`):
    its generated module (``compile_to_code``) run as ``fastjsonschema.compile`` runs it, raising
    :class:`_Refused`."""
    code = fastjsonschema.compile_to_code(
        _fail_fast(document), formats=formats, use_default=False, detailed_exceptions=False
    )
    module: dict[str, Any] = {}
    exec(code, module)  # the code fastjsonschema generated from our own specs
    module["JsonSchemaValueException"] = _Refused
    return functools.partial(module["validate"], custom_formats=formats)


class Schema:
    """A schema checked fast; refusals explained by the jsonschema validator Connexion uses."""

    def __init__(
        self,
        schema: Mapping[str, Any],
        components: Mapping[str, Any] | None,
        *,
        request_body: bool,
    ) -> None:
        self.check = compile_schema(schema, nullable=request_body, components=components)
        self._schema = schema
        self._components = components
        self._request_body = request_body

    @functools.cached_property
    def _validator(self) -> Any:
        document = dict(self._schema)
        if self._components:
            document["components"] = self._components
        cls = Draft4RequestValidator if self._request_body else Draft4Validator
        return cls(document, format_checker=_FORMAT_CHECKER)

    def refusal(self, value: Any) -> ValidationError | None:
        """Connexion's validation error for ``value``, or None if it is valid."""
        try:
            self.check(value)
            return None
        except fastjsonschema.JsonSchemaException:
            pass
        for error in self._validator.iter_errors(value):
            return error  # jsonschema's ``validate`` raises the first one
        return None


# -- parameters ----------------------------------------------------------------------------------


def _boolean(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    lowered = value.lower() if hasattr(value, "lower") else None
    if lowered in ("true", "false"):
        return lowered == "true"
    raise ValueError("Invalid boolean value")


def _number(value: Any) -> float:
    # ``float`` also reads "nan" and "inf", which pass any minimum and maximum: no JSON number is
    # either, so such a value stays a string and the schema refuses it (a 400, not a handler's 500).
    number = float(value)
    if not math.isfinite(number):
        raise ValueError(f"{value!r} is not a finite number")
    return number


_TYPES: dict[str, Callable[[Any], Any]] = {"integer": int, "number": _number, "boolean": _boolean}


def _is_null(value: Any) -> bool:
    return value is None or (hasattr(value, "strip") and value.strip() in _NULLS)


@dataclass(frozen=True)
class Param:
    """A path or query parameter."""

    name: str
    where: str
    key: str  # the handler's keyword ("" if the handler does not take it)
    schema: Mapping[str, Any]
    check: Schema
    required: bool
    nullable: bool
    explode: bool
    delimiter: str
    #: A string with nothing to check (``{type: string}`` and annotations only, not nullable): any
    #: value passes as it is, so coercing and checking it is skipped (the same verdict, tested).
    plain: bool = False

    def coerce(self, values: list[str]) -> Any:
        """The value as Connexion's URI parser makes it (the last of repeated values; arrays
        joined and split per style); a value its type refuses stays a string."""
        kind = self.schema.get("type")
        if kind == "array":
            joined = self.delimiter.join(values) if self.explode else values[-1]
            if self.nullable and _is_null(joined):
                return None
            items = (self.schema.get("items") or {}).get("type")
            out = []
            for part in joined.split(self.delimiter):
                try:
                    out.append(_TYPES[items](part) if items in _TYPES else part)
                except (ValueError, TypeError):
                    out.append(part)
            return out
        value = values[-1]
        if self.nullable and _is_null(value):
            return None
        make = _TYPES.get(str(kind))
        if make is None:
            return value
        try:
            return make(value)
        except (ValueError, TypeError):
            return value

    def argument(self, value: Any) -> Any:
        """What the handler gets for a valid ``value`` (Connexion casts once more)."""
        if self.nullable and _is_null(value):
            return None
        kind = self.schema.get("type")
        if kind == "array":
            items = self.schema.get("items") or {}
            return [_cast(part, items) for part in value]
        return _cast(value, self.schema)


def _cast(value: Any, schema: Mapping[str, Any]) -> Any:
    kind = schema.get("type")
    if kind == "string" and schema.get("format") == "binary":
        return value
    make = _CASTS.get(str(kind))
    return make(value) if make is not None else value


_CASTS: dict[str, Callable[[Any], Any]] = {**_TYPES, "string": str, "array": list, "object": dict}


@dataclass(frozen=True)
class Body:
    """A JSON request body."""

    media_types: tuple[str, ...]
    check: Schema
    required: bool
    nullable: bool
    key: str | None  # the handler's keyword, or None if it takes no body
    default: Any

    @functools.cached_property
    def literal_types(self) -> frozenset[str]:
        """The media types (lower-cased) without a glob character: a type equal to one of them
        matches it, so most requests need no ``fnmatch``."""
        return frozenset(m.lower() for m in self.media_types if not any(c in m for c in "*?["))


@dataclass(frozen=True)
class Operation:
    """Everything the request path needs to decide and answer one operation."""

    operation_id: str
    handler: Handler
    query: tuple[Param, ...]
    path: tuple[Param, ...]
    body: Body | None
    defaults: tuple[tuple[Param, Any], ...]  # query parameters with a default, cast

    def validate_parameters(
        self, query: Mapping[str, list[str]], path: Mapping[str, str]
    ) -> dict[str, Any]:
        """The handler's parameter arguments; the 400 Connexion gives for the first bad one.

        A value that passes its check already has the type Connexion's second cast would give
        it, so only defaults are cast (once, when compiled)."""
        kwargs: dict[str, Any] = {}
        for param in self.query:
            values = query.get(param.name)
            if values is not None and param.plain:
                value: Any = values[-1]
            else:
                value = None if values is None else param.coerce(values)
                _check(param, value)
            if value is not None and param.key:
                kwargs[param.key] = value
        for param in self.path:
            raw = path.get(param.name)
            if raw is not None and param.plain:
                value = raw
            else:
                value = None if raw is None else param.coerce([raw])
                _check(param, value)
            if param.key:
                kwargs[param.key] = value
        for param, default in self.defaults:
            if param.key not in kwargs:
                mutable = isinstance(default, list | dict)
                kwargs[param.key] = copy.deepcopy(default) if mutable else default
        return kwargs


def _check(param: Param, value: Any) -> None:
    if param.nullable and _is_null(value):
        return
    if value is not None:
        error = param.check.refusal(value)
        if error is not None:
            raise bad_request(str(error))
    elif param.required:
        raise bad_request(f"Missing {param.where} parameter '{param.name}'")


# -- content type and body -----------------------------------------------------------------------


def content_type(headers: list[tuple[bytes, bytes]]) -> str | None:
    """The first ``Content-Type`` header, as Connexion reads it."""
    for key, value in headers:
        if key.lower() == b"content-type":
            return value.decode("latin-1")
    return None


def parse_body(body: Body, given: str | None, raw: bytes) -> Any:
    """The JSON body, checked as Connexion's request validation checks it."""
    mime, encoding = body.media_types[0], "utf-8"
    if given is not None:
        mime, _, parameters = given.partition(";")
        for parameter in parameters.split(";") if parameters else ():
            if parameter.startswith("charset="):
                encoding = parameter[len("charset=") :]
    lowered = mime.lower()
    if lowered not in body.literal_types and not any(
        fnmatchcase(lowered, m.lower()) for m in body.media_types
    ):
        raise bad_request(f"Invalid Content-type ({mime}), expected {list(body.media_types)}")
    if not raw:
        if body.default is None and body.required:
            raise bad_request("RequestBody is required")
        if body.default is not None:
            raw = json.dumps(body.default).encode(encoding)
    value = _json(raw, encoding)
    if value is None and body.nullable:
        return None
    if value is None:
        raise bad_request("Request body must not be empty")
    error = body.check.refusal(value)
    if error is not None:
        raise bad_request(f"{error.message}{format_error_with_path(error)}")
    return value


def _json(raw: bytes, encoding: str) -> Any:
    if encoding.lower().replace("-", "") == "utf8" and not _LONG_NUMBER.search(raw):
        try:
            return orjson.loads(raw) if raw else None
        except orjson.JSONDecodeError:
            pass  # the stdlib's verdict and message, as Connexion gives them
    try:
        text = raw.decode(encoding)
    except LookupError as exc:
        raise bad_request(f"unknown charset {encoding!r}") from exc
    except UnicodeDecodeError as exc:
        raise bad_request("request body is not valid JSON") from exc
    if not text:
        return None
    try:
        return json.loads(text, parse_constant=_not_json, parse_float=_finite)
    except json.JSONDecodeError as exc:
        raise bad_request(str(exc)) from exc
    except ValueError as exc:  # an integer too long for Python
        raise bad_request(
            f"request body has a number longer than {sys.get_int_max_str_digits()} digits"
        ) from exc


def _not_json(constant: str) -> Any:
    raise bad_request(f"request body is not valid JSON: {constant} is not a JSON number")


def _finite(text: str) -> float:
    number = float(text)
    if not math.isfinite(number):
        raise bad_request(f"request body is not valid JSON: {text} is out of range for a number")
    return number


# -- compiling -----------------------------------------------------------------------------------


def resolve(document: Mapping[str, Any], node: Any) -> Any:
    """``node`` with a top-level local ``$ref`` followed (nested ones are kept)."""
    seen = 0
    while isinstance(node, Mapping) and isinstance(node.get("$ref"), str) and seen < 32:
        found: Any = document
        for part in node["$ref"].lstrip("#/").split("/"):
            found = found[part.replace("~1", "/").replace("~0", "~")]
        node, seen = found, seen + 1
    return node


def _inline(document: Mapping[str, Any], node: Any, depth: int = 0) -> Any:
    """A (small, non-recursive) parameter schema with every ``$ref`` followed."""
    node = resolve(document, node)
    if depth > 16:
        return node
    if isinstance(node, Mapping):
        return {k: _inline(document, v, depth + 1) for k, v in node.items()}
    if isinstance(node, list):
        return [_inline(document, v, depth + 1) for v in node]
    return node


def _param(
    document: Mapping[str, Any], definition: Mapping[str, Any], takes: Callable[[str], bool]
) -> Param:
    where, name = definition["in"], definition["name"]
    schema = _inline(document, definition.get("schema") or {})
    style = definition.get("style", "form" if where == "query" else "simple")
    key = pythonic(name.replace("-", "_") if where == "path" else name)
    return Param(
        name=name,
        where=where,
        key=key if where == "path" or takes(key) else "",
        schema=schema,
        check=Schema(schema, None, request_body=False),
        required=bool(definition.get("required")),
        nullable=bool(schema.get("nullable") or definition.get("x-nullable")),
        explode=bool(definition.get("explode", style == "form")),
        delimiter={"spaceDelimited": " ", "pipeDelimited": "|"}.get(style, ","),
        plain=_plain_string(schema, definition),
    )


#: Schema keywords that describe a value without constraining it.
_ANNOTATIONS = frozenset({"type", "description", "title", "example", "examples", "deprecated"})


def _plain_string(schema: Mapping[str, Any], definition: Mapping[str, Any]) -> bool:
    return (
        schema.get("type") == "string"
        and set(schema) <= _ANNOTATIONS
        and not definition.get("x-nullable")
    )


def compile_operation(
    document: Mapping[str, Any],
    template: str,
    method: str,
    handler: Handler,
    takes: Callable[[str], bool],
) -> Operation:
    """The description of ``method template`` in ``document`` (the authored spec) served by
    ``handler``, which takes the keywords ``takes`` says yes to."""
    item = document["paths"][template]
    spec = item[method]
    definitions: dict[tuple[str, str], Mapping[str, Any]] = {}
    # An operation's own definition of a parameter wins over its path item's (OpenAPI).
    for raw in [*spec.get("parameters", []), *item.get("parameters", [])]:
        definition = resolve(document, raw)
        definitions.setdefault((definition["in"], definition["name"]), definition)
    params = [_param(document, d, takes) for d in definitions.values()]
    query = tuple(p for p in params if p.where == "query")
    defaults = []
    for param in query:
        definition = definitions[("query", param.name)]
        if param.key and ("default" in definition or "default" in param.schema):
            default = definition.get("default", param.schema.get("default"))
            defaults.append((param, param.argument(copy.deepcopy(default))))
    body = None
    request_body = resolve(document, spec.get("requestBody"))
    if request_body:
        content = request_body.get("content") or {}
        media_types = tuple(content)
        schema = resolve(document, (content.get("application/json") or {}).get("schema")) or {}
        name = pythonic(spec.get("x-body-name") or request_body.get("x-body-name") or "body")
        body = Body(
            media_types=media_types,
            check=Schema(schema, document.get("components"), request_body=True),
            required=bool(request_body.get("required")),
            nullable=bool(schema.get("nullable") or schema.get("x-nullable")),
            key=name if takes(name) else None,
            default=schema.get("default"),
        )
    return Operation(
        operation_id=str(spec.get("operationId")),
        handler=handler,
        query=query,
        path=tuple(p for p in params if p.where == "path"),
        body=body,
        defaults=tuple(defaults),
    )
