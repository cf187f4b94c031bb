"""Allow ``python -m buildmock``."""

from __future__ import annotations

from buildmock.cli.main import main

if __name__ == "__main__":
    raise SystemExit(main())
