"""axe-core finds no WCAG 2.2 A/AA violation with the banner shown or the dialog open."""

from __future__ import annotations

from typing import Any

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import expect

from tests.widget.conftest import Visit

pytestmark = pytest.mark.browser

WCAG_AA = {"runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]}}


def violations(page: Any) -> list[str]:
    results = Axe().run(page, options=WCAG_AA)
    return [
        f"{v['id']}: {v['help']} ({', '.join(n['target'][0] for n in v['nodes'][:3])})"
        for v in results.response["violations"]
    ]


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_a_policy_page_with_the_banner_has_no_violations(visit: Visit, scheme: str) -> None:
    visit.page.emulate_media(color_scheme=scheme)
    visit.goto("privacy/")
    assert visit.banner_visible()
    expected = "slate" if scheme == "dark" else "default"
    assert visit.page.evaluate("document.body.dataset.mdColorScheme") == expected
    assert violations(visit.page) == []


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_the_open_dialog_has_no_violations(visit: Visit, scheme: str) -> None:
    visit.page.emulate_media(color_scheme=scheme)
    visit.goto("privacy/")
    visit.page.locator("#imr-consent-banner").get_by_role("button", name="Customize").click()
    assert visit.page.locator("#imr-consent-dialog").is_visible()
    assert violations(visit.page) == []


@pytest.mark.parametrize("path", ["privacy/2026-11-22/changes/", "privacy/compare/"])
@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_the_redline_pages_have_no_violations(visit: Visit, scheme: str, path: str) -> None:
    visit.page.emulate_media(color_scheme=scheme)
    visit.goto(path)
    visit.page.locator("#imr-consent-banner").get_by_role("button", name="Reject all").click()
    redline = visit.page.locator("article .legal-redline")
    # compare.js fetches its two versions and fills the redline: wait for it, then count
    expect(redline.locator("ins").nth(10)).to_be_attached()
    expect(redline.locator("del").nth(10)).to_be_attached()
    assert violations(visit.page) == []
