"""Swagger UI in real Chromium renders every vendor's spec as served: authored, ``$ref``s and all."""

from __future__ import annotations

from typing import Any

import httpx

from buildmock.core import openapi
from tests.cases import CASES
from tests.process import serving


def test_swagger_ui_renders_every_operation_and_named_schema(browser_page: Any) -> None:
    from playwright.sync_api import expect

    page = browser_page
    with serving("--no-fixtures") as (base, _):
        for name in CASES:
            spec = httpx.get(f"{base}/{name}/openapi.json").json()
            operations = len(list(openapi.operations(spec)))
            page.goto(f"{base}/{name}/ui/")
            expect(page.locator(".opblock")).to_have_count(operations)
            # Swagger UI lists the named components it resolved the ``$ref``s against.
            expect(page.locator("section.models .model-container")).to_have_count(
                len(spec["components"]["schemas"])
            )
            assert page.locator(".errors-wrapper").count() == 0, name
