"""One module per vendor: its registration and its thin handlers, named by the spec's operationIds.

Vendors are discovered, not listed: a vendor is a module here plus ``<name>.yaml`` in the specs.
"""

from __future__ import annotations

import importlib
import pkgutil
from pathlib import Path

from buildmock.settings import VendorOption
from buildmock.vendors.base import REGISTRY, Runtime, Vendor

__all__ = ["REGISTRY", "Runtime", "Vendor", "available", "find", "load", "modules", "options"]


def modules() -> list[str]:
    """Names of the vendor modules in this package (every module but ``base``), sorted."""
    return sorted(info.name for info in pkgutil.iter_modules(__path__) if info.name != "base")


def load(name: str) -> Vendor:
    """Import ``buildmock.vendors.<name>`` (which registers itself) and return its vendor."""
    if name not in REGISTRY:
        importlib.import_module(f"buildmock.vendors.{name}")
    return REGISTRY[name]


def find(name: str) -> Vendor | None:
    """The vendor called ``name``, or None when no vendor module has that name."""
    return load(name) if name in modules() else None


def available(specs: Path) -> list[str]:
    """The vendors that have both a spec in ``specs`` and a module here, in name order."""
    found = [name for name in modules() if (specs / f"{name}.yaml").is_file()]
    for name in found:
        load(name)
    return found


def options() -> list[VendorOption]:
    """Every vendor's own options, in vendor order."""
    return [option for name in modules() for option in load(name).options]
