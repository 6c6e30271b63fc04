"""The visitor's journeys, end to end: a real Chromium, the built site, the widget and the
real consent API with a real database. Journeys 1 and 2 run on the local product (one port,
SQLite) and as deployed (nginx, gunicorn workers, PostgreSQL); every journey also checks
that the browser reported no Content-Security-Policy violation."""

from __future__ import annotations

import datetime as dt
import json
import re
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from legal_pages.lock import update_lock
from tests.e2e.conftest import BANNER, Product, Visitor
from tests.harness import BUILD_DATE, ROOT, build, free_port, serve, wait_for

pytestmark = pytest.mark.browser

OPTIONAL = ("analytics", "advertising")
CURRENT = "2026-11-22"


def reject_all_on_the_privacy_policy(visitor: Visitor) -> dict[str, Any]:
    """Journey 1; returns the stored receipt."""
    visitor.open("privacy/")
    visitor.banner("Reject all")
    expect(visitor.page.locator(BANNER)).to_be_hidden()
    visitor.wait_until_stored()
    (receipt,) = visitor.history()
    return receipt


def accept_analytics_from_the_footer_on_another_page(visitor: Visitor) -> None:
    """Journey 2's steps: to the cookie policy through the footer link (instant navigation),
    Cookie settings from the footer, analytics on, save."""
    visitor.page.locator(".md-footer").get_by_role("link", name="Cookie Policy").click()
    expect(visitor.page).to_have_url(visitor.product.url("cookies/"))
    dialog = visitor.open_settings_from_footer()
    dialog.get_by_role("switch", name="Analytics").check()
    dialog.get_by_role("button", name="Save my choices").click()
    expect(dialog).to_be_hidden()


def test_journey_1_reject_all_stores_a_receipt_refusing_every_optional_category(
    product: Product, visitor_for: Callable[..., Visitor]
) -> None:
    visitor = visitor_for(product)
    receipt = reject_all_on_the_privacy_policy(visitor)

    assert visitor.analytics_requests == [] and visitor.analytics_ran() == 0
    assert receipt["choices"] == {"necessary": True, "analytics": False, "advertising": False}
    assert receipt["piiPrincipalId"] == visitor.choice()["sid"]
    assert receipt["consentReceiptID"] == visitor.choice()["rid"]
    assert receipt["policyUrl"] == product.url(f"privacy/{CURRENT}/")  # the permanent URL of the version
    assert receipt["policy"]["version"] == CURRENT and receipt["collectionMethod"] == "banner"
    assert [p["purpose"] for p in receipt["services"][0]["purposes"]] == ["necessary"]
    assert visitor.csp_violations == []


def test_journey_2_settings_from_the_footer_elsewhere_grant_analytics_and_extend_the_history(
    product: Product, visitor_for: Callable[..., Visitor]
) -> None:
    visitor = visitor_for(product)
    first = reject_all_on_the_privacy_policy(visitor)
    accept_analytics_from_the_footer_on_another_page(visitor)

    wait_for(visitor.page, "window.__analyticsRuns === 1")
    assert len(visitor.analytics_requests) == 1
    visitor.wait_until_stored()
    history = visitor.history()
    assert [r["consentReceiptID"] for r in history] == [first["consentReceiptID"], visitor.choice()["rid"]]
    assert {r["piiPrincipalId"] for r in history} == {first["piiPrincipalId"]}
    assert [r["choices"]["analytics"] for r in history] == [False, True]
    assert [r["collectionMethod"] for r in history] == ["banner", "dialog"]
    assert history[1]["consentTimestamp"] >= history[0]["consentTimestamp"]

    # The visitor sees the same history on their receipt page, oldest first.
    with visitor.page.expect_popup() as opened:  # the token goes by POST, into a new tab
        visitor.open_settings_from_footer().get_by_role("button", name="View your receipt").click()
    receipt_page = opened.value
    assert "token" not in receipt_page.url
    rows = receipt_page.locator("#history tbody tr")
    expect(rows).to_have_count(2)
    expect(rows.nth(0)).to_contain_text(first["consentReceiptID"])
    expect(rows.nth(1)).to_contain_text(visitor.choice()["rid"])
    expect(rows.nth(1)).to_have_attribute("aria-current", "true")
    with receipt_page.expect_download() as download:
        receipt_page.get_by_role("button", name="Download this receipt (JSON)").click()
    saved = json.loads(Path(download.value.path()).read_text())
    assert saved["receipt"]["consentReceiptID"] == visitor.choice()["rid"] and saved["token"]
    assert visitor.csp_violations == []


