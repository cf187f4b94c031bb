"""The one exception handlers raise; each vendor renders it in its own error shape."""

from __future__ import annotations

from typing import Any


class ApiError(Exception):
    """An error answer: an HTTP status, a message and optional vendor-specific extras."""

    def __init__(
        self, status: int, message: str, *, headers: dict[str, str] | None = None, **extra: Any
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = headers or {}
        self.extra = extra

    def __repr__(self) -> str:
        return f"ApiError({self.status}, {self.message!r})"


def bad_request(message: str, **extra: Any) -> ApiError:
    """400: the request does not fit the API."""
    return ApiError(400, message, **extra)


def not_found(message: str = "not found", **extra: Any) -> ApiError:
    """404: no such resource."""
    return ApiError(404, message, **extra)


def conflict(message: str, **extra: Any) -> ApiError:
    """409: the resource is in a state that refuses the action."""
    return ApiError(409, message, **extra)
