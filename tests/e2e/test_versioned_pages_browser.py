"""Versioned pages as a reader meets them in Chromium."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.harness import ROOT, Served

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
    expect(footer).to_contain_text("in effect on this site from November 22, 2026, published November 22, 2026")
    expect(page.get_by_role("button", name="Print")).to_be_hidden()
    expect(page.locator("article .legal-version-meta")).to_contain_text(
        "No date in the source text; in effect on this site from November 22, 2026")
    page.emulate_media(media="screen")
    expect(footer).to_be_hidden()
    expect(page.get_by_role("button", name="Print")).to_be_visible()  # shown once its script runs


MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August", "September",
          "October", "November", "December"]
LONG_DATE = re.compile(r"\b(" + "|".join(MONTHS) + r") (\d{1,2}), (\d{4})\b")
ISO_DATE = re.compile(r"\b(\d{4})-(\d{2})-(\d{2})\b")


def dates_in(text: str) -> set[dt.date]:
    found = {dt.date(int(y), MONTHS.index(m) + 1, int(d)) for m, d, y in LONG_DATE.findall(text)}
    return found | {dt.date(int(y), int(m), int(d)) for y, m, d in ISO_DATE.findall(text)}


def test_the_undated_version_shows_its_date_as_assigned_with_the_note(site: Served, page: Any) -> None:
    page.goto(site.url("privacy/"))
    meta = page.locator("article .legal-version-meta")
    expect(meta).to_contain_text("No date in the source text; in effect on this site from November 22, 2026")
    expect(meta).not_to_contain_text("Effective November 22, 2026")
    expect(page.locator("article .legal-version-note")).to_contain_text(
        "The source text is undated. Its effective date is the date it was first published on this site")
    page.goto(site.url("privacy/2025-03-31/"))  # dated by its own text: "Last Updated: March 31, 2025"
    expect(page.locator("article .legal-version-meta")).to_contain_text("Effective March 31, 2025")


def test_no_page_states_a_date_that_neither_the_sources_nor_the_front_matter_give(
    site: Served, page: Any
) -> None:
    given: set[dt.date] = set()
    for source in (ROOT / "docs").rglob("*.md"):  # front matter, notes and policy texts alike
        given |= dates_in(source.read_text(encoding="utf-8"))
    pages = sorted(p.relative_to(site.site_dir).parent.as_posix()
                   for p in site.site_dir.rglob("index.html"))
    assert len(pages) >= 6
    for path in pages:
        page.goto(site.url("" if path == "." else path + "/"))
        shown = page.locator("body").inner_text() + " ".join(
            page.locator("time[datetime]").evaluate_all("els => els.map(e => e.getAttribute('datetime'))"))
        stray = dates_in(shown) - given
        assert not stray, f"/{path}/ states {sorted(map(str, stray))}, which no source gives"


def test_each_version_downloads_as_its_exact_source(site: Served, page: Any) -> None:
    import hashlib
    import json

    manifest = json.loads((site.site_dir / "policies.json").read_text())
    versions = manifest["policies"]["privacy"]["versions"]
    assert len(versions) == 2
    for v in versions:
        page.goto(v["url"])
        with page.expect_download() as caught:
            page.locator("article").get_by_role("link", name="Download the source (Markdown)").click()
        data = Path(caught.value.path()).read_bytes()
        assert hashlib.sha256(data).hexdigest() == v["sha256"]  # the bytes the lock and manifest name
        assert data == (ROOT / "docs" / v["source"]).read_bytes()
        assert caught.value.url == v["source_url"]


@pytest.mark.parametrize("path", ["privacy/", "privacy/2026-11-22/changes/"])
def test_the_sites_scripts_move_nothing_on_a_policy_page(site: Served, browser: Any, path: str) -> None:
    """A slow machine paints a page before its scripts run, or before the parser reaches the
    end of a line, so neither may move the text: every block of the article is where it is
    without any script, and where it is before the Print button exists (controls that
    need a script keep their space, invisible; the Print button's line is as tall without it)."""
    where = ("[...document.querySelectorAll('article > *')].map((e) => [e.tagName, "
             "Math.round(e.getBoundingClientRect().top)])")
    tops = []
    for scripts in (False, True):
        context = browser.new_context(java_script_enabled=scripts)
        page = context.new_page()
        page.goto(site.url(path))
        page.wait_for_load_state("networkidle")
        tops.append(page.evaluate(where))
        if scripts:
            page.evaluate("document.querySelectorAll('[data-print]').forEach((b) => b.remove())")
            tops.append(page.evaluate(where))
        context.close()
    assert tops[1] == tops[0] and tops[2] == tops[0]
