"""The HTTP layer: the app factory, middleware, error rendering and the control API."""

from __future__ import annotations

from buildmock.server.app import BuildMockApp, create_app

__all__ = ["BuildMockApp", "create_app"]
