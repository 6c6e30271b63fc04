"""Versioned pages as a reader meets them in Chromium."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import expect

from tests.harness import Served

pytestmark = pytest.mark.browser


def test_reader_goes_from_the_policy_to_history_to_an_archived_version_to_its_successors_changes(
    site: Served, page: Any
) -> None:
    page.goto(site.url("privacy/"))
    page.locator("article").get_by_role("link", name="Version history").click()
    page.wait_for_url(site.url("privacy/history/"))
    page.get_by_role("link", name="Read the version effective March 31, 2025").click()
    page.wait_for_url(site.url("privacy/2025-03-31/"))
    notice = page.locator("article .legal-notice--archived")
    expect(notice).to_contain_text("This version is archived")
    expect(notice).to_contain_text("from March 31, 2025 until the version effective November 22, 2026 replaced it")
    notice.get_by_role("link", name="see what changed").click()
    page.wait_for_url(site.url("privacy/2026-11-22/changes/"))
    redline = page.locator("article .legal-redline")
    expect(redline.locator("ins", has_text="ImaRouter").first).to_be_visible()
    expect(redline.locator("del", has_text="ImageRouter").first).to_be_attached()


def test_a_policy_page_prints_as_a_clean_document(site: Served, page: Any) -> None:
    page.goto(site.url("privacy/"))
    page.emulate_media(media="print")
    for chrome in (".md-header", ".md-footer", ".md-sidebar--primary", ".md-sidebar--secondary"):
        expect(page.locator(chrome).first).to_be_hidden()
    footer = page.locator("article .legal-print-only")
    expect(footer).to_be_visible()
    expect(footer).to_contain_text(f"Permanent URL: {site.url('privacy/2026-11-22/')}")
    expect(page.locator("article .legal-version-meta")).to_contain_text(
        "No date in the source text; in effect on this site from November 22, 2026")
    page.emulate_media(media="screen")
    expect(footer).to_be_hidden()
