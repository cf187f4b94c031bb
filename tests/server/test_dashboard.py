"""The dashboard: its control-API reads for every vendor in-process, then the page in real Chromium."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.testclient import TestClient

from tests.cases import VendorCase
from tests.conftest import CONTROL, advance
from tests.process import serving


def _control(client: TestClient, method: str, path: str, **kwargs: Any) -> Any:
    """A control API call with the token the test apps are made with."""
    return client.request(method, f"/__buildmock{path}", headers=CONTROL, **kwargs)


def _records(client: TestClient, vendor: str) -> dict[str, Any]:
    response = _control(client, "GET", "/records", params={"vendor": vendor})
    assert response.status_code == 200, response.text
    return response.json()


def test_a_created_build_is_listed_with_its_status_and_timeline(
    client: TestClient, case: VendorCase
) -> None:
    created = case.create(client, case.headers, None)
    assert created.status_code == case.create_status, created.text
    first = _records(client, case.name)["items"][0]
    read = client.get(case.get_path(created.json()), headers=case.headers).json()
    detail = _control(
        client, "GET", "/record", params={"vendor": case.name, "id": first["id"]}
    ).json()
    # As the vendor's API answers it (Cocktail's ResultVO envelope left out).
    assert detail["body"] in (read, read.get("result")), "the record as the vendor renders it"
    assert any(not mark["passed"] for mark in detail["timeline"]), "a new build has coming steps"
    advance(client, case.settle)
    after = _control(client, "GET", "/record", params={"vendor": case.name, "id": first["id"]})
    assert all(mark["passed"] for mark in after.json()["timeline"])
    assert after.json()["status"] != detail["status"]
    _control(client, "POST", "/reset")
    assert _records(client, case.name)["total"] == 0


def test_a_pinned_outcome_decides_the_next_create_only(
    client: TestClient, case: VendorCase
) -> None:
    pinned = _control(
        client, "PUT", "/next-outcome", json={"vendor": case.name, "outcome": "failure"}
    )
    assert pinned.status_code == 200, pinned.text
    assert pinned.json()[case.name] == "failure"
    forced = case.create(client, case.headers, None).json()
    assert _control(client, "GET", "/next-outcome").json()[case.name] is None, "taken once"
    advance(client, case.settle)
    read = client.get(case.get_path(forced), headers=case.headers).json()
    assert case.status(read) == case.failure


@pytest.mark.parametrize(
    ("path", "params", "status"),
    [
        ("/__buildmock/records", {"vendor": "nope"}, 404),
        ("/__buildmock/records", {"vendor": "stainless", "kind": "nope"}, 404),
        ("/__buildmock/records", {"vendor": "stainless", "limit": "0"}, 400),
        ("/__buildmock/record", {"vendor": "stainless", "id": "bui_unknown"}, 404),
        ("/__buildmock/record", {"vendor": "stainless"}, 400),
    ],
)
def test_bad_reads_are_clear_4xx(
    app_factory: Any, path: str, params: dict[str, str], status: int
) -> None:
    with TestClient(app_factory("stainless")) as client:
        response = client.get(path, params=params, headers=CONTROL)
    assert response.status_code == status
    assert "error" in response.json()


def test_pinning_refuses_unknown_outcomes_and_vendors(app_factory: Any) -> None:
    with TestClient(app_factory("stainless")) as client:
        bad_outcome = _control(
            client, "PUT", "/next-outcome", json={"vendor": "stainless", "outcome": "maybe"}
        )
        bad_vendor = _control(
            client, "PUT", "/next-outcome", json={"vendor": "nope", "outcome": "success"}
        )
    assert bad_outcome.status_code == 400
    assert bad_vendor.status_code == 404


def test_root_links_to_the_dashboard_and_files_are_served_offline(app_factory: Any) -> None:
    with TestClient(app_factory()) as client:
        root = client.get("/")
        page = client.get("/__buildmock/dashboard/")
        script = client.get("/__buildmock/dashboard/dashboard.js")
        wrong = client.post("/__buildmock/dashboard/", headers=CONTROL)
    assert root.status_code == 200 and "/__buildmock/dashboard/" in root.text
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert "default-src 'self'" in page.headers["content-security-policy"]
    assert "http" not in page.text.replace("http-equiv", ""), "no asset from another origin"
    assert script.status_code == 200 and "fetch(" in script.text
    assert wrong.status_code == 405


# -- in a real browser -----------------------------------------------------------------------

STAINLESS = {"Authorization": "Bearer x"}


def test_the_dashboard_follows_a_build_through_its_life(browser_page: Any, tmp_path: Path) -> None:
    from playwright.sync_api import expect

    page = browser_page
    control = "ctl-secret"
    with serving(
        "--clock", "manual", "--no-fixtures", "--seed", "7", "--control-token", control
    ) as (base, _):
        page.goto(f"{base}/")
        page.get_by_role("link", name="Open the dashboard").click()
        # The control API is locked: the page asks for the token before it shows anything.
        page.get_by_label("This mock's control API needs its token").fill(control)
        page.get_by_role("button", name="Use the token").click()
        expect(page.locator("#token-form")).to_be_hidden()
        page.get_by_role("tab", name="Stainless").click()
        expect(page.locator("#page-info")).to_have_text("no records yet")

        created = httpx.post(
            f"{base}/stainless/v0/builds",
            headers={**STAINLESS, "Prefer": "outcome=success"},
            json={"project": "acme-api", "revision": "main"},
        ).json()
        button = page.get_by_role("button", name=f"show {created['id']}")
        expect(button).to_be_visible()  # polled in, no reload
        row = page.locator(f"tr[data-id='{created['id']}']")
        expect(row.locator(".status")).to_have_text("in progress")

        button.click()
        expect(page.locator("#detail-title")).to_contain_text(created["id"])
        expect(page.locator("#detail-json")).to_contain_text('"object": "build"')
        expect(page.locator("#timeline li.coming").first).to_be_visible()

        page.get_by_label("Advance the clock by (seconds)").fill("600")
        page.get_by_role("button", name="Advance").click()
        expect(row.locator(".status")).to_have_text("completed (success)")
        expect(page.locator("#timeline li.coming")).to_have_count(0)
        expect(page.locator("#clock")).to_contain_text("2025-01-01T00:10:00")
        # README's docs/dashboard.png: BUILDMOCK_TEST_SCREENSHOT=docs/dashboard.png pytest -k life
        shot = Path(os.environ.get("BUILDMOCK_TEST_SCREENSHOT") or tmp_path / "dashboard.png")
        page.screenshot(path=str(shot), full_page=True)
        assert shot.stat().st_size > 10_000

        page.get_by_label("Outcome of the next create").select_option("failure")
        page.get_by_role("button", name="Pin", exact=True).click()
        expect(page.locator("#pin-state")).to_have_text("pinned: failure")
        failed = httpx.post(
            f"{base}/stainless/v0/builds",
            headers=STAINLESS,
            json={"project": "acme-api", "revision": "main"},
        ).json()
        expect(page.locator("#pin-state")).to_have_text("")
        page.get_by_role("button", name="Advance").click()
        expect(page.locator(f"tr[data-id='{failed['id']}'] .status")).to_have_text(
            "completed (failure)"
        )

        page.get_by_role("button", name="Reset to the seeded state").click()
        expect(page.locator("#page-info")).to_have_text("no records yet")
        expect(page.get_by_role("button", name=f"show {created['id']}")).to_have_count(0)
