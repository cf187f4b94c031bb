"""What the bench asks of each vendor: its main build resource's create, GET by id and list.

Every path is relative to the vendor's root (``/<vendor>`` on buildmock); the credentials are the
vendor's own (``Vendor.credentials``, else what its spec's security requires), with the token
``TOKEN``. A create answer names the build the GET reads (``id_of``).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from buildmock.contract.auth import mock_headers

ROOT = Path(__file__).resolve().parents[1]
TOKEN = "sk-bench"
KINDS = ("get", "list", "create")


@dataclass(frozen=True)
class Workload:
    """One vendor's build resource as the bench drives it."""

    vendor: str
    create_path: str
    #: The create's JSON body; ``{n}`` is replaced by a number unique per request (``unique``).
    create_body: str | None
    id_of: Callable[[Any], str]
    get_path: str  # ``{id}`` is the created build's
    list_path: str
    unique: bool = False
    extra_headers: dict[str, str] = field(default_factory=dict)

    @property
    def spec(self) -> Path:
        """The vendor's OpenAPI document."""
        return ROOT / "specs" / f"{self.vendor}.yaml"

    @property
    def headers(self) -> dict[str, str]:
        """The headers every request sends: the vendor's credentials (and a JSON content type)."""
        return {**_credentials(self.vendor), **self.extra_headers}

    def body(self, n: int | str) -> str | None:
        """The create body of the ``n``-th create (``n`` makes it unique)."""
        return None if self.create_body is None else self.create_body.replace("{n}", str(n))


@cache
def _credentials(vendor: str) -> dict[str, str]:
    spec = yaml.safe_load((ROOT / "specs" / f"{vendor}.yaml").read_text())
    return mock_headers(vendor, spec, TOKEN)


NUON_ORG = "orgdf0nnt8u8ob9jefcazcou5q"  # fixtures/nuon.yaml: the org owning the component
NUON_COMPONENT = "cmpwi146p6io410dd3uopq4chl"
ESCAPE_ENV = "/api/v1/state/acme/environments/production/builds/"  # fixtures/escape.yaml

WORKLOADS: dict[str, Workload] = {
    w.vendor: w
    for w in (
        Workload(
            "cocktail",
            create_path="/v1/build/run/1",  # a run of fixture build 1
            create_body=None,
            id_of=lambda answer: str(answer["result"]["buildRunSeq"]),
            get_path="/v1/build/run/{id}",
            list_path="/v1/build/run?buildSeq=1",
        ),
        Workload(
            "escape",
            create_path=ESCAPE_ENV,
            # A second add of the same name is a 409, so every create names a new build.
            create_body='{"name":"bench-{n}","repo":"git@example.com:acme/bench.git"}',
            id_of=lambda answer: str(answer["name"]),
            get_path=ESCAPE_ENV + "by-name/{id}/",
            list_path=ESCAPE_ENV,
            unique=True,
        ),
        Workload(
            "nuon",
            create_path=f"/v1/components/{NUON_COMPONENT}/builds",
            create_body='{"git_ref":"main"}',
            id_of=lambda answer: str(answer["id"]),
            get_path="/v1/components/builds/{id}",
            list_path=f"/v1/builds?component_id={NUON_COMPONENT}",
            extra_headers={"X-Nuon-Org-ID": NUON_ORG},
        ),
        Workload(
            "stainless",
            create_path="/v0/builds",
            create_body='{"project":"bench-create","revision":"main"}',
            id_of=lambda answer: str(answer["id"]),
            get_path="/v0/builds/{id}",
            list_path="/v0/builds?project=bench-create",
        ),
        Workload(
            "vela",
            create_path="/api/v1/repos/github/octocat/builds",
            create_body='{"event":"push","branch":"main","message":"bench"}',
            id_of=lambda answer: str(answer["number"]),
            get_path="/api/v1/repos/github/octocat/builds/{id}",
            list_path="/api/v1/repos/github/octocat/builds",
        ),
    )
}


def id_from(workload: Workload, body: bytes) -> str:
    """The build id a create answered, for the GET workload."""
    return workload.id_of(json.loads(body))
