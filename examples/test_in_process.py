"""The same mock in-process: ``buildmock_app`` is the ASGI app, for httpx's ASGITransport.

No socket at all; the app is reset to its seeded state before each test, like the server.
"""

from __future__ import annotations

import httpx
import pytest

from buildmock.server import BuildMockApp

pytestmark = [pytest.mark.buildmock(apis=["vela"]), pytest.mark.anyio]

VELA = {"Authorization": "Bearer any-token"}


@pytest.fixture
def anyio_backend() -> str:
    """Run the async tests on asyncio."""
    return "asyncio"


async def test_a_vela_build_in_process(buildmock_app: BuildMockApp) -> None:
    transport = httpx.ASGITransport(app=buildmock_app)
    async with httpx.AsyncClient(transport=transport, base_url="http://mock/vela") as vela:
        listed = await vela.get("/api/v1/repos/github/octocat/builds", headers=VELA)
        assert listed.status_code == 200

        await vela.post("http://mock/__buildmock/clock/advance", json={"seconds": 60})
        clock = (await vela.get("http://mock/__buildmock/state")).json()["clock"]
        assert clock["iso"] == "2025-01-01T00:01:00.000Z"  # the manual clock starts at 2025-01-01


async def test_unknown_credentials_are_refused(buildmock_app: BuildMockApp) -> None:
    transport = httpx.ASGITransport(app=buildmock_app)
    async with httpx.AsyncClient(transport=transport, base_url="http://mock/vela") as vela:
        response = await vela.get("/api/v1/repos/github/octocat/builds")
        assert response.status_code == 401
