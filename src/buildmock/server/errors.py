"""Every error the server can raise, answered in the vendor's own shape."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping

from starlette.responses import Response

from buildmock.core.errors import ApiError

log = logging.getLogger("buildmock")


def to_api_error(exc: Exception) -> ApiError:
    """Translate any exception into the :class:`ApiError` a vendor will render (a 500, logged,
    for anything but an :class:`ApiError`)."""
    if isinstance(exc, ApiError):
        return exc
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


def make_renderer(
    renderers: Mapping[str, Callable[[ApiError], Response]],
) -> Callable[[str, Exception], Response]:
    """``render(path, exc)``: the response for ``exc`` raised while serving ``path``.

    The renderer is picked by the path's first segment (the vendor's prefix).
    """

    def render(path: str, exc: Exception) -> Response:
        error = to_api_error(exc)
        prefix = path.lstrip("/").split("/", 1)[0]
        response = renderers.get(prefix, fallback_render)(error)
        replaced = {k.lower() for k in error.headers} | {"content-length", "content-type"}
        headers = {k: v for k, v in response.headers.items() if k.lower() not in replaced}
        headers.update(error.headers)
        return Response(
            content=response.body,
            status_code=response.status_code,
            media_type=response.media_type,
            headers=headers,
        )

    return render
