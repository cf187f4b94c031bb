"""Synchronous store calls over an asyncio client, without blocking the event loop.

The ``Store`` protocol is synchronous: vendor handlers are plain code that reads and writes records
between two points of a request. An asyncio backend (Redis) still must not block the loop. So a
request that uses such a backend runs its handler in a greenlet (:func:`bridged`): when the handler
calls the store, the store hands its coroutine to :func:`wait`, which switches back to the event
loop's side, awaits it there, and switches into the handler again with the result. Handlers and
domain code stay as they are; only the backend knows it is asynchronous.
"""

from __future__ import annotations

import contextvars
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any, TypeVar

import greenlet

T = TypeVar("T")


class _Request(greenlet.greenlet):
    """The greenlet a bridged call runs in (its parent is the event loop's side)."""


def bridging() -> bool:
    """Whether the caller runs inside :func:`bridged` (so :func:`wait` can be used)."""
    return isinstance(greenlet.getcurrent(), _Request)


def wait(awaitable: Awaitable[T]) -> T:
    """Await ``awaitable`` from synchronous code running inside :func:`bridged`."""
    current = greenlet.getcurrent()
    if not isinstance(current, _Request):
        raise RuntimeError("an asynchronous store was called outside a bridged request")
    parent = current.parent
    assert parent is not None
    return parent.switch(awaitable)


async def bridged(function: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """Run ``function(*args, **kwargs)`` so that the store calls it makes are awaited here."""
    request = _Request(function, greenlet.getcurrent())
    # A new greenlet starts with an empty context: the handler must see the request's (its scope).
    request.gr_context = contextvars.copy_context()
    result: Any = request.switch(*args, **kwargs)
    while not request.dead:
        try:
            value = await result
        except BaseException as exc:
            result = request.throw(exc)
        else:
            result = request.switch(value)
    return result


def run_coroutine(coroutine: Coroutine[Any, Any, T]) -> T:
    """Run a coroutine that never suspends (an ``async def`` handler) to its result, here and now."""
    try:
        coroutine.send(None)
    except StopIteration as stop:
        return stop.value
    coroutine.close()
    raise RuntimeError("a bridged handler awaited something other than the store")
