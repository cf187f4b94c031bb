"""What the shared, vendor-parametrized tests need to know about a vendor."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from starlette.testclient import TestClient

Json = Any


@dataclass(frozen=True)
class VendorCase:
    """How to create, read, list and judge one vendor's builds through its own API."""

    name: str
    #: Headers a valid caller sends (with the test token ``TOKEN``).
    headers: dict[str, str]
    #: Headers with the credentials left out (what an anonymous caller sends).
    anonymous: dict[str, str]
    #: Create a build; ``prefer`` is a ``Prefer: outcome=`` value or None. Returns the response.
    create: Callable[[TestClient, dict[str, str], str | None], Any]
    #: Status code of a successful create.
    create_status: int
    #: Path that reads back the created build, from the create response's JSON.
    get_path: Callable[[Json], str]
    #: Path that lists builds including the created one.
    list_path: Callable[[Json], str]
    #: The list of items in a list response.
    list_items: Callable[[Json], list[Json]]
    #: The identity of a build (compared across create, get and list).
    identity: Callable[[Json], Any]
    #: The status of a build as shown by the vendor.
    status: Callable[[Json], str]
    #: Statuses a build ends in when it succeeds / when it was forced to fail.
    success: str
    failure: str
    #: The ``Prefer: outcome=`` value that forces a failure.
    failure_outcome: str
    #: A path under the vendor whose id is well-formed but unknown (GET answers 404).
    unknown_path: str
    #: A (method, path) documented to take a JSON body, for body error tests (None: the API has none).
    json_endpoint: tuple[str, str] | None
    #: (method, path) of a documented path with a method the spec does not list.
    wrong_method: tuple[str, str]
    #: Checks a response body is in the vendor's error shape.
    is_error: Callable[[Any], bool]
    #: Seconds of manual clock after which any build has finished.
    settle: float = 600.0
    #: Headers to hand Schemathesis (valid credentials).
    contract_headers: dict[str, str] = field(default_factory=dict)
    #: Record kind counted by the control API's state for builds.
    kind: str = "build"


TOKEN = "test-token"
