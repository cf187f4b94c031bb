"""Credentials the bundled mock accepts: the vendor's own (``Vendor.credentials``), else the spec's security."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from buildmock import vendors

#: Default token pinned on an in-process mock (``Settings(token=...)``) for a contract run.
MOCK_TOKEN = "buildmock-contract-token"


def headers_from_spec(spec: Mapping[str, Any], token: str) -> dict[str, str]:
    """Headers satisfying the spec's first security requirement, each credential being ``token``."""
    schemes = (spec.get("components") or {}).get("securitySchemes") or {}
    requirements = spec.get("security") or [{}]
    headers: dict[str, str] = {}
    for name in requirements[0] if requirements else {}:
        scheme = schemes.get(name) or {}
        if scheme.get("type") == "http" and str(scheme.get("scheme", "")).lower() == "bearer":
            headers["Authorization"] = f"Bearer {token}"
        elif scheme.get("type") == "apiKey" and scheme.get("in") == "header" and scheme.get("name"):
            headers[str(scheme["name"])] = token
    return headers


def mock_headers(api: str, spec: Mapping[str, Any], token: str = MOCK_TOKEN) -> dict[str, str]:
    """What a contract run sends to ``api``'s in-process mock (pinned to ``token``) unless told otherwise."""
    vendor = vendors.find(api)
    if vendor is not None and vendor.credentials is not None:
        return vendor.credentials(token)
    return headers_from_spec(spec, token)
