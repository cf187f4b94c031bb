"""The one request path: every operation of every mounted spec (the vendors' and the control API)
is routed, authenticated, validated and handled here, in the order Connexion's stack would:
route (404, 405 with ``Allow``), the vendor's auth check, parameters, content type, body, then the
handler; any error is answered in the vendor's shape.

``tests/server/test_request_path.py`` replays Schemathesis-generated traffic (and transport-level
oddities) through this app and through a Connexion-only reference, and requires the same answers.
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import Callable, Mapping
from typing import Any, NamedTuple
from urllib.parse import parse_qsl

import orjson
import yaml
from starlette.datastructures import URL
from starlette.formparsers import MultiPartException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from buildmock.core.errors import ApiError
from buildmock.core.headers import HeaderView
from buildmock.core.openapi import METHODS
from buildmock.server.limits import replay
from buildmock.server.operation import (
    Handler,
    Operation,
    compile_operation,
    content_type,
    parse_body,
)
from buildmock.server.operation import (
    resolve as resolve_ref,
)
from buildmock.server.router import Match, Router
from buildmock.store.memory import MemoryStore
from buildmock.vendors.base import REQUEST_SCOPE, Headers, Lasting, Runtime

log = logging.getLogger("buildmock")

Resolve = Callable[[str], Handler]
Render = Callable[[str, Exception], Response]


class _Slot:
    """An operation compiled on its first request: start-up stays fast and operations nobody
    calls cost nothing."""

    __slots__ = ("_make", "_operation")

    def __init__(self, make: Callable[[], Operation]) -> None:
        self._make: Callable[[], Operation] | None = make
        self._operation: Operation | None = None

    def get(self) -> Operation:
        """The compiled operation (compiling it now if this is its first request)."""
        if self._operation is None:
            assert self._make is not None
            self._operation, self._make = self._make(), None
        return self._operation


def _takes(handler: Handler) -> Callable[[str], bool]:
    parameters = inspect.signature(handler).parameters.values()
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters):
        return lambda key: True
    names = {p.name for p in parameters}
    return lambda key: key in names


def _compiler(
    document: Mapping[str, Any], template: str, method: str, resolve: Resolve
) -> Callable[[], Operation]:
    def make() -> Operation:
        handler = resolve(str(document["paths"][template][method]["operationId"]))
        return compile_operation(document, template, method, handler, _takes(handler))

    return make


def build_router(document: Mapping[str, Any], resolve: Resolve) -> Router[_Slot]:
    """The route table of one spec, its handlers found by ``resolve(operationId)``."""
    router: Router[_Slot] = Router()
    for template, item in (document.get("paths") or {}).items():
        methods = {
            method.upper(): _Slot(_compiler(document, template, method, resolve))
            for method in item
            if method in METHODS
        }
        definitions = [
            resolve_ref(document, p)
            for raw in (item, *(item[m.lower()] for m in methods))
            for p in raw.get("parameters", [])
        ]
        types = {
            str(p.get("name")): "path"
            if (p.get("schema") or {}).get("format") == "path"
            else str((p.get("schema") or {}).get("type"))
            for p in reversed(definitions)
            if p.get("in") == "path"
        }
        router.add(template, methods, types)
    return router


#: GET answers the memo keeps at most (the oldest go first).
MEMO_SIZE = 1024


class _Kept(NamedTuple):
    """A memoized GET answer and what it holds for: its vendor's store at a version."""

    response: Lasting
    runtime: Runtime
    store: MemoryStore
    version: int
    reads: tuple[tuple[str, str], ...]


