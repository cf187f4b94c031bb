"""buildmock: stateful, deterministic mocks of CI vendors' build APIs."""

from __future__ import annotations

import warnings

# Connexion imports Starlette's TestClient at import time, which warns about httpx on every start.
warnings.filterwarnings("ignore", message=".*starlette.testclient.*")

__version__ = "0.1.0"
