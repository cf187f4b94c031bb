"""Credentials the bundled mock accepts, per vendor: a small table, else read off the spec's security."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

#: Default token pinned on an in-process mock (``Settings(token=...)``) for a contract run.
MOCK_TOKEN = "buildmock-contract-token"

#: The org a contract run acts as on the Nuon mock.
MOCK_NUON_ORG = "orgbuildmockcontract000000"

#: Vendors whose mock credentials are not plain bearer / API-key headers: name -> token -> headers.
MOCK_HEADERS: dict[str, Callable[[str], dict[str, str]]] = {
    "stainless": lambda token: {"Authorization": f"Bearer {token}"},
    # Nuon: a bearer token and a well-formed org id (an ill-formed one is a 403).
    "nuon": lambda token: {"Authorization": f"Bearer {token}", "X-Nuon-Org-ID": MOCK_NUON_ORG},
    # Cocktail: the gateway's numeric user and workspace ids and a role; there is no token.
    "cocktail": lambda token: {"user-id": "1", "user-role": "ADMIN", "user-workspace": "1"},
}


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
    if api in MOCK_HEADERS:
        return MOCK_HEADERS[api](token)
    return headers_from_spec(spec, token)
