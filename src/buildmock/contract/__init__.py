"""Contract and fuzz runs: Schemathesis against the bundled mock or a real deployment."""
