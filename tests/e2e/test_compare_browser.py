"""Comparing versions and moving through changes, in Chromium, on the built site.

The compare page diffs in the browser (compare.js, a port of legal_pages/redline.py): it must
give the very HTML the build gives, on the seeds, on every pair of fixture versions and on
generated rewrites, and its output must read exactly as each version.
"""

from __future__ import annotations

import random
import re
from typing import Any

import pytest
from lxml import html
from playwright.sync_api import expect

from legal_pages.model import load_policies
from legal_pages.redline import export, redline
from tests.harness import ROOT, Served, wait_for
from tests.pages.test_redline import BODY, assert_exact, fragment, legal_text, render, rewrite

pytestmark = pytest.mark.browser


def body_html(site: Served, path: str) -> str:
    body = legal_text(site.site_dir / path / "index.html")
    return (body.text or "") + "".join(html.tostring(c, encoding="unicode") for c in body)


def in_browser(page: Any, old_html: str, new_html: str) -> str:
    result: str = page.evaluate("([a, b]) => window.imrRedline(a, b)", [export(old_html), export(new_html)])
    return result


def test_the_browser_redline_is_the_builds_redline(site: Served, page: Any) -> None:
    page.goto(site.url("privacy/compare/"))
    wait_for(page, "typeof window.imrRedline === 'function'")
    old, new = body_html(site, "privacy/2025-03-31"), body_html(site, "privacy/2026-11-22")
    assert in_browser(page, old, new) == redline(old, new)
    assert in_browser(page, new, old) == redline(new, old)
    pairs = 0
    for policy in load_policies(ROOT / "tests" / "pages" / "fixtures" / "docs"):
        for a in policy.versions:
            for b in policy.versions:
                if a is not b:
                    assert in_browser(page, render(a.body), render(b.body)) == redline(render(a.body), render(b.body))
                    pairs += 1
    assert pairs >= 6
    rng = random.Random(2026)
    ops = ["swap", "delete-paragraph", "add-item", "change-words", "rename-heading", "delete-section",
           "add-section"]
    for _ in range(25):
        changes = [(rng.choice(ops), rng.randrange(1000), rng.randrange(1000)) for _ in range(rng.randint(1, 6))]
        old_html, new_html = render(BODY), render(rewrite(BODY, changes, random.Random(rng.random())))
        assert in_browser(page, old_html, new_html) == redline(old_html, new_html)


def test_the_compare_page_shows_the_redline_of_the_chosen_pair(site: Served, page: Any) -> None:
    old, new = body_html(site, "privacy/2025-03-31"), body_html(site, "privacy/2026-11-22")
    page.goto(site.url("privacy/compare/"))
    output = page.locator("[data-compare-output]")
    expect(page.locator("[data-compare-status]")).to_contain_text(
        "The version effective November 22, 2026 compared with the version effective March 31, 2025")
    assert_exact(fragment(output.inner_html()), fragment(old), fragment(new))
    # The reader picks the other direction.
    page.get_by_label("From the version effective").select_option("2026-11-22")
    page.get_by_label("to the version effective").select_option("2025-03-31")
    page.get_by_role("button", name="Compare").click()
    expect(page.locator("[data-compare-status]")).to_contain_text(
        "The version effective March 31, 2025 compared with the version effective November 22, 2026")
    assert_exact(fragment(output.inner_html()), fragment(new), fragment(old))
    assert page.url.endswith("#from=2026-11-22&to=2025-03-31")  # a link to this comparison
    page.reload()
    expect(page.locator("[data-compare-status]")).to_contain_text("The version effective March 31, 2025 compared")


def test_a_reader_jumps_through_the_changes_with_the_keyboard(site: Served, page: Any) -> None:
    page.goto(site.url("privacy/2026-11-22/changes/"))
    changes = page.locator(".legal-redline [data-change]").count()
    assert changes > 10
    following = page.get_by_role("button", name="Next change")
    following.focus()
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "change-1"
    status = page.locator(".legal-change-status")
    expect(status).to_have_text(f"Change 1 of {changes}")
    following.focus()
    page.keyboard.press("Enter")
    following.focus()
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "change-3"
    page.get_by_role("button", name="Previous change").focus()
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "change-2"
    expect(status).to_have_text(f"Change 2 of {changes}")
    # The list of changed sections links into the redline; next continues from there.
    page.locator(".legal-changed-sections").get_by_role("link", name="14. Contact Us").click()
    target = page.url.rsplit("#", 1)[1]
    assert page.locator(f"#{target}").is_visible()
    summary_links = page.locator(".legal-summary a")
    assert summary_links.count() >= 3  # the summary names sections; each name links to its changes


