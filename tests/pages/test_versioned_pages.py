"""Versioned legal pages, built from fixture policies as of chosen dates."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import feedparser
import jsonschema
import pytest
from lxml import html

from legal_pages.model import load_policies
from legal_pages.site import plan_site, policy_pages
from tests.harness import ROOT, cli
from tests.pages.conftest import FIXTURE_DOCS, FIXTURE_URL, BuildAsOf

SCHEMA = Path(__file__).parents[2] / "legal_pages" / "schemas" / "policies.schema.json"


def page(site: Path, path: str) -> Any:
    return html.parse(str(site / path / "index.html")).getroot()


def article(site: Path, path: str) -> Any:
    return page(site, path).cssselect("article")[0]


def text(el: Any) -> str:
    return " ".join(el.text_content().replace("\u00b6", "").split())


def manifest(site: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((site / "policies.json").read_text())
    return data


@pytest.mark.parametrize(
    ("as_of", "current"),
    [("2026-05-31", "2026-01-01"), ("2026-06-01", "2026-06-01"), ("2026-06-02", "2026-06-01")],
)
def test_the_version_in_effect_is_current_before_on_and_after_its_effective_date(
    build_as_of: BuildAsOf, as_of: str, current: str
) -> None:
    site = build_as_of(as_of)
    meta = article(site, "demo").cssselect(".legal-version-meta time")[0]
    assert meta.get("datetime") == current
    assert manifest(site)["policies"]["demo"]["current"] == current
    permanent = article(site, "demo").cssselect(".legal-version-meta a")
    assert any(a.get("href") == f"{current}/" for a in permanent)


def test_stable_url_says_when_no_version_is_in_effect_yet(build_as_of: BuildAsOf) -> None:
    site = build_as_of("2026-01-20")
    notice = text(article(site, "terms").cssselect(".legal-notice--upcoming")[0])
    assert "No version is in effect yet" in notice
    assert "February 1, 2026" in notice
    assert manifest(site)["policies"]["terms"]["current"] is None


def test_every_version_has_its_permanent_page_saying_what_it_is(build_as_of: BuildAsOf) -> None:
    site = build_as_of("2026-11-01")
    archived = article(site, "demo/2026-01-01")
    notice = text(archived.cssselect(".legal-notice--archived")[0])
    assert "This version is archived" in notice
    # Only dates the sources give: not "until May 31", which no source states.
    assert "from January 1, 2026 until the version effective June 1, 2026 replaced it" in notice
    links = {text(a): a.get("href") for a in archived.cssselect(".legal-notice--archived a")}
    assert links == {
        "the version effective June 1, 2026": "../2026-06-01/",
        "see what changed": "../2026-06-01/changes/",
        "Read the current version": "../",
    }
    current = article(site, "demo/2026-06-01")
    assert current.cssselect(".legal-notice") == []
    upcoming = article(site, "demo/2026-12-01")
    assert "It takes effect on December 1, 2026" in text(upcoming.cssselect(".legal-notice--upcoming")[0])
    assert "Children" in text(upcoming.cssselect(".legal-text")[0])


def test_a_version_stays_hidden_until_its_published_date(build_as_of: BuildAsOf) -> None:
    before = build_as_of("2026-04-30")
    assert not (before / "demo" / "2026-06-01").exists()
    assert [v["id"] for v in manifest(before)["policies"]["demo"]["versions"]] == ["2026-01-01"]
    assert "2026-06-01" not in (before / "feed.xml").read_text()
    on = build_as_of("2026-05-01")
    assert (on / "demo" / "2026-06-01" / "index.html").exists()
    assert manifest(on)["policies"]["demo"]["upcoming"] == ["2026-06-01"]


def test_the_redline_marks_the_inserted_and_the_deleted_word(build_as_of: BuildAsOf) -> None:
    site = build_as_of("2026-06-01")
    changes = article(site, "demo/2026-06-01/changes")
    redline = changes.cssselect(".legal-redline")[0]
    assert "securely" in [w for ins in redline.cssselect("ins") for w in text(ins).split()]
    assert "quarterly" in [w for d in redline.cssselect("del") for w in text(d).split()]
    assert "We review your data" in text(redline)
    assert [text(h) for h in redline.cssselect("h2")] == ["1. Collection", "2. Contact"]
    assert [text(li) for li in redline.cssselect("li")] == ["We keep invoices.", "We keep logs."]
    assert "We review your data promptly and delete it securely." in text(changes)
    assert "This is a material change." in text(changes)


def test_the_first_version_has_no_redline(build_as_of: BuildAsOf) -> None:
    site = build_as_of("2026-06-01")
    assert not (site / "demo" / "2026-01-01" / "changes").exists()
    versions = manifest(site)["policies"]["demo"]["versions"]
    assert versions[0]["changes_url"] is None
    assert versions[1]["changes_url"] == FIXTURE_URL + "demo/2026-06-01/changes/"


def test_history_lists_versions_newest_first(build_as_of: BuildAsOf) -> None:
    site = build_as_of("2026-11-01")
    headings = [text(h) for h in article(site, "demo/history").cssselect("h2")]
    assert headings == ["December 1, 2026 (upcoming)", "June 1, 2026 (current)", "January 1, 2026"]


def test_the_feed_is_valid_atom_with_one_entry_per_published_version(build_as_of: BuildAsOf) -> None:
    site = build_as_of("2026-11-01")
    feed = feedparser.parse((site / "feed.xml").read_bytes())
    assert feed.bozo == 0, feed.get("bozo_exception")
    assert feed.version == "atom10"
    ids = sorted(e.id for e in feed.entries)
    assert ids == sorted(
        FIXTURE_URL + p for p in
        ["demo/2026-01-01/", "demo/2026-06-01/", "demo/2026-12-01/", "terms/2026-02-01/"]
    )
    newest = feed.entries[0]
    assert newest.link == FIXTURE_URL + "demo/2026-12-01/"
    assert "A new section on children." in newest.summary
    assert newest.published.startswith("2026-10-15")


def test_the_manifest_matches_its_schema_and_the_source_hashes(build_as_of: BuildAsOf) -> None:
    site = build_as_of("2026-11-01")
    data = manifest(site)
    jsonschema.validate(data, json.loads(SCHEMA.read_text()))
    demo = data["policies"]["demo"]
    assert (demo["current"], demo["upcoming"]) == ("2026-06-01", ["2026-12-01"])
    assert [v["status"] for v in demo["versions"]] == ["archived", "current", "upcoming"]
    for policy in data["policies"].values():
        for v in policy["versions"]:
            source = FIXTURE_DOCS / v["source"]
            assert v["sha256"] == hashlib.sha256(source.read_bytes()).hexdigest()
            assert v["url"] == FIXTURE_URL + v["path"].lstrip("/")
            assert (site / v["path"].strip("/") / "index.html").exists()


def test_an_upcoming_version_is_announced_on_every_page_until_it_takes_effect(
    build_as_of: BuildAsOf,
) -> None:
    before = build_as_of("2026-11-01")
    for path in ("", "demo", "terms", "demo/history"):
        bar = page(before, path).cssselect("[data-md-component='announce'] .legal-announce")
        assert len(bar) == 1, path
        assert "Demo Policy: an updated version takes effect on December 1, 2026" in text(bar[0])
        assert [a.get("href").rstrip("/").split("/")[-1] for a in bar[0].cssselect("a")] == [
            "2026-12-01", "changes"
        ]
    coming = article(before, "demo").cssselect(".legal-notice--coming")
    assert "December 1, 2026" in text(coming[0])
    after = build_as_of("2026-12-01")
    assert page(after, "demo").cssselect(".legal-announce") == []
    assert article(after, "demo").cssselect(".legal-version-meta time")[0].get("datetime") == "2026-12-01"


def test_search_indexes_current_versions_only(build_as_of: BuildAsOf) -> None:
    site = build_as_of("2026-11-01")
    index = json.loads((site / "search" / "search_index.json").read_text())
    pages = {d["location"].split("#")[0] for d in index["docs"]}
    assert {"demo/", "terms/"} <= pages
    assert not [p for p in pages if "2026-" in p or "history" in p]


def test_navigation_shows_each_policy_once(build_as_of: BuildAsOf) -> None:
    site = build_as_of("2026-11-01")
    nav = page(site, "").cssselect("nav.md-nav--primary > ul > li > a")
    assert [text(a) for a in nav] == ["Fixture legal site", "Demo Policy", "Terms of Service"]


def test_the_landing_page_lists_the_policies_with_their_dates(build_as_of: BuildAsOf) -> None:
    site = build_as_of("2026-11-01")
    items = [text(li) for li in article(site, "").cssselect("li")]
    assert items[0].startswith("Demo Policy: in effect since June 1, 2026; an updated version takes effect")
    assert items[1].startswith("Terms of Service: in effect since February 1, 2026")


def test_the_engine_plans_pages_without_mkdocs() -> None:
    import datetime as dt

    plan = plan_site(
        load_policies(FIXTURE_DOCS), as_of=dt.date(2026, 11, 1), site_url=FIXTURE_URL,
        render_html=lambda body: "<p>" + body.replace("\n\n", "</p><p>") + "</p>",
    )
    paths = {o.path for o in plan.outputs}
    assert {"demo/index.md", "demo/2026-06-01/index.md", "demo/2026-06-01/changes/index.md",
            "demo/history/index.md", "feed.xml", "policies.json"} <= paths
    assert [a.url for a in plan.announcements] == ["demo/2026-12-01/"]


@pytest.mark.parametrize("docs", [FIXTURE_DOCS, ROOT / "docs"], ids=["fixture", "seeds"])
def test_the_pages_the_check_accepts_links_to_are_the_pages_the_build_writes(docs: Path) -> None:
    """lint.site_routes takes a policy's pages from site.policy_pages: they are the plan's own."""
    import datetime as dt

    policies = load_policies(docs)
    plan = plan_site(policies, as_of=dt.date(2100, 1, 1), site_url=FIXTURE_URL, preview=True,
                     render_html=lambda body: "<p>" + body + "</p>")
    for policy in policies:
        planned = {o.path for o in plan.outputs if o.path.startswith(f"{policy.slug}/")}
        assert planned == policy_pages(policy.slug, [v.id for v in policy.versions])


def test_a_malformed_build_date_is_rejected_with_a_clear_message(tmp_path: Path) -> None:
    result = cli("build", "--site-dir", str(tmp_path), "--date", "2026-13-45", check=False)
    assert result.returncode == 2
    assert "LEGAL_BUILD_DATE must be a date written YYYY-MM-DD, not '2026-13-45'" in result.stderr


def test_a_broken_source_fails_the_build_naming_file_and_line(tmp_path: Path) -> None:
    docs = tmp_path / "docs"
    (docs / "demo" / "versions").mkdir(parents=True)
    (docs / "index.md").write_text("# Home\n")
    (docs / "demo" / "versions" / "2026-01-01.md").write_text(
        "---\ntitle: Demo\neffective: 2026-01-01\npublished: 2026-01-01\nsummary: [x]\n---\n\nText\n"
    )
    result = cli("build", "--site-dir", str(tmp_path / "site"), "--docs-dir", str(docs), check=False)
    assert result.returncode == 1
    assert ("2026-01-01.md:1: error [front-matter] the required field 'material' is missing (true or false)"
            in result.stderr)
