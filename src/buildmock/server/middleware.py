"""ASGI middleware of buildmock's own: vendor auth in place of Connexion's security."""

from __future__ import annotations

from collections.abc import Callable, Mapping

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
