"""Host classification shared by callbacks and contract safety: pure, nothing is resolved."""

from __future__ import annotations

import ipaddress
import re

#: One label of a host name: letters, digits, ``-`` (not at either end) and ``_`` (container names).
_LABEL = re.compile(r"^(?!-)[a-z0-9_-]{1,63}(?<!-)$")


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


def host_entry_problem(entry: str) -> str | None:
    """Why ``entry`` is not a host name, an IP address or a CIDR network (an allow-list entry), or None."""
    name = normalise_host(entry)
    try:
        if "/" in name:
            ipaddress.ip_network(name, strict=False)
        else:
            ipaddress.ip_address(name)
        return None
    except ValueError:
        pass
    labels = name.split(".")
    named = "/" not in name and len(name) <= 253 and all(_LABEL.match(label) for label in labels)
    if named and not labels[-1].isdigit():  # 10.0.0 is a typo, not a name
        return None
    return "is not a host name, an IP address or a CIDR network (e.g. hooks.internal, 10.1.2.3, 10.0.0.0/8)"
