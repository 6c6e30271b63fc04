"""Every visitor in their own language, tried in Chromium as a visitor of each language the
site is built in would: what the banner, the dialog and the cookie page show, axe, a 320 px
screen, the language selector, the receipt, and a right-to-left page."""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import Iterator
from typing import Any

import pytest
import yaml
from axe_playwright_python.sync_playwright import Axe

from consent_widget import LOCALES
from consent_widget.inventory import load_inventory
from tests.harness import ROOT, Served, cli, free_port, serve, wait_for
from tests.i18n.test_catalogues import catalogues, site_languages
from tests.widget.conftest import Visit, route_analytics

pytestmark = pytest.mark.browser
LANGUAGES = site_languages()
WCAG_AA = {"runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]}}
VISIBLE_TEXT = """(root) => {
  const out = [];
  const walk = document.createTreeWalker(root, NodeFilter.SHOW_TEXT);
  for (let n = walk.nextNode(); n; n = walk.nextNode()) {
    const text = n.textContent.replace(/\\s+/g, " ").trim();
    const el = n.parentElement;
    if (text && el && el.checkVisibility() && !el.closest("script, style, template")) out.push(text);
  }
  return out;
}"""
NEUTRAL = {"¶", "_ga", "_ga_*", "imr_consent", "Google"}


def root(language: str) -> str:
    return "" if language == "en" else f"{language}/"


def allowed_texts(language: str) -> list[str]:
    """Every text of ``language``: the widget's catalogue and the operator's inventory."""
    inventory = load_inventory(ROOT / "docs" / "cookies" / "inventory.yml")
    texts = inventory.texts_for(language, json.loads((LOCALES / f"{language}.json").read_text())["texts"])
    found = [re.sub(r"\s+", " ", t.replace("{policy}", texts["policy_name"])) for t in texts.values()]
    for c in inventory.categories:
        found += [c.name[language], c.description[language]]
        found += [x for k in c.cookies for x in (k.purpose[language], k.duration[language], k.provider_in(language))]
    return [" ".join(t.split()) for t in found]


def foreign_texts(language: str) -> set[str]:
    """Sentences of the other languages' catalogues that this language does not share."""
    mine = set(allowed_texts(language))
    return {t for code, data in catalogues(LOCALES).items() if code != language
            for t in data["texts"].values() if len(t) > 12 and t not in mine and "{" not in t}


def shown_texts(visit: Visit, language: str) -> list[str]:
    page = visit.page
    visit.goto(root(language) + "privacy/")
    banner = page.locator("#imr-consent-banner")
    banner.wait_for()
    texts: list[str] = banner.evaluate(VISIBLE_TEXT)
    banner.locator("[data-consent-action=customize]").click()
    texts += page.locator("#imr-consent-dialog").evaluate(VISIBLE_TEXT)
    page.keyboard.press("Escape")
    visit.goto(root(language) + "cookies/")
    texts += page.locator("article").evaluate(VISIBLE_TEXT)
    return texts


@pytest.mark.parametrize("language", LANGUAGES)
def test_banner_dialog_and_cookie_page_show_only_the_page_language(visit: Visit, language: str) -> None:
    texts = shown_texts(visit, language)
    assert len(texts) > 20
    allowed = allowed_texts(language)
    dates = re.compile(r"\d")  # the banner's date is filled in; the rest must be found verbatim
    strays = [t for t in texts if t not in NEUTRAL and not any(t in a for a in allowed)
              and not (dates.search(t) and any(t.split()[0] in a for a in allowed))]
    assert strays == []
    foreign = foreign_texts(language)
    assert [t for t in texts if t in foreign] == []
    assert visit.page.evaluate("document.documentElement.lang") == language


def violations(page: Any) -> list[str]:
    results = Axe().run(page, options=WCAG_AA)
    return [f"{v['id']}: {v['help']}" for v in results.response["violations"]]


@pytest.mark.parametrize("language", LANGUAGES)
def test_axe_finds_no_violation_with_the_banner_or_the_dialog_in_each_language(visit: Visit, language: str) -> None:
    visit.goto(root(language) + "privacy/")
    visit.page.locator("#imr-consent-banner").wait_for()
    assert violations(visit.page) == []
    visit.page.locator("#imr-consent-banner [data-consent-action=customize]").click()
    assert violations(visit.page) == []


OVERFLOW = """() => {
  const wide = [];
  for (const el of document.querySelectorAll("#imr-consent-banner *, #imr-consent-dialog *, article *")) {
    // a table scrolls inside Material's own scroll box, by design: the page does not
    if (!el.checkVisibility() || el.closest(".md-typeset__scrollwrap")) continue;
    const box = el.getBoundingClientRect();
    if (box.right > innerWidth + 0.5 || box.left < -0.5) wide.push(el.tagName + " " + el.textContent.slice(0, 40));
  }
  return {page: document.documentElement.scrollWidth, wide};
}"""


@pytest.mark.parametrize("language", LANGUAGES)
def test_nothing_overflows_a_320_px_screen(visit: Visit, language: str) -> None:
    visit.page.set_viewport_size({"width": 320, "height": 640})
    visit.goto(root(language) + "cookies/")
    visit.page.locator("#imr-consent-banner").wait_for()
    # a Finnish compound longer than the screen is wide, as the operator might write one
    visit.page.evaluate("""() => { document.querySelector('.imr-consent__text').textContent +=
      ' Evästeasetustenhallintajärjestelmäkokonaisuudenkäyttöoikeusvaatimukset.'; }""")
    assert visit.page.evaluate(OVERFLOW) == {"page": 320, "wide": []}
    visit.page.locator("#imr-consent-banner [data-consent-action=customize]").click()
    assert visit.page.evaluate(OVERFLOW)["wide"] == []


def test_the_language_selector_keeps_the_page_and_the_one_choice_of_the_site(visit: Visit) -> None:
    page = visit.page
    visit.goto("privacy/")
    page.locator("#imr-consent-banner").get_by_role("button", name="Accept all").click()
    before = visit.choice()
    assert before is not None and before["l"] == "en"
    page.locator(".md-header [hreflang=de]").first.dispatch_event("click")  # the selector's link
    page.wait_for_url("**/de/privacy/")
    assert page.evaluate("document.documentElement.lang") == "de"
    page.wait_for_load_state("networkidle")
    assert not visit.banner_visible()  # one choice per site, not per language
    after = visit.choice()
    assert after is not None and (after["rid"], after["c"], after["rev"]) == (before["rid"], before["c"], before["rev"])
    assert page.evaluate("window.imrConsent.get('analytics')") is True
    expect_text = page.locator("footer").get_by_role("button", name="Cookie-Einstellungen")
    assert expect_text.count() == 1


def test_a_german_visitors_receipt_records_german_and_the_german_revision(api_up: Visit) -> None:
    visit = api_up
    visit.goto("de/privacy/")
    visit.page.locator("#imr-consent-banner").get_by_role("button", name="Alle ablehnen").click()
    wait_for(visit.page, "JSON.parse(localStorage.getItem('imr_consent_queue') || '[]').length === 0")
    manifest = json.loads((visit.site.site_dir / "consent.json").read_text())
    [receipt] = visit.receipts
    assert receipt["language"] == "de"
    assert receipt["config_revision"] == manifest["revisions"]["de"] != manifest["revisions"]["en"]


def test_changed_german_texts_ask_again_the_german_visitor_not_the_english_one(visit: Visit) -> None:
    visit.goto("de/privacy/")
    visit.page.locator("#imr-consent-banner").get_by_role("button", name="Alle ablehnen").click()
    visit.set_choice(rev="0123456789abcdef")  # the German texts changed since this choice
    for path in ("de/privacy/", "privacy/", "fr/privacy/"):
        visit.goto(path)
        visit.page.wait_for_load_state("networkidle")
        assert visit.banner_visible(), path
    manifest = json.loads((visit.site.site_dir / "consent.json").read_text())
    visit.set_choice(l="en", rev=manifest["revisions"]["en"])  # an English choice, current
    for path in ("de/privacy/", "privacy/"):
        visit.goto(path)
        visit.page.wait_for_load_state("networkidle")
        assert not visit.banner_visible(), path


ARABIC = {
    "necessary": ("ضرورية للغاية", "لازمة لعمل الموقع ولتذكّر اختياراتك بشأن ملفات تعريف الارتباط، ولا يمكن إيقافها."),
    "analytics": ("الإحصاءات", "يحصي Google Analytics الزيارات ويبيّن الصفحات المقروءة لنحسّنها، "
                  "ولا يُحمَّل شيء من Google قبل موافقتك."),
    "advertising": ("ميزات الإعلانات", "تسمح لـ Google باستخدام بيانات الإحصاءات للإعلانات. "
                    "لا يعرض هذا الموقع إعلانات."),
}


@pytest.fixture(scope="module")
def arabic_site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """The fixture policies built in English and Arabic, with the operator's Arabic texts."""
    work = tmp_path_factory.mktemp("arabic")
    shutil.copytree(ROOT / "tests" / "pages" / "fixtures" / "docs", work / "docs")
    shutil.copy(ROOT / "tests" / "pages" / "fixtures" / "policies.lock", work / "policies.lock")
    path = work / "docs" / "cookies" / "inventory.yml"
    data = yaml.safe_load(path.read_text())
    for cat in data["categories"]:
        cat["name"]["ar"], cat["description"]["ar"] = ARABIC[cat["id"]]
        for cookie in cat["cookies"]:
            cookie["purpose"]["ar"] = "يتذكّر اختياراتك." if cat.get("required") else "يميّز الزوار لـ Google Analytics."
            cookie["duration"]["ar"] = "6 أشهر" if cat.get("required") else "13 شهرًا"
            if isinstance(cookie["provider"], dict):
                cookie["provider"]["ar"] = "ImaRouter (هذا الموقع)"
    data["texts"]["ar"] = {"policy_name": "سياسة العرض",
                           "banner_text": "نستخدم ملفات تعريف الارتباط اللازمة لعمل هذا الموقع، "
                           "وبموافقتك نستخدم Google Analytics أيضًا لمعرفة الصفحات المقروءة."}
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False))
    config = (ROOT / "mkdocs.yml").read_text()
    languages = ("        - {locale: en, name: English, default: true, build: true}\n"
                 "        - {locale: ar, name: العربية, build: true}\n")
    config = re.sub(r"(      languages:\n)(        - .*\n)+", lambda m: m.group(1) + languages, config)
    config = config.replace("custom_dir: overrides", f"custom_dir: {ROOT / 'overrides'}")
    (work / "mkdocs.yml").write_text(config)
    port = free_port()
    cli("build", "--config", str(work / "mkdocs.yml"), "--docs-dir", str(work / "docs"), "--site-dir",
        str(work / "site"), "--date", "2026-11-01", "--site-url", f"http://127.0.0.1:{port}/")
    with serve(work / "site", port) as served:
        yield served


