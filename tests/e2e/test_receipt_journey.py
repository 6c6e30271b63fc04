"""The widget and the real consent API together, on the product's one port."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import pytest
from playwright.sync_api import expect

from tests.harness import Served

pytestmark = pytest.mark.browser


def test_a_choice_is_stored_by_the_api_and_the_visitor_can_view_and_verify_its_receipt(
    site: Served, page: Any
) -> None:
    page.context.route("**/*googletagmanager.com/**", lambda route: route.abort())
    page.goto(site.url("privacy/"))
    page.locator("#imr-consent-banner").get_by_role("button", name="Reject all").click()
    page.wait_for_function("localStorage.getItem('imr_consent_receipt') !== null")
    cookie = next(c for c in page.context.cookies() if c["name"] == "imr_consent")
    choice = json.loads(unquote(cookie["value"]))
    assert page.evaluate("JSON.parse(localStorage.getItem('imr_consent_queue'))") == []

    page.locator(".md-footer").get_by_role("button", name="Cookie settings").click()
    link = page.locator("#imr-consent-dialog").get_by_role("link", name="View your receipt")
    href = link.get_attribute("href")
    page.goto(site.url(href))
    main = page.locator("main")
    expect(main).to_contain_text(f"Consent ID: {choice['rid']}")
    expect(main).to_contain_text("privacy, version 2026-11-22")
    expect(main.locator("tr", has_text="analytics")).to_contain_text("No")

    token = page.evaluate("JSON.parse(localStorage.getItem('imr_consent_receipt')).token")
    verdict = page.evaluate(
        """async (token) => (await fetch('/api/v1/receipts/verify', {method: 'POST',
            headers: {'Content-Type': 'application/json'}, body: JSON.stringify({token})})).json()""",
        token,
    )
    assert verdict["genuine"] is True and verdict["unaltered"] is True
    assert verdict["receipt_id"] == choice["rid"] and verdict["subject_id"] == choice["sid"]
    with page.expect_download() as download:
        page.get_by_role("link", name="Download this receipt (JSON)").click()
    stored = json.loads(Path(download.value.path()).read_text())
    assert stored["receipt"]["policyUrl"] == site.url("privacy/2026-11-22/")
    assert stored["receipt"]["choices"] == {"advertising": False, "analytics": False, "necessary": True}