# -- Journey 3: legal publishes a material new version -------------------------------------

NEXT = "2027-01-15"


@pytest.fixture
def evolving_site(tmp_path: Path) -> Iterator[tuple[Product, Callable[[str], None]]]:
    """The product's docs plus a fixture material version effective on NEXT, served; the
    returned function rebuilds the served site in place as of a date (the daily rebuild)."""
    docs = tmp_path / "docs"
    shutil.copytree(ROOT / "docs", docs)
    current = (docs / "privacy" / "versions" / f"{CURRENT}.md").read_text()
    body = current.split("\n---\n", 1)[1]
    (docs / "privacy" / "versions" / f"{NEXT}.md").write_text(
        "---\ntitle: Privacy Policy\n"
        f"effective: {NEXT}\npublished: 2026-12-01\nmaterial: true\n"
        "summary:\n  - A test fixture version that adds a paragraph on consent receipts.\n"
        "acknowledged:\n  - rule: section-numbering\n    match: section 6\n"
        "    reason: Carried from the current text.\n    approved_by: Test Legal\n    approved_on: 2026-11-30\n"
        "---\n"
        + body + "\nWe keep a signed receipt of every cookie choice you make.\n"
    )
    shutil.copy(ROOT / "policies.lock", tmp_path / "policies.lock")
    update_lock(docs, tmp_path / "policies.lock", dt.date.fromisoformat(BUILD_DATE))  # the build checks it
    port = free_port()
    site_dir = tmp_path / "site"

    def rebuild(date: str) -> None:
        build(site_dir, site_url=f"http://127.0.0.1:{port}/", date=date, docs_dir=docs)

    rebuild(BUILD_DATE)
    with serve(site_dir, port) as served:
        yield Product("local, SQLite", served.base_url, site_dir), rebuild


def test_journey_3_a_material_new_version_asks_the_returning_visitor_again(
    evolving_site: tuple[Product, Callable[[str], None]], visitor_for: Callable[..., Visitor]
) -> None:
    product, rebuild = evolving_site
    visitor = visitor_for(product)
    visitor.open("privacy/")
    visitor.banner("Accept all")
    wait_for(visitor.page, "window.__analyticsRuns === 1")
    visitor.wait_until_stored()

    rebuild(NEXT)  # legal merged the version; the daily rebuild on its effective date
    visitor.analytics_requests.clear()
    visitor.open("privacy/history/")
    banner = visitor.page.locator(BANNER)
    expect(banner).to_be_visible()
    expect(banner).to_contain_text("Privacy Policy: changed on January 15, 2027.")
    changes = banner.get_by_role("link", name="See what changed")
    expect(changes).to_have_attribute("href", re.compile(rf"privacy/{NEXT}/changes/$"))
    assert visitor.analytics_ran() == 0  # the earlier consent no longer applies

    changes.click()  # the redline, and still no analytics until they answer
    expect(visitor.page).to_have_url(product.url(f"privacy/{NEXT}/changes/"))
    expect(visitor.page.locator("main ins", has_text="signed receipt of every cookie choice")).to_be_visible()
    expect(banner).to_be_visible()
    visitor.page.wait_for_load_state("networkidle")
    assert visitor.analytics_requests == [] and visitor.analytics_ran() == 0

    visitor.banner("Accept all")
    wait_for(visitor.page, "window.__analyticsRuns === 1")
    visitor.wait_until_stored()
    before, after = visitor.history()
    assert before["policyUrl"] == product.url(f"privacy/{CURRENT}/")  # still the version agreed to then
    assert after["policyUrl"] == product.url(f"privacy/{NEXT}/")
    assert after["configRevision"] != before["configRevision"]
    assert visitor.csp_violations == []


# -- Journey 4: the API is down when the visitor chooses -----------------------------------

