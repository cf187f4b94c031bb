"""What an OpenAPI 3.0 document's path items hold: pure reads of a parsed spec."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

#: The HTTP methods an OpenAPI path item may hold operations for, lower case as in the document.
METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")


def operations(spec: Mapping[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    """``(path template, method, operation)`` for every operation of ``spec``, in document order."""
    for template, item in (spec.get("paths") or {}).items():
        if not isinstance(item, Mapping):
            continue
        for method, operation in item.items():
            if method in METHODS and isinstance(operation, dict):
                yield template, method, operation
