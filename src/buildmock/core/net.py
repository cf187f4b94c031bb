"""Host classification shared by callbacks and contract safety: pure, nothing is resolved."""

from __future__ import annotations

import ipaddress


def normalise_host(host: str) -> str:
    """A host as compared here: trimmed, without brackets or a trailing dot, lowercase."""
    return host.strip().strip("[]").rstrip(".").lower()


def is_loopback_host(host: str) -> bool:
    """Whether ``host`` names this machine: ``localhost``, ``*.localhost``, 127.0.0.0/8 or ``::1``.

    A pure function of the name: nothing is resolved, so a name that merely resolves to 127.0.0.1 is
    treated as remote (the safe side).
    """
    name = normalise_host(host)
    if name == "localhost" or name.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False
