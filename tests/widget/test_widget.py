"""The consent widget in a real Chromium on the built site."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import pytest
from playwright.sync_api import expect

from tests.harness import ROOT, Served, build, free_port, serve, wait_for
from tests.widget.conftest import Visit, route_analytics

pytestmark = pytest.mark.browser

BANNER = "#imr-consent-banner"
DIALOG = "#imr-consent-dialog"


def click_banner(visit: Visit, name: str) -> None:
    visit.page.locator(BANNER).get_by_role("button", name=name).click()


def test_nothing_from_analytics_runs_before_a_choice(visit: Visit) -> None:
    visit.goto("privacy/")
    expect(visit.page.locator(BANNER)).to_be_visible()
    visit.page.wait_for_load_state("networkidle")
    assert visit.analytics_ran() == 0
    assert visit.analytics_requests == []
    assert not [n for n in visit.cookies() if n.startswith("_ga")]
    assert visit.choice() is None


def test_reject_is_one_click_on_first_layer_and_keeps_analytics_off(visit: Visit) -> None:
    visit.goto("privacy/")
    click_banner(visit, "Reject all")
    expect(visit.page.locator(BANNER)).to_be_hidden()
    choice = visit.choice()
    assert choice is not None
    assert choice["c"] == {"necessary": True, "analytics": False, "advertising": False}
    visit.goto("privacy/history/")
    visit.page.wait_for_load_state("networkidle")
    expect(visit.page.locator(BANNER)).to_be_hidden()
    assert visit.analytics_ran() == 0 and visit.analytics_requests == []
    assert not [n for n in visit.cookies() if n.startswith("_ga")]


def test_accept_loads_analytics_and_it_runs(visit: Visit) -> None:
    visit.goto("privacy/")
    click_banner(visit, "Accept all")
    wait_for(visit.page, "window.__analyticsRuns === 1")
    assert len(visit.analytics_requests) == 1
    assert {"_ga", "_ga_TEST123"} <= set(visit.cookies())
    visit.goto("privacy/history/")
    wait_for(visit.page, "window.__analyticsRuns === 1")
    expect(visit.page.locator(BANNER)).to_be_hidden()


def test_withdrawal_removes_analytics_cookies_and_stops_it_on_later_pages(visit: Visit) -> None:
    visit.goto("privacy/")
    click_banner(visit, "Accept all")
    wait_for(visit.page, "window.__analyticsRuns === 1")
    visit.page.locator(".md-footer").get_by_role("button", name="Cookie settings").click()
    dialog = visit.page.locator(DIALOG)
    dialog.get_by_role("switch", name="Analytics").uncheck()
    with visit.page.expect_navigation():  # analytics already ran: the page reloads to stop it
        dialog.get_by_role("button", name="Save my choices").click()
    assert not [n for n in visit.cookies() if n.startswith("_ga")]
    choice = visit.choice()
    assert choice is not None and choice["m"] == "withdrawal" and choice["c"]["analytics"] is False
    requests_before = len(visit.analytics_requests)
    visit.goto("privacy/history/")
    visit.page.wait_for_load_state("networkidle")
    assert visit.analytics_ran() == 0
    assert len(visit.analytics_requests) == requests_before


@pytest.mark.parametrize(("button", "runs"), [("Accept all", 1), ("Reject all", 0)])
def test_gating_holds_across_instant_navigation(
    fixture_site: Served, page: Any, button: str, runs: int
) -> None:
    visit = Visit(page, fixture_site)
    route_analytics(page, visit)
    visit.goto("demo/")
    click_banner(visit, button)
    page.evaluate("window.__stayed = true")
    page.locator("nav.md-nav--primary").get_by_role("link", name="Fixture legal site").click()
    page.wait_for_url(fixture_site.base_url)
    expect(page.locator("article h1")).to_contain_text("Fixture legal site")
    page.wait_for_load_state("networkidle")
    assert page.evaluate("window.__stayed") is True  # instant navigation, not a page load
    assert page.evaluate("window.__contentGatedRuns || 0") == runs
    assert visit.analytics_ran() == runs


def test_accept_and_reject_are_equally_prominent(visit: Visit) -> None:
    visit.goto("privacy/")
    styles = visit.page.evaluate(
        """() => [...document.querySelectorAll('#imr-consent-banner button')].map((b) => {
            const s = getComputedStyle(b), r = b.getBoundingClientRect();
            return {text: b.textContent.trim(), tag: b.tagName, width: r.width, height: r.height,
                    top: r.top, weight: s.fontWeight, size: s.fontSize, color: s.color,
                    background: s.backgroundColor, border: s.borderColor};
        })"""
    )
    by_text = {s.pop("text"): s for s in styles}
    accept, reject = by_text["Accept all"], by_text["Reject all"]
    assert accept == reject
    assert set(by_text) == {"Accept all", "Reject all", "Customize"}


def test_no_switch_is_pre_ticked(visit: Visit) -> None:
    visit.goto("privacy/")
    click_banner(visit, "Customize")
    switches = visit.page.locator(f"{DIALOG} [data-consent-category]")
    assert switches.count() == 2
    for i in range(switches.count()):
        expect(switches.nth(i)).not_to_be_checked()
        expect(switches.nth(i)).to_be_enabled()


def test_closing_or_ignoring_is_not_consent(visit: Visit) -> None:
    visit.goto("privacy/")
    click_banner(visit, "Customize")
    visit.page.keyboard.press("Escape")
    expect(visit.page.locator(DIALOG)).to_be_hidden()
    visit.goto("privacy/history/")
    expect(visit.page.locator(BANNER)).to_be_visible()
    assert visit.choice() is None and visit.analytics_ran() == 0


def test_a_new_revision_asks_again(visit: Visit) -> None:
    visit.goto("privacy/")
    click_banner(visit, "Accept all")
    visit.set_choice(rev="an-older-revision")
    visit.goto("privacy/history/")
    expect(visit.page.locator(BANNER)).to_be_visible()
    expect(visit.page.locator(".imr-consent__changed")).to_be_hidden()
    assert visit.analytics_ran() == 0


def test_an_expired_choice_asks_again(visit: Visit) -> None:
    visit.goto("privacy/")
    click_banner(visit, "Accept all")
    visit.set_choice(ts=int((time.time() - 183 * 86400) * 1000))
    visit.goto("privacy/history/")
    expect(visit.page.locator(BANNER)).to_be_visible()
    assert visit.analytics_ran() == 0


def test_a_material_policy_change_asks_again_and_links_to_the_redline(visit: Visit) -> None:
    visit.goto("privacy/")
    click_banner(visit, "Reject all")
    visit.set_choice(rev="revision-before-the-change", pv="2025-03-31")
    visit.goto("privacy/history/")
    changed = visit.page.locator(".imr-consent__changed")
    expect(changed).to_be_visible()
    expect(changed).to_contain_text("Privacy Policy: changed on November 22, 2026.")
    expect(changed.get_by_role("link", name="See what changed")).to_have_attribute(
        "href", re.compile(r"privacy/2026-11-22/changes/$")
    )


GPC = "Object.defineProperty(Navigator.prototype, 'globalPrivacyControl', {get: () => true});"


def test_gpc_refuses_sale_and_sharing_without_asking(api_up: Visit) -> None:
    visit = api_up
    visit.page.add_init_script(GPC)
    visit.goto("privacy/")
    click_banner(visit, "Customize")
    advertising = visit.page.locator(DIALOG).get_by_role("switch", name="Advertising features")
    expect(advertising).to_be_disabled()
    expect(advertising).not_to_be_checked()
    expect(visit.page.locator("[data-consent-gpc-note=advertising]")).to_be_visible()
    expect(visit.page.locator("[data-consent-gpc-note=advertising]")).to_contain_text(
        "Opt-out preference signal honored"
    )
    visit.page.locator(DIALOG).get_by_role("button", name="Accept all").click()
    choice = visit.choice()
    assert choice is not None and choice["c"] == {"necessary": True, "analytics": True, "advertising": False}
    wait_for(visit.page, "window.__analyticsRuns === 1")
    update = [e for e in visit.data_layer() if e[:2] == ["consent", "update"]][-1][2]
    assert update["analytics_storage"] == "granted" and update["ad_storage"] == "denied"
    wait_for(visit.page, "localStorage.getItem('imr_consent_receipt') !== null")
    assert visit.receipts[-1]["gpc"] is True
    assert visit.receipts[-1]["choices"]["advertising"] is False


def test_gpc_wins_over_an_earlier_choice(visit: Visit) -> None:
    visit.goto("privacy/")
    click_banner(visit, "Accept all")
    visit.page.add_init_script(GPC)
    visit.goto("privacy/history/")
    choice = visit.choice()
    assert choice is not None
    assert choice["m"] == "gpc" and choice["c"]["advertising"] is False and choice["c"]["analytics"] is True


def test_consent_mode_default_comes_before_any_config_and_is_never_repeated(visit: Visit) -> None:
    visit.goto("privacy/")
    first = visit.data_layer()
    assert [e[:2] for e in first] == [["consent", "default"]]
    assert first[0][2] == {"ad_storage": "denied", "analytics_storage": "denied", "ad_user_data": "denied",
                           "ad_personalization": "denied", "wait_for_update": 500}
    click_banner(visit, "Accept all")
    wait_for(visit.page, "window.__analyticsRuns === 1")
    calls = [e[0] if e[0] != "consent" else f"consent {e[1]}" for e in visit.data_layer()]
    assert calls.index("consent default") == 0
    assert calls.index("consent update") < calls.index("config")
    assert calls.count("consent default") == 1
    visit.goto("privacy/history/")
    wait_for(visit.page, "window.__analyticsRuns === 1")
    calls = [e[0] if e[0] != "consent" else f"consent {e[1]}" for e in visit.data_layer()]
    assert calls[:2] == ["consent default", "set"] or calls[:2] == ["consent default", "consent update"]
    assert calls.count("consent default") == 1
    assert "consent update" in calls and calls.index("consent update") < calls.index("config")


def test_banner_and_dialog_work_with_the_keyboard_alone(visit: Visit) -> None:
    visit.goto("privacy/")
    page = visit.page
    page.keyboard.press("Tab")
    focused = page.evaluate("document.activeElement.closest('#imr-consent-banner') !== null")
    assert focused, "the banner comes first in the tab order"
    while page.evaluate("document.activeElement.textContent.trim()") != "Customize":
        page.keyboard.press("Tab")
    page.keyboard.press("Enter")
    expect(page.locator(DIALOG)).to_be_visible()
    assert page.evaluate("document.activeElement.dataset.consentCategory") == "analytics"
    page.keyboard.press("Space")
    while page.evaluate("document.activeElement.textContent.trim()") != "Save my choices":
        page.keyboard.press("Tab")
    page.keyboard.press("Enter")
    expect(page.locator(DIALOG)).to_be_hidden()
    expect(page.locator(BANNER)).to_be_hidden()
    choice = visit.choice()
    assert choice is not None and choice["c"]["analytics"] is True and choice["c"]["advertising"] is False
    assert choice["m"] == "dialog"


def test_dialog_traps_focus_and_returns_it(visit: Visit) -> None:
    visit.goto("privacy/")
    click_banner(visit, "Reject all")
    page = visit.page
    opener = page.locator(".md-footer").get_by_role("button", name="Cookie settings")
    opener.focus()
    page.keyboard.press("Enter")
    expect(page.locator(DIALOG)).to_be_visible()
    for _ in range(12):
        page.keyboard.press("Tab")
        assert page.evaluate("document.activeElement.closest('#imr-consent-dialog') !== null")
    page.keyboard.press("Shift+Tab")
    assert page.evaluate("document.activeElement.closest('#imr-consent-dialog') !== null")
    page.keyboard.press("Escape")
    expect(page.locator(DIALOG)).to_be_hidden()
    assert page.evaluate("document.activeElement.textContent.trim()") == "Cookie settings"
    assert page.evaluate("document.activeElement.closest('.md-footer') !== null")


def test_a_choice_is_posted_as_a_receipt(api_up: Visit) -> None:
    visit = api_up
    visit.goto("privacy/")
    click_banner(visit, "Reject all")
    wait_for(visit.page, "localStorage.getItem('imr_consent_receipt') !== null")
    choice = visit.choice()
    assert choice is not None
    [receipt] = visit.receipts
    assert receipt["receipt_id"] == choice["rid"] and receipt["subject_id"] == choice["sid"]
    assert receipt["choices"] == {"necessary": True, "analytics": False, "advertising": False}
    assert receipt["policy"] == {"id": "privacy", "version": "2026-11-22"}
    assert receipt["method"] == "banner" and receipt["gpc"] is False and receipt["language"] == "en"
    assert receipt["config_revision"] == choice["rev"]
    assert receipt["page"] == visit.site.url("privacy/")


NEW_SUBJECT = "4f1c2d3e-0000-4000-8000-00000000abcd"


@pytest.mark.parametrize("meanwhile", [None, "another writer"])
def test_the_choice_follows_the_subject_the_api_assigns_but_never_over_a_newer_cookie(
    visit: Visit, meanwhile: str | None
) -> None:
    """The API may put a receipt in a subject of its own; the widget then moves the stored
    choice to it, but only while the cookie still holds that choice: a choice written while
    the receipt was in flight (by anything but this browser's queue) is kept as it is."""
    page = visit.page
    held: list[Any] = []
    page.context.route("**/api/v1/receipts", lambda route: held.append(route))
    visit.goto("privacy/")
    click_banner(visit, "Reject all")
    deadline = time.monotonic() + 10
    while not held and time.monotonic() < deadline:
        page.wait_for_timeout(20)
    [route] = held
    sent = route.request.post_data_json
    if meanwhile:
        other = {"v": 1, "sid": sent["subject_id"], "rid": "00000000-0000-4000-8000-00000000beef",
                 "rev": sent["config_revision"], "pv": "x", "ts": int(time.time() * 1000),
                 "c": {"necessary": True, "analytics": True, "advertising": False}, "m": "dialog"}
        page.evaluate("(v) => { document.cookie = 'imr_consent=' + v + '; Path=/'; }",
                      quote(json.dumps(other, separators=(",", ":"))))
    route.fulfill(status=201, content_type="application/json", body=json.dumps(
        {"receipt": {"piiPrincipalId": NEW_SUBJECT}, "token": "t"}))
    wait_for(page, "JSON.parse(localStorage.getItem('imr_consent_queue') || '[]').length === 0")
    choice = visit.choice()
    assert choice is not None
    if meanwhile:
        assert choice == other
    else:
        assert choice["rid"] == sent["receipt_id"] and choice["sid"] == NEW_SUBJECT
    assert page.evaluate("JSON.parse(localStorage.getItem('imr_consent_receipt')).sid") == NEW_SUBJECT


def test_a_receipt_is_queued_while_the_api_is_down_and_sent_later_with_the_same_id(visit: Visit) -> None:
    page = visit.page
    page.context.route("**/api/v1/receipts", lambda route: route.abort("connectionrefused"))
    visit.goto("privacy/")
    click_banner(visit, "Accept all")
    expect(page.locator(BANNER)).to_be_hidden()  # the choice applies at once
    wait_for(page, "window.__analyticsRuns === 1")
    queue = page.evaluate("JSON.parse(localStorage.getItem('imr_consent_queue'))")
    choice = visit.choice()
    assert choice is not None and [q["receipt_id"] for q in queue] == [choice["rid"]]
    page.context.unroute("**/api/v1/receipts")
    sent: list[str] = []

    def api(route: Any) -> None:
        sent.append(route.request.post_data_json["receipt_id"])
        route.fulfill(status=201, content_type="application/json", body='{"token": "t"}')

    page.context.route("**/api/v1/receipts", api)
    visit.goto("privacy/history/")
    wait_for(page, "JSON.parse(localStorage.getItem('imr_consent_queue')).length === 0")
    assert sent == [choice["rid"]]
    visit.goto("privacy/")
    page.wait_for_load_state("networkidle")
    assert sent == [choice["rid"]]


def test_the_dialog_shows_the_consent_id_date_and_receipt_link(api_up: Visit) -> None:
    visit = api_up
    visit.goto("privacy/")
    click_banner(visit, "Reject all")
    wait_for(visit.page, "localStorage.getItem('imr_consent_receipt') !== null")
    visit.page.locator(".md-footer").get_by_role("button", name="Cookie settings").click()
    record = visit.page.locator("[data-consent-record]")
    choice = visit.choice()
    assert choice is not None
    expect(record.locator("[data-consent-field=id]")).to_have_text(choice["rid"])
    expect(record.locator("time")).to_have_attribute("datetime", re.compile(r"^\d{4}-\d{2}-\d{2}T"))
    expect(record.get_by_role("button", name="View your receipt")).to_be_visible()
    form = visit.page.locator("#imr-consent-receipt")  # the token is POSTed, never put in a URL
    expect(form).to_have_attribute("action", f"/api/v1/receipts/{choice['rid']}")
    expect(form).to_have_attribute("method", "post")
    assert form.locator("[name=token]").input_value() == f"token-{choice['rid']}"


def test_other_scripts_read_state_listen_to_changes_and_open_the_dialog(visit: Visit) -> None:
    visit.goto("privacy/")
    page = visit.page
    assert page.evaluate("imrConsent.get('analytics')") is None
    assert page.evaluate("imrConsent.get('necessary')") is True
    page.evaluate("document.addEventListener('consent:change', (e) => { window.__changed = e.detail })")
    click_banner(visit, "Accept all")
    detail = page.evaluate("window.__changed")
    assert detail["choices"]["analytics"] is True and detail["method"] == "banner"
    assert page.evaluate("imrConsent.get('analytics')") is True
    page.evaluate("imrConsent.open()")
    expect(page.locator(DIALOG)).to_be_visible()


def test_the_cookie_page_lists_every_cookie_and_opens_the_settings(visit: Visit) -> None:
    visit.goto("cookies/")
    page = visit.page
    click_banner(visit, "Reject all")
    rows = page.locator("article table tbody tr")
    names = [rows.nth(i).locator("td").first.inner_text() for i in range(rows.count())]
    assert names == ["imr_consent", "_ga", "_ga_*"]
    expect(page.locator("article")).to_contain_text("Advertising features")
    page.locator("article").get_by_role("button", name="Cookie settings").click()
    expect(page.locator(DIALOG)).to_be_visible()


@pytest.mark.parametrize("path", ["/", "privacy/", "privacy/2025-03-31/", "privacy/history/", "cookies/"])
def test_every_page_has_a_cookie_settings_link_in_its_footer(visit: Visit, path: str) -> None:
    visit.goto(path)
    expect(visit.page.locator(".md-footer").get_by_role("button", name="Cookie settings")).to_be_attached()


def test_the_banner_is_there_at_first_paint_and_shifts_nothing(visit: Visit) -> None:
    """The banner is painted with the first contentful paint, nothing in it ever moves, and
    nothing on the page moves once the document is parsed (scripts: the widget's, Material's,
    the site's). While the parser is still at work a slow machine may paint a partial page, and
    the rest of the text then arrives below and beside it (a line growing by a late inline
    button, Material's table of contents filling in): those shifts are the browser's
    progressive rendering, reported here but not failed on (one clean-clone CI run saw 0.074)."""
    page = visit.page
    # Every animation frame records whether the banner is displayed; the last frame
    # that starts before the first contentful paint is the frame that painted it.
    page.add_init_script("""
        window.__shifts = [];
        new PerformanceObserver((l) => l.getEntries().forEach((e) => {
            const banner = document.getElementById('imr-consent-banner');
            window.__shifts.push({value: e.value, at: e.startTime, sources: e.sources.map((s) => ({
                node: s.node && s.node.nodeType === 1 ? s.node.tagName + '.' + s.node.className
                    : s.node && s.node.textContent.slice(0, 40),
                inBanner: !!(banner && s.node && banner.contains(s.node)),
                from: [s.previousRect.y, s.previousRect.height], to: [s.currentRect.y, s.currentRect.height]}))});
        })).observe({type: 'layout-shift', buffered: true});
        window.__frames = [];
        (function tick() {
            const b = document.getElementById('imr-consent-banner');
            __frames.push([performance.now(), !!b && getComputedStyle(b).display !== 'none']);
            if (__frames.length < 300) requestAnimationFrame(tick);
        })();
    """)
    visit.goto("privacy/")
    page.wait_for_load_state("networkidle")
    page.wait_for_timeout(300)
    fcp = page.evaluate("performance.getEntriesByName('first-contentful-paint')[0].startTime")
    frames = page.evaluate("window.__frames")
    painted = [shown for t, shown in frames if t <= fcp]
    assert painted and painted[-1] is True, (fcp, frames[:8])
    shifts = page.evaluate("window.__shifts")
    parsed = page.evaluate("performance.getEntriesByType('navigation')[0].domInteractive")
    assert [s for s in shifts if any(src["inBanner"] for src in s["sources"])] == [], shifts
    assert [s for s in shifts if s["at"] >= parsed] == [], (parsed, shifts)
    if shifts:
        print(f"progressive rendering before the document was parsed ({parsed:.0f} ms): {shifts}")


@pytest.fixture(scope="module")
def site_before_the_policy(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """The fixture site built before its consent policy ('demo', first effective 2026-01-01) exists."""
    port = free_port()
    site_dir = tmp_path_factory.mktemp("before-the-policy")
    build(site_dir, site_url=f"http://127.0.0.1:{port}/", date="2025-12-01",
          docs_dir=ROOT / "tests" / "pages" / "fixtures" / "docs")
    with serve(site_dir, port) as served:
        yield served


def test_before_the_first_version_takes_effect_nothing_is_asked_granted_or_recorded(
    site_before_the_policy: Served, page: Any
) -> None:
    site = site_before_the_policy
    visit = Visit(page, site)
    route_analytics(page, visit)
    api_calls: list[str] = []

    def refuse(route: Any) -> None:
        api_calls.append(route.request.url)
        route.abort()

    page.context.route("**/api/**", refuse)
    manifest = json.loads((site.site_dir / "consent.json").read_text())
    assert manifest["policy"] == {"id": "demo", "version": None, "anchor": None}
    assert manifest["accepting_choices"] is False
    # A choice left by some earlier build, granting everything with this very revision, counts for nothing.
    forged = {"v": 1, "sid": "00000000-0000-4000-8000-000000000000", "rid": "00000000-0000-4000-8000-000000000001",
              "rev": manifest["revision"], "pv": None, "ts": int(time.time() * 1000),
              "c": {c["id"]: True for c in manifest["categories"]}, "m": "banner"}
    page.context.add_cookies([{"name": "imr_consent", "value": quote(json.dumps(forged)), "url": site.base_url}])
    visit.goto("")
    expect(page.locator("article")).to_contain_text("Demo Policy: no version is published yet.")
    page.wait_for_load_state("networkidle")
    expect(page.locator(BANNER)).to_have_count(0)
    assert page.evaluate("window.__contentGatedRuns || 0") == 0
    assert visit.analytics_ran() == 0 and visit.analytics_requests == []
    assert page.evaluate("window.imrConsent.get('analytics')") is False
    page.locator("footer").get_by_role("button", name="Cookie settings").click()
    dialog = page.locator(DIALOG)
    expect(dialog).to_be_visible()
    expect(dialog).to_contain_text("Cookie choices open when Demo Policy takes effect.")
    for name in ("Accept all", "Reject all", "Save choices"):
        expect(dialog.get_by_role("button", name=name)).to_have_count(0)
    switches = dialog.locator("[data-consent-category]")
    assert switches.count() >= 1
    for i in range(switches.count()):
        expect(switches.nth(i)).to_be_disabled()
    assert api_calls == []


def test_without_its_inline_boot_the_widget_fails_closed_and_says_why(visit: Visit) -> None:
    """A proxy that rewrites the inline boot (its CSP hash then fails) or strips it: the
    deferred script stops with a message naming the cause, and nothing gated runs, even with
    a stored choice that grants analytics."""
    visit.goto("privacy/")
    click_banner(visit, "Accept all")
    wait_for(visit.page, "window.__analyticsRuns === 1")
    errors: list[str] = []
    visit.page.on("pageerror", lambda e: errors.append(str(e)))

    def without_boot(route: Any) -> None:
        html = route.fetch().text()
        stripped = re.sub(r"<script>(?:(?!</script>).)*?__imrConsentBoot(?:(?!</script>).)*?</script>", "", html,
                          count=1, flags=re.S)
        assert stripped != html
        route.fulfill(body=stripped, content_type="text/html")

    visit.page.route("**/privacy/history/", without_boot)
    visit.goto("privacy/history/")
    visit.page.wait_for_load_state("networkidle")
    assert any("imrConsent: inline boot blocked" in e for e in errors), errors
    assert visit.analytics_ran() == 0 and len(visit.analytics_requests) == 1  # only the earlier page's
    assert visit.page.evaluate("typeof window.imrConsent") == "undefined"