SCRIPTS = ("performance.getEntriesByType('resource').map((e) => e.name)"
           ".filter((n) => /javascripts\\/[a-z]+\\.js/.test(n)).map((n) => n.match(/javascripts\\/([a-z]+\\.js)/)[1])")


@pytest.mark.parametrize(("path", "script"), [("privacy/", "print.js"), ("privacy/2026-11-22/changes/", "changes.js"),
                                              ("privacy/compare/", "compare.js"), ("privacy/history/", None)])
def test_each_page_loads_only_the_script_it_uses(site: Served, page: Any, path: str, script: str | None) -> None:
    page.goto(site.url(path))
    page.wait_for_load_state("networkidle")
    # language.js (the language selector) is on every page of a site built in several languages
    assert sorted(page.evaluate(SCRIPTS)) == sorted(["language.js"] + ([script] if script else []))


def test_a_page_reached_by_instant_navigation_gets_its_script_and_only_once(site: Served, page: Any) -> None:
    """Material's instant navigation swaps the page in without a load: the script of the new page
    runs when it is entered, and its listeners are not added twice by a second visit."""
    page.goto(site.url("privacy/2025-03-31/"))
    for _ in range(2):  # there and back, twice
        page.locator("article").get_by_role("link", name="see what changed").first.click()
        page.wait_for_url(site.url("privacy/2026-11-22/changes/"))
        following = page.get_by_role("button", name="Next change")
        expect(following).to_be_visible()
        following.click()
        expect(page.locator(".legal-change-status")).to_contain_text("Change 1 of")  # one step, not two
        page.go_back()
        page.wait_for_url(site.url("privacy/2025-03-31/"))
    assert page.evaluate("performance.getEntriesByType('navigation').length") == 1  # never a full load
    page.goto(site.url("privacy/history/"))
    page.get_by_role("link", name="Compare any two versions").click()
    page.wait_for_url(re.compile(re.escape(site.url("privacy/compare/"))))
    expect(page.locator("[data-compare-status]")).to_contain_text("compared with")


@pytest.mark.parametrize(("lang", "position", "compared", "same"), [
    ("de", "Änderung 1 von {n}", "Die ab 22. November 2026 gültige Fassung im Vergleich mit der ab 31. März 2025 "
     "gültigen Fassung. Markierte Änderungen: ", "Zweimal dieselbe Fassung: Wählen Sie zwei verschiedene Fassungen."),
    ("pl", "Zmiana 1 z {n}", "Wersja obowiązująca od 22 listopada 2026 w porównaniu z wersją obowiązującą od "
     "31 marca 2025. Zaznaczone zmiany: ", "Dwa razy ta sama wersja: wybierz dwie różne wersje."),
])
def test_the_scripts_speak_the_pages_language(site: Served, page: Any, lang: str, position: str, compared: str,
                                              same: str) -> None:
    """What changes.js and compare.js write comes from the page's catalogue, not English."""
    page.goto(site.url(f"{lang}/privacy/2026-11-22/changes/"))
    changes = page.locator(".legal-redline [data-change]").count()
    page.locator("[data-change-step='1']").click()
    expect(page.locator(".legal-change-status")).to_have_text(position.format(n=changes))
    page.goto(site.url(f"{lang}/privacy/compare/"))
    status = page.locator("[data-compare-status]")
    expect(status).to_contain_text(compared)
    count = page.locator("[data-compare-output]").locator("ins, del").count()
    expect(status).to_have_text(f"{compared}{count}.")
    page.locator("select[name=from]").select_option("2026-11-22")
    page.locator("select[name=to]").select_option("2026-11-22")
    page.locator("form[data-compare] button[type=submit]").click()
    expect(status).to_have_text(same)