def test_an_arabic_page_mirrors_the_banner_and_the_dialog(arabic_site: Served, page: Any) -> None:
    visit = Visit(page, arabic_site)
    route_analytics(page, visit)
    visit.goto("ar/demo/")
    banner = page.locator("#imr-consent-banner")
    banner.wait_for()
    assert page.evaluate("[document.documentElement.lang, document.body.dir]") == ["ar", "rtl"]
    assert banner.evaluate("el => getComputedStyle(el).direction") == "rtl"
    buttons = banner.locator(".imr-consent__btn")
    first, last = buttons.first.bounding_box(), buttons.last.bounding_box()
    assert first is not None and last is not None and first["x"] > last["x"]  # "Accept all" on the right
    assert buttons.first.inner_text() == json.loads((LOCALES / "ar.json").read_text())["texts"]["accept_all"]
    banner.locator("[data-consent-action=customize]").click()
    dialog = page.locator("#imr-consent-dialog")
    assert dialog.evaluate("el => getComputedStyle(el).direction") == "rtl"
    label = dialog.locator(".imr-consent__cat label").nth(1)
    text_box = label.evaluate("el => el.firstChild.parentElement.getBoundingClientRect().right")
    switch = label.locator("input").bounding_box()
    assert switch is not None and switch["x"] < text_box - 50  # the switch is at the left, the name at the right
    assert violations(page) == []
