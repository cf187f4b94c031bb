"""One module per vendor describing how the shared tests drive it; collected here."""

from __future__ import annotations

import importlib
import pkgutil

from tests.cases.base import VendorCase

CASES: dict[str, VendorCase] = {}
for info in pkgutil.iter_modules(__path__):
    if info.name != "base":
        module = importlib.import_module(f"{__name__}.{info.name}")
        CASES[module.CASE.name] = module.CASE

__all__ = ["CASES", "VendorCase"]