def test_journey_4_a_choice_made_while_the_api_is_down_applies_at_once_and_is_stored_once_later(
    tmp_path: Path, visitor_for: Callable[..., Visitor]
) -> None:
    port = free_port()
    site_dir = build(tmp_path / "site", site_url=f"http://127.0.0.1:{port}/")
    with serve(site_dir, port, "--no-api") as served:  # the site is up, its API is not
        product = Product("local, API down", served.base_url, site_dir)
        visitor = visitor_for(product)
        visitor.open("privacy/")
        visitor.banner("Accept all")
        expect(visitor.page.locator(BANNER)).to_be_hidden()
        wait_for(visitor.page, "window.__analyticsRuns === 1")  # applied at once
        rid = visitor.choice()["rid"]
        visitor.open("cookies/")  # another page view: retried, still failing, still queued once
        wait_for(visitor.page, "window.__analyticsRuns === 1")
        visitor.page.wait_for_load_state("networkidle")
        assert visitor.queued() == [rid]

    with serve(site_dir, port):  # the API is back, with the same database
        visitor.open("privacy/history/")
        stored = visitor.wait_until_stored()
        assert stored["id"] == rid
        visitor.open("privacy/")
        visitor.page.wait_for_load_state("networkidle")
        assert [r["consentReceiptID"] for r in visitor.history()] == [rid]
        assert visitor.history()[0]["choices"] == {"necessary": True, "analytics": True, "advertising": True}
    assert visitor.csp_violations == []


# -- Journey 5: Global Privacy Control ------------------------------------------------------

def test_journey_5_gpc_refuses_sale_and_sharing_without_asking_and_the_receipt_records_it(
    local_product: Product, visitor_for: Callable[..., Visitor]
) -> None:
    visitor = visitor_for(local_product, gpc=True)
    visitor.open("privacy/")
    visitor.banner("Customize")
    advertising = visitor.page.locator("#imr-consent-dialog").get_by_role("switch", name="Advertising features")
    expect(advertising).to_be_disabled()
    expect(advertising).not_to_be_checked()
    expect(visitor.page.locator("[data-consent-gpc-note=advertising]")).to_contain_text(
        "Opt-out preference signal honored")
    visitor.page.locator("#imr-consent-dialog").get_by_role("button", name="Accept all").click()
    visitor.wait_until_stored()
    (receipt,) = visitor.history()
    assert receipt["choices"] == {"necessary": True, "analytics": True, "advertising": False}
    assert receipt["gpc"] is True and receipt["secGpcHeader"] is True
    assert visitor.csp_violations == []


# -- Journey 6: the visitor's own receipt -------------------------------------------------

def test_journey_6_the_visitor_views_downloads_and_verifies_their_receipt(
    local_product: Product, visitor_for: Callable[..., Visitor]
) -> None:
    visitor = visitor_for(local_product)
    reject_all_on_the_privacy_policy(visitor)
    choice = visitor.choice()
    with visitor.page.expect_popup() as opened:  # the token is POSTed into a new tab, never in a URL
        visitor.open_settings_from_footer().get_by_role("button", name="View your receipt").click()
    receipt_page = opened.value
    assert receipt_page.url == local_product.url(f"api/v1/receipts/{choice['rid']}")
    main = receipt_page.locator("main")
    expect(main).to_contain_text(f"Consent ID: {choice['rid']}")
    expect(main).to_contain_text(re.compile(r"Recorded: \d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2} UTC"))
    expect(main).to_contain_text(f"privacy, version {CURRENT}")
    expect(main.locator("tr", has_text="analytics").first).to_contain_text("No")

    with receipt_page.expect_download() as download:
        receipt_page.get_by_role("button", name="Download this receipt (JSON)").click()
    stored = json.loads(Path(download.value.path()).read_text())
    assert stored["receipt"]["consentReceiptID"] == choice["rid"]
    assert stored["receipt"]["policyUrl"] == local_product.url(f"privacy/{CURRENT}/")
    assert stored["receipt"]["choices"] == {"advertising": False, "analytics": False, "necessary": True}

    visitor.open("privacy/")  # the site's own pages may reach the API (connect-src 'self')
    verdict = visitor.page.evaluate(
        """async (token) => (await fetch('/api/v1/receipts/verify', {method: 'POST',
            headers: {'Content-Type': 'application/json'}, body: JSON.stringify({token})})).json()""",
        stored["token"],
    )
    assert verdict["genuine"] is True and verdict["stored"] is True and verdict["unaltered"] is True
    assert verdict["receipt_id"] == choice["rid"] and verdict["subject_id"] == choice["sid"]
    assert visitor.csp_violations == []
