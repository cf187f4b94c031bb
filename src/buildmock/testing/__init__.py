"""buildmock inside a test suite: the pytest plugin's fixtures, a running mock, contract tests per operation.

The plugin (``buildmock.testing.plugin``) is registered through the ``pytest11`` entry point, so
installing buildmock is all it takes; :func:`contract_tests` is imported from here.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from buildmock.testing.config import MockConfig
    from buildmock.testing.contract import ContractDrift, contract_tests
    from buildmock.testing.server import MockServer

__all__ = ["ContractDrift", "MockConfig", "MockServer", "contract_tests"]

_HOMES = {
    "MockConfig": "buildmock.testing.config",
    "ContractDrift": "buildmock.testing.contract",
    "contract_tests": "buildmock.testing.contract",
    "MockServer": "buildmock.testing.server",
}


def __getattr__(name: str) -> Any:
    """Import on first use, so loading the plugin into every pytest run stays cheap."""
    if name not in _HOMES:
        raise AttributeError(f"module 'buildmock.testing' has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(_HOMES[name]), name)
