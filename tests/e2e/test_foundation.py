"""The foundation, as a reader meets it in Chromium: the policy served from Markdown."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import expect

from tests.harness import Served

pytestmark = pytest.mark.browser

#: Lines of the scraped pages that are page chrome, not policy text (DESIGN.md §1).
SEED_CHROME = {
    "001_8e897004caa7053d.txt": {"🚧 Still in Development - Sign Up for Early Access"},
    "000_b3f4a15f86f96a3c.txt": {"Legal"},
}


def seed_words(path: Path) -> list[str]:
    """The seed's policy text as words: chrome lines dropped, bullet markers removed."""
    words: list[str] = []
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if not line or line in SEED_CHROME[path.name]:
            continue
        words.extend(re.sub(r"^(•|-)\s+", "", line).split())
    return words


def page_words(page: Any) -> list[str]:
    """The policy as the reader sees it: its title and its text, without heading anchors."""
    text: str = page.evaluate(
        """() => {
            const text = document.querySelector('article .legal-text').cloneNode(true);
            text.querySelectorAll('.headerlink').forEach((a) => a.remove());
            const title = document.querySelector('article h1').cloneNode(true);
            title.querySelectorAll('.headerlink').forEach((a) => a.remove());
            return title.innerText + '\\n' + text.innerText;
        }"""
    )
    return text.split()


def test_current_policy_renders_with_its_effective_date(site: Served, page: Any) -> None:
    page.goto(site.url("privacy/"))
    assert page.locator("article h1").inner_text().strip().startswith("Privacy Policy")
    meta = page.locator("article .legal-version-meta")
    assert "in effect on this site from November 22, 2026" in meta.inner_text()  # no date in its text
    assert meta.locator("time[datetime='2026-11-22']").count() >= 1


@pytest.mark.parametrize(
    ("seed", "path"),
    [("000_b3f4a15f86f96a3c.txt", "privacy/"), ("001_8e897004caa7053d.txt", "privacy/2025-03-31/")],
)
def test_policy_text_equals_the_seed_word_for_word(
    site: Served, page: Any, seeds_dir: Path, seed: str, path: str
) -> None:
    page.goto(site.url(path))
    expected = seed_words(seeds_dir / seed)
    shown = page_words(page)
    assert shown == expected, _first_difference(expected, shown)


def _first_difference(expected: list[str], shown: list[str]) -> str:
    for i, (a, b) in enumerate(zip(expected, shown, strict=False)):
        if a != b:
            return f"word {i}: seed has {expected[i:i + 8]}, page has {shown[i:i + 8]}"
    return f"seed has {len(expected)} words, page has {len(shown)}"


def test_every_request_stays_on_the_sites_origin(site: Served, page: Any) -> None:
    origin = urlsplit(site.base_url)
    requested: list[str] = []
    page.on("request", lambda request: requested.append(request.url))
    page.goto(site.url("/"))
    page.wait_for_load_state("networkidle")
    page.locator("article").get_by_role("link", name="Privacy Policy").click()
    page.wait_for_url(re.compile(r".*/privacy/$"))
    page.get_by_role("link", name="Version history").first.click()
    page.wait_for_url(re.compile(r".*/privacy/history/$"))
    page.keyboard.press("/")
    page.keyboard.type("retention")
    # The query ran in the search worker against the downloaded index.
    page.locator(".md-search-result__item").first.wait_for(state="attached")
    page.wait_for_load_state("networkidle")
    network = [u for u in requested if not u.startswith(("data:", "blob:"))]
    assert len(network) >= 5, network
    foreign = [u for u in network if urlsplit(u)[:2] != origin[:2]]
    assert foreign == [], f"requests that left {site.base_url}: {foreign}"


def test_landing_page_links_to_the_privacy_policy(site: Served, page: Any) -> None:
    page.goto(site.url("/"))
    page.locator("article").get_by_role("link", name="Privacy Policy").click()
    page.wait_for_url(site.url("privacy/"))
    expect(page.locator("article h1")).to_contain_text("Privacy Policy")
    expect(page.locator("article .legal-version-meta")).to_contain_text("in effect on this site from November 22, 2026")
