"""One module per vendor: its registration and its thin handlers, named by the spec's operationIds."""

from __future__ import annotations

import importlib
from pathlib import Path

from buildmock.vendors.base import REGISTRY, Runtime, Vendor

#: Every vendor buildmock knows, in the order they are listed at start-up.
KNOWN = ("nuon", "cocktail", "stainless", "vela", "escape")

__all__ = ["KNOWN", "REGISTRY", "Runtime", "Vendor", "available", "load"]


def load(name: str) -> Vendor:
    """Import ``buildmock.vendors.<name>`` (which registers itself) and return its vendor."""
    if name not in REGISTRY:
        importlib.import_module(f"buildmock.vendors.{name}")
    return REGISTRY[name]


def available(specs: Path) -> list[str]:
    """The known vendors that have both a spec in ``specs`` and a handler module."""
    found = []
    for name in KNOWN:
        if not (specs / f"{name}.yaml").is_file():
            continue
        try:
            load(name)
        except ModuleNotFoundError as exc:
            if exc.name != f"buildmock.vendors.{name}":
                raise
            continue
        found.append(name)
    return found
