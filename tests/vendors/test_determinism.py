"""The same seed and the same requests give the same bytes: a recorded digest of each vendor's answers.

A seeded mock on the manual clock is fed a fixed script (creates with and without a forced outcome,
the vendor's other creating requests, reads and lists while the clock moves through every build's
lifecycle, then the state snapshot: the records as stored); the SHA-256 of every answer's status,
headers and body must equal the digest recorded here. A change to how records are planned, drawn
or rendered that alters one byte fails it — which is what speeding a create up must never do. If a
change of answers is intended (or a new Faker or Python changed the draws), print the new digests
with ``python -m tests.vendors.test_determinism``.
"""

from __future__ import annotations

import hashlib
import sys
from typing import Any

import pytest
from starlette.testclient import TestClient

from tests.cases import CASES, VendorCase
from tests.conftest import CONTROL, advance, make_app

SEED = 20

#: Each vendor's digest of :func:`script`'s answers with ``--seed 20``.
DIGESTS = {
    "cocktail": "e0bae23b7922ef1ad8cb7fcb7084877b176b2f50448287e7f4b88a5eecc58fa1",
    "escape": "831d30172c35fdfd743adeaca4af5b446867defd985f47582c58f34c05bde82a",
    "nuon": "570a7bbc41d5a291ba10856b0e9b68c822ed1aa720f6e07b228da3d3f92c5737",
    "stainless": "7cef9c5b984d157021c407cee5ee6e59b77de765cdac020a83f9ff40dd166172",
    "vela": "fc8dd07a8530d46850ca540ae443b803e65bf277904386b4908f8aecc3260c51",
}

_VELA = "/vela/api/v1/repos/github/octocat"
#: Creating requests beyond the shared case's create: (method, path, JSON body, extra headers).
EXTRA: dict[str, list[tuple[str, str, Any, dict[str, str]]]] = {
    "stainless": [
        ("POST", "/stainless/v0/builds", {"project": "acme-api", "revision": "main"}, {}),
        (
            "POST",
            "/stainless/v0/builds",
            {
                "project": "acme-api",
                "revision": "0123abcd",
                "branch": "dev",
                "targets": ["go", "python", "go", "ruby", "java"],
            },
            {"Prefer": "outcome=merge_conflict"},
        ),
        (
            "POST",
            "/stainless/v0/builds",
            {"project": "acme-api", "revision": "main..feat"},
            {"Prefer": "outcome=timed_out"},
        ),
        (
            "POST",
            "/stainless/v0/builds",
            {"project": "zeta_sdk", "revision": "main"},
            {"Prefer": "outcome=noop"},
        ),
        (
            "POST",
            "/stainless/v0/builds",
            {"project": "acme-api", "revision": {"openapi.yml": {"content": "x"}}, "branch": "b"},
            {"Prefer": "outcome=error"},
        ),
        (
            "POST",
            "/stainless/v0/builds/compare",
            {
                "project": "acme-api",
                "base": {"branch": "main", "revision": "main"},
                "head": {"branch": "feat", "revision": "feat"},
            },
            {},
        ),
    ]
    + [  # refused bodies: the same 400s
        ("POST", "/stainless/v0/builds", body, {})
        for body in (
            {"project": "acme-api", "revision": "0123abcd"},
            {"project": "acme-api"},
            {
                "project": "acme-api",
                "revision": "m",
                "enable_ai_commit_message": True,
                "commit_message": "x",
            },
            {"project": "acme-api", "revision": {}, "branch": "b"},
            {"project": "", "revision": "main", "targets": ["cobol"]},
        )
    ],
    "vela": [
        ("POST", f"{_VELA}/builds", {"event": event, "branch": "main"}, {})
        for event in ("pull_request", "tag", "deployment", "comment", "schedule", "delete")
    ]
    + [
        (
            "POST",
            f"{_VELA}/builds",
            {"event": "push", "message": "m", "commit": "abc"},
            {"Prefer": "outcome=error"},
        ),
        ("POST", f"{_VELA}/builds", {"event": "push"}, {"Prefer": "approval=required"}),
        (
            "POST",
            "/vela/api/v1/repos/acme/other/builds",
            {"event": "push"},
            {"Prefer": "outcome=killed"},
        ),
        ("POST", f"{_VELA}/builds", {"event": "nope"}, {}),
        ("POST", f"{_VELA}/builds", {"number": 2**64}, {}),
        ("POST", f"{_VELA}/builds", {"event": "push"}, {"Prefer": "approval=maybe"}),
    ],
}
#: Reads of a vendor's build beyond the shared GET (paths from the created build's JSON).
READS: dict[str, list[str]] = {
    "stainless": ["/stainless/v0/builds/{id}/diagnostics"],
    "vela": [
        _VELA + "/builds/{number}/steps",
        _VELA + "/builds/{number}/services",
        _VELA + "/builds/{number}/graph",
        "/vela/api/v1/repos/github/builds",
    ],
}


def script(case: VendorCase) -> str:
    """Feed a fresh seeded mock the script; the hex digest of every answer."""
    digest = hashlib.sha256()

    def note(response: Any) -> Any:
        digest.update(
            f"{response.request.method} {response.request.url} {response.status_code}\n".encode()
        )
        for key, value in sorted(response.headers.items()):
            digest.update(f"{key}: {value}\n".encode())
        digest.update(response.content + b"\n")
        return response

    with TestClient(make_app(case.name, seed=SEED)) as client:
        builds = []
        for step, prefer in enumerate((None, case.failure_outcome, None)):
            builds.append(note(case.create(client, case.headers, prefer)).json())
            advance(client, 0.7 * (step + 1))
        for method, path, body, headers in EXTRA.get(case.name, []):
            made = note(
                client.request(method, path, json=body, headers={**case.headers, **headers})
            )
            if made.status_code < 300 and path.endswith("/builds"):
                builds.append(made.json())
            advance(client, 0.3)
        for step in range(24):
            for build in builds:
                note(client.get(case.get_path(build), headers=case.headers))
                for read in READS.get(case.name, []):
                    note(client.get(read.format(**build), headers=case.headers))
            note(client.get(case.list_path(builds[0]), headers=case.headers))
            advance(client, case.settle / 200 * 1.3**step)
        note(client.get("/__buildmock/snapshot", headers=CONTROL))  # the records as stored
    return digest.hexdigest()


@pytest.mark.parametrize("name", sorted(CASES))
def test_the_same_seed_and_requests_give_the_recorded_bytes(name: str) -> None:
    assert script(CASES[name]) == DIGESTS[name]


if __name__ == "__main__":
    for vendor in sys.argv[1:] or sorted(CASES):
        print(f'    "{vendor}": "{script(CASES[vendor])}",', flush=True)
