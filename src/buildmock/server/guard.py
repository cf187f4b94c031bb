"""The control API's guard: a credential when one is configured, and no cross-site requests.

Decided by the one dispatch in front of the request path (``layers.py``) for everything under
``/__buildmock``. A browser page on another site can send
a "simple" cross-site request (``POST`` with ``Content-Type: text/plain``, no preflight) to any local
port; refusing every state-changing control request that is not ``application/json`` makes the
browser preflight it, and a request whose ``Origin`` is not the mock's own is refused outright.
``GET /__buildmock/health`` stays open (liveness probes carry no credentials).
"""

from __future__ import annotations

from urllib.parse import urlsplit

from starlette.datastructures import Headers
from starlette.types import Scope

from buildmock.core.errors import ApiError
from buildmock.vendors.base import same_token

CONTROL_PREFIX = "/__buildmock"
#: Header carrying the control credential (``Authorization: Bearer`` works too).
TOKEN_HEADER = "x-buildmock-token"
_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
#: Open without the token: liveness, and the control API's own spec (documentation, like the vendors').
_OPEN = frozenset({f"{CONTROL_PREFIX}/health", f"{CONTROL_PREFIX}/openapi.json"})
#: The dashboard's files hold no data: the page asks for the token and sends it with every call.
_DASHBOARD = f"{CONTROL_PREFIX}/dashboard"


def media_type(value: str) -> str:
    """The bare media type of a ``Content-Type`` value, lowercase (``Application/JSON; x`` ->
    ``application/json``)."""
    return value.split(";", 1)[0].strip().lower()


def is_json_media_type(value: str) -> bool:
    """Whether a ``Content-Type`` value is JSON (``application/json`` or ``…+json``)."""
    kind = media_type(value)
    return kind == "application/json" or (
        kind.startswith("application/") and kind.endswith("+json")
    )


def _presented(headers: Headers) -> str | None:
    explicit = headers.get(TOKEN_HEADER)
    if explicit is not None:
        return explicit.strip()
    scheme, _, token = headers.get("authorization", "").partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


def _same_origin(origin: str, host: str | None) -> bool:
    try:
        parts = urlsplit(origin)
    except ValueError:
        return False
    return (
        host is not None
        and parts.scheme in ("http", "https")
        and parts.netloc.lower() == host.lower()
    )


def refusal(scope: Scope, credential: str | None) -> ApiError | None:
    """Why a control request is refused (401, 403, 415), or None to let it through."""
    path: str = scope["path"]
    method: str = scope["method"]
    headers = Headers(scope=scope)
    origin = headers.get("origin")
    cross_site = headers.get("sec-fetch-site") == "cross-site"
    if cross_site or (origin is not None and not _same_origin(origin, headers.get("host"))):
        return ApiError(403, "cross-origin requests to the control API are refused")
    if method in _SAFE_METHODS and (path in _OPEN or path.startswith(_DASHBOARD)):
        return None
    if credential is not None and not same_token(_presented(headers) or "", credential):
        return ApiError(
            401,
            "the control API needs the control token (X-Buildmock-Token or Authorization: Bearer)",
            headers={"WWW-Authenticate": "Bearer"},
        )
    # Of the methods that change state, only POST can be sent cross-site without a preflight (a
    # "simple" request, with a form's content type); a body that is not JSON makes the browser
    # preflight it. A POST without any body carries the Origin checked above. Other methods are
    # left to routing (405 for one the spec does not list).
    kind = headers.get("content-type")
    if method == "POST" and kind is not None and not is_json_media_type(kind):
        return ApiError(415, "control requests that change state must be sent as application/json")
    return None


def is_control(path: str) -> bool:
    """Whether ``path`` is the control API's (everything under ``/__buildmock``)."""
    return path == CONTROL_PREFIX or path.startswith(CONTROL_PREFIX + "/")
