"""Every error the server can raise, answered in the vendor's own shape."""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable, Mapping
from typing import Any

from connexion.exceptions import ProblemException
from connexion.lifecycle import ConnexionRequest, ConnexionResponse
from starlette.exceptions import HTTPException
from starlette.responses import Response

from buildmock.core.errors import ApiError
from buildmock.core.openapi import METHODS

log = logging.getLogger("buildmock")

# Connexion statuses that the vendors answer with a plain 400 (wrong content type, bad accept…).
_AS_BAD_REQUEST = {406, 411, 413, 415, 422}


def _message(exc: ProblemException) -> str:
    detail = str(exc.detail or exc.title or "bad request").strip()
    # jsonschema appends the whole failing schema after a blank line: keep the sentence only.
    return detail.split("\n\n", 1)[0].split("\n", 1)[0].strip()


def to_api_error(exc: Exception) -> ApiError:
    """Translate any exception into the :class:`ApiError` a vendor will render."""
    if isinstance(exc, ApiError):
        return exc
    if isinstance(exc, ProblemException):
        status = 400 if exc.status in _AS_BAD_REQUEST else exc.status
        return ApiError(status, _message(exc), headers=dict(exc.headers or {}))
    if isinstance(exc, UnicodeDecodeError | json.JSONDecodeError):
        # Connexion decodes bodies lazily; undecodable bytes surface here rather than as a 400.
        return ApiError(400, "request body is not valid JSON")
    if isinstance(exc, HTTPException):
        status = exc.status_code
        if status == 404:
            return ApiError(404, "not found")
        if status == 405:
            return ApiError(405, "method not allowed", headers=dict(exc.headers or {}))
        return ApiError(400 if status in _AS_BAD_REQUEST else status, str(exc.detail))
    log.exception("unexpected error", exc_info=exc)
    return ApiError(500, "internal server error")


def fallback_render(error: ApiError) -> Response:
    """The shape used outside any vendor's prefix: ``{"error": "..."}``."""
    import orjson

    return Response(
        orjson.dumps({"error": error.message}),
        error.status,
        headers=error.headers,
        media_type="application/json",
    )


class MethodTable:
    """Which methods each path of the mounted specs allows, for a truthful ``Allow`` header."""

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
        """The documented methods of ``path`` (empty if it is not a documented path)."""
        matches = [
            (methods, literals)
            for pattern, methods, literals in self._routes
            if pattern.match(path)
        ]
        # OpenAPI: a concrete path wins over a templated one that also matches; of templated
        # paths, the one with more concrete segments (``/run/cancel/{id}`` over ``/run/{a}/{b}``).
        most = max((literals for _, literals in matches), default=0)
        chosen = [methods for methods, literals in matches if literals == most]
        found: list[str] = []
        for methods in chosen:
            found.extend(m for m in methods if m not in found)
        return found


def make_renderer(
    renderers: Mapping[str, Callable[[ApiError], Response]],
    methods: MethodTable,
) -> Callable[[str, Exception], Response]:
    """``render(path, exc)``: the response for ``exc`` raised while serving ``path``.

    The renderer is picked by the path's first segment (the vendor's prefix); a 405 gets an
    ``Allow`` header listing the methods the spec documents for the path.
    """

    def render(path: str, exc: Exception) -> Response:
        error = to_api_error(exc)
        if error.status == 405:
            error.headers["Allow"] = ", ".join(methods.allowed(path))
        prefix = path.lstrip("/").split("/", 1)[0]
        response = renderers.get(prefix, fallback_render)(error)
        replaced = {k.lower() for k in error.headers} | {"content-length", "content-type"}
        headers = {k: v for k, v in response.headers.items() if k.lower() not in replaced}
        headers.update(error.headers)
        # Built exactly as Connexion's exception middleware turns a ConnexionResponse into a
        # Starlette one, so both request paths send the same bytes.
        return Response(
            content=response.body,
            status_code=response.status_code,
            media_type=response.media_type,
            headers=headers,
        )

    return render


def make_handler(
    render: Callable[[str, Exception], Response],
) -> Callable[[ConnexionRequest, Exception], ConnexionResponse]:
    """A Connexion error handler answering with ``render`` (see :func:`make_renderer`)."""

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

    return handle
