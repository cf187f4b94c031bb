"""buildmock: stateful, deterministic mocks of CI vendors' build APIs."""

from __future__ import annotations

__version__ = "0.1.0"
