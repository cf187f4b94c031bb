"""The ASGI layers in front of the request path, outermost first.

access log (``--access-log``) -> CORS -> limits -> control guard -> the app (the request path).
Each is its own module and takes the app it wraps, so another layer slots in by adding one line here.
"""

from __future__ import annotations

from collections.abc import Callable

from starlette.responses import Response
from starlette.types import ASGIApp

from buildmock.server.accesslog import AccessLog
from buildmock.server.cors import CorsLayer
from buildmock.server.guard import ControlGuard
from buildmock.server.limits import Limits, LimitsLayer
from buildmock.settings import Settings


def limits_of(settings: Settings) -> Limits:
    """The input limits ``settings`` asks for."""
    return Limits(
        max_body_bytes=settings.max_body_bytes,
        max_json_depth=settings.max_json_depth,
        max_header_bytes=settings.max_header_bytes,
        max_headers=settings.max_headers,
    )


def wrap(app: ASGIApp, settings: Settings, render: Callable[[str, Exception], Response]) -> ASGIApp:
    """``app`` behind every layer ``settings`` enables."""
    app = ControlGuard(app, settings.control_credential, render)
    app = LimitsLayer(app, limits_of(settings), render)
    if settings.cors_origins:
        app = CorsLayer(app, settings.cors_origins)
    if settings.access_log:
        app = AccessLog(app)
    return app