class RequestPath:
    """ASGI app serving every operation under ``/<prefix>`` of each mounted spec."""

    def __init__(
        self,
        routers: Mapping[str, Router[_Slot]],
        checks: Mapping[str, Callable[[Headers], None]],
        render: Render,
        documents: Mapping[str, Mapping[str, Any]],
        runtimes: Mapping[str, Runtime] | None = None,
    ) -> None:
        self._routers = dict(routers)
        #: The vendors whose GET answers may be memoized (their stores are in this process).
        self._runtimes = dict(runtimes or {})
        #: GET answers by ``(path, query, headers)``, with what they stay valid for.
        self._memo: dict[tuple[str, bytes, tuple[Any, ...]], _Kept] = {}
        #: How many answers the memo keeps (0: none).
        self.memo_size = MEMO_SIZE
        self._checks = dict(checks)
        self._render = render
        #: ``/<prefix>/openapi.json`` and ``.yaml``: each spec as authored, made on first request.
        self._documents = dict(documents)
        self._served: dict[tuple[str, str], tuple[bytes, str]] = {}
        #: The Swagger UI app (made on first use), for paths with ``/ui`` in them.
        self.ui: Callable[[], ASGIApp] | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Answer one request (or the server's lifespan events)."""
        if scope["type"] == "lifespan":
            await _lifespan(receive, send)
            return
        if scope["type"] != "http":
            return
        if self.ui is not None and "/ui" in scope["path"]:
            await self.ui()(scope, receive, send)
            return
        await self.serve(scope, receive, send)

    async def serve(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Answer one HTTP request (any path but the Swagger UI's)."""
        await send_response(await self.answer(scope, receive), scope, receive, send)

    async def answer(self, scope: Scope, receive: Receive) -> Response:
        """The answer to one HTTP request (any path but the Swagger UI's), not sent yet.

        A GET whose answer was :class:`Lasting` gets that answer again (at the time asked) while it
        still holds: the same path, query and headers (so the same route, auth verdict and
        parameters), its vendor's store unwritten since, and the clock within the answer's span.
        The records the handler read are touched again, as its reads did (the store's recency
        decides evictions).
        """
        if scope["method"] != "GET" or not self._runtimes:
            return await self._answer(scope, receive)
        try:
            key = (scope["path"], scope["query_string"], tuple(scope["headers"]))
            kept = self._memo.get(key)
        except TypeError:  # a server whose header list holds lists: nothing to key on
            return await self._answer(scope, receive)
        if kept is not None:
            runtime, store, response = kept.runtime, kept.store, kept.response
            if runtime.store is store and store.version == kept.version:
                now = runtime.now()
                if response.low <= now < response.high:
                    store.touch(kept.reads)
                    return response.at(now)
        return await self._memoized(key, scope, receive)

    async def _memoized(
        self, key: tuple[str, bytes, tuple[Any, ...]], scope: Scope, receive: Receive
    ) -> Response:
        """The answer to a GET, kept in the memo when it is :class:`Lasting` and its handler wrote
        nothing."""
        runtime = self._runtimes.get(scope["path"][1:].partition("/")[0])
        store = None if runtime is None else runtime.store
        if runtime is None or type(store) is not MemoryStore:
            return await self._answer(scope, receive)
        version = store.version
        reads: list[tuple[str, str]] = []
        store.reads = reads
        try:
            response = await self._answer(scope, receive)
        finally:
            ours = store.reads is reads
            if ours:
                store.reads = None
        unwritten = runtime.store is store and store.version == version
        if ours and unwritten and isinstance(response, Lasting):
            memo = self._memo
            memo.pop(key, None)
            memo[key] = _Kept(response, runtime, store, version, tuple(reads))
            if len(memo) > self.memo_size:
                del memo[next(iter(memo))]
        return response

    async def _answer(self, scope: Scope, receive: Receive) -> Response:
        """The answer to one HTTP request, from its operation's handler (or an error)."""
        path: str = scope["path"]
        try:
            prefix, _, rest = path[1:].partition("/")
            router = self._routers.get(prefix)
            if router is None or "\n" in rest or (rest in _DOCUMENTS and prefix in self._documents):
                return self._aside(prefix, router, rest, scope)
            method: str = scope["method"]
            rest = "/" + rest
            found = router.match(method, rest)
            if found.target is None:
                return _unmatched(router, found, method, rest, scope)
            operation = found.target.get()
            check = self._checks.get(prefix)
            if check is not None:
                check(HeaderView(scope["headers"]))
            kwargs = operation.validate_parameters(_query(scope["query_string"]), found.params)
            given = content_type(scope["headers"])
            raw = None
            if operation.body is not None:
                raw = await _read_body(receive)
                body = parse_body(operation.body, given, raw)
                if operation.body.key is not None:
                    kwargs[operation.body.key] = body
            if given is not None and given.partition(";")[0].strip().lower() in _FORMS:
                # Connexion reads a form body on every operation (a multipart type without a
                # boundary is its 400), whether or not the operation takes one.
                await _read_form(scope, raw if raw is not None else await _read_body(receive))
            token = REQUEST_SCOPE.set(scope)
            try:
                response = await operation.handler(**kwargs)
            finally:
                REQUEST_SCOPE.reset(token)
            if not isinstance(response, Response):
                raise TypeError(f"{operation.operation_id} returned {type(response).__name__}")
            return response
        except Exception as exc:
            return self._render(path, exc)

    def _aside(
        self, prefix: str, router: Router[_Slot] | None, rest: str, scope: Scope
    ) -> Response:
        """The answer to a path no operation serves: an unknown prefix, a newline, a spec."""
        if router is None:
            raise ApiError(404, "not found")
        if "\n" in rest:
            # Connexion mounts each spec with Starlette, whose mount pattern (``.*$``) stops
            # at a newline: such a path reaches no operation, except that one whose only
            # newline comes just before a trailing slash is redirected to the path without
            # that slash (which the mount pattern matches).
            if rest.endswith("\n/") and "\n" not in rest[:-2]:
                return _toggled_slash(scope)
            raise ApiError(404, "not found")
        return self._document(prefix, rest, scope)

    def _document(self, prefix: str, name: str, scope: Scope) -> Response:
        if scope["method"] not in ("GET", "HEAD"):
            raise ApiError(405, "method not allowed", headers={"Allow": "GET"})
        key = (prefix, name)
        served = self._served.get(key)
        if served is None:
            document = {**self._documents[prefix], "servers": [{"url": f"/{prefix}"}]}
            if name == "openapi.json":
                served = (orjson.dumps(document), "application/json")
            else:
                dumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)
                text = yaml.dump(document, Dumper=dumper, sort_keys=False, allow_unicode=True)
                served = (text.encode(), "text/yaml")
            self._served[key] = served
        return Response(served[0], media_type=served[1])


async def send_response(response: Response, scope: Scope, receive: Receive, send: Send) -> None:
    """Send ``response``: a plain ``Response``'s two messages directly (what its ``__call__``
    sends, one frame less), any other kind through its own ``__call__``."""
    if type(response).__call__ is _PLAIN_CALL and response.background is None:
        await send(
            {"type": "http.response.start", "status": response.status_code,
             "headers": response.raw_headers}
        )  # fmt: skip
        await send({"type": "http.response.body", "body": response.body})
    else:
        await response(scope, receive, send)


#: A response whose ``__call__`` is this one sends its two messages and nothing else.
_PLAIN_CALL = Response.__call__


def _unmatched(
    router: Router[_Slot], found: Match[_Slot], method: str, rest: str, scope: Scope
) -> Response:
    """Starlette's redirect to the path with its trailing slash toggled, else the 404 or 405."""
    if found.status == 404 and rest != "/" and "//" not in rest:
        redirect = _slash_redirect(router, method, rest, scope)
        if redirect is not None:
            return redirect
    if found.status == 405:
        raise ApiError(405, "method not allowed", headers={"Allow": ", ".join(found.allow)})
    raise ApiError(404, "not found")


def _slash_redirect(router: Router[_Slot], method: str, rest: str, scope: Scope) -> Response | None:
    """Starlette's answer to a path no route matches but would with its trailing slash toggled:
    a 307 to that path (Connexion routes with Starlette, so the reference does this)."""
    other = rest[:-1] if rest.endswith("/") else rest + "/"
    if router.match(method, other).status == 404:
        return None
    return _toggled_slash(scope)


def _toggled_slash(scope: Scope) -> Response:
    """Starlette's 307 to the request's path with its trailing slash toggled."""
    path: str = scope["path"]
    url = URL(scope={**scope, "path": path[:-1] if path.endswith("/") else path + "/"})
    return RedirectResponse(url=str(url))


_DOCUMENTS = ("openapi.json", "openapi.yaml")
_FORMS = ("multipart/form-data", "application/x-www-form-urlencoded")


async def _read_form(scope: Scope, raw: bytes) -> None:
    """Parse a form body as Starlette does; its refusal is a 400 with Starlette's message."""
    request = Request({**scope, "app": None}, replay(raw, _disconnected))
    request.scope.pop("app")
    try:
        form = await request.form()
    except MultiPartException as exc:
        raise ApiError(400, exc.message) from exc
    await form.close()


async def _disconnected() -> Message:
    return {"type": "http.disconnect"}


def _query(query_string: bytes) -> dict[str, list[str]]:
    """The query as Starlette parses it: every value of every name, blanks kept."""
    found: dict[str, list[str]] = {}
    if not query_string:
        return found
    text = query_string.decode("latin-1")
    if "%" in text or "+" in text:
        pairs = parse_qsl(text, keep_blank_values=True)
    else:  # nothing to unquote: what parse_qsl would give, split by hand
        pairs = [part.partition("=")[::2] for part in text.split("&") if part]
    for name, value in pairs:
        found.setdefault(name, []).append(value)
    return found


async def _read_body(receive: Receive) -> bytes:
    chunks = []
    while True:
        message = await receive()
        if message["type"] != "http.request":
            raise ApiError(400, "the client went away before sending the whole body")
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            return chunks[0] if len(chunks) == 1 else b"".join(chunks)


async def _lifespan(receive: Receive, send: Send) -> None:
    while True:
        message: Message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return
