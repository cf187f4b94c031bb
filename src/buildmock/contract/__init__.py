"""Contract and fuzz runs: Schemathesis against the bundled mock or a real deployment."""

from __future__ import annotations

#: Schemathesis's test phases, all of which a run uses unless told otherwise. Defined here, not
#: in ``engine``, so the command line can offer them without importing Schemathesis.
ALL_PHASES = ("examples", "coverage", "fuzzing", "stateful")
