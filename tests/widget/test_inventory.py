"""The consent inventory: one source of truth, validated with messages that say where."""

from __future__ import annotations

from pathlib import Path

import pytest

from consent_widget.build import build_assets
from consent_widget.inventory import InventoryError, load_inventory
from tests.harness import ROOT, cli

REAL = ROOT / "docs" / "cookies" / "inventory.yml"


def test_the_real_inventory_loads() -> None:
    inventory = load_inventory(REAL)
    assert inventory.category_ids() == ["necessary", "analytics", "advertising"]
    assert [c.id for c in inventory.categories if c.sale_or_sharing] == ["advertising"]
    assert inventory.expiry_days == 182


def test_the_revision_changes_with_what_is_asked_not_with_wording(tmp_path: Path) -> None:
    base = load_inventory(REAL).revision("2026-11-22")
    assert load_inventory(REAL).revision("2026-11-22") == base
    assert load_inventory(REAL).revision("2027-01-01") != base  # a material policy version
    reworded = tmp_path / "reworded.yml"
    reworded.write_text(REAL.read_text().replace("accept_all: Accept all", "accept_all: Accept all cookies"))
    assert load_inventory(reworded).revision("2026-11-22") == base
    new_cookie = tmp_path / "cookie.yml"
    new_cookie.write_text(REAL.read_text().replace("duration: 13 months", "duration: 12 months", 1))
    assert load_inventory(new_cookie).revision("2026-11-22") != base


@pytest.mark.parametrize(
    ("old", "new", "line", "message"),
    [
        ("expiry_days: 182", "expiry_days: 500", 7,
         "'expiry_days' must be a whole number of days from 1 to 395 (13 months)"),
        ("  - id: analytics", "  - id: Analytics!", 24,
         "categories[1].id must be a short lowercase name like 'analytics'"),
        ("    consent_mode: [analytics_storage]", "    consent_mode: [analytics_cookies]", 31,
         "'analytics': 'consent_mode' must list signals among ad_storage, analytics_storage, ad_user_data, "
         "ad_personalization"),
        ("    required: true", "    required: yes please", 12, "'necessary': 'required' must be true or false"),
        ("    accept_all: Accept all\n", "", 62, "texts.en is missing: accept_all"),
        ("origins: [https://*.googletagmanager.com,", "origins: [http://www.googletagmanager.com,", 34,
         "'analytics': 'origins' must list third-party origins like 'https://www.example.com' "
         "or 'https://*.example.com'"),
        ("gpc_last_update: 2026-11-22", "gpc_last_update: last week", 8,
         "'gpc_last_update' must be a date, YYYY-MM-DD"),
    ],
)
def test_a_malformed_inventory_is_rejected_naming_the_line(
    tmp_path: Path, old: str, new: str, line: int, message: str
) -> None:
    broken = tmp_path / "inventory.yml"
    text = REAL.read_text()
    assert old in text
    broken.write_text(text.replace(old, new, 1))
    with pytest.raises(InventoryError) as caught:
        load_inventory(broken)
    assert (caught.value.line, caught.value.message) == (line, message)
    assert str(caught.value) == f"{broken}:{line}: {message}"


def test_a_broken_inventory_fails_the_build_with_its_message(tmp_path: Path) -> None:
    docs = tmp_path / "docs"
    (docs / "cookies").mkdir(parents=True)
    (docs / "index.md").write_text("# Home\n")
    (docs / "cookies" / "inventory.yml").write_text("title: Cookies\npolicy: privacy\ncategories: []\n")
    result = cli("build", "--docs-dir", str(docs), "--site-dir", str(tmp_path / "site"), check=False)
    assert result.returncode == 1
    assert "inventory.yml:3: 'categories' must be a list of one or more categories" in result.stderr


def test_the_shipped_files_stay_small() -> None:
    assets = build_assets()
    js, css, boot = assets.js, assets.css, assets.boot
    assert js.hashed_name.startswith("consent.") and js.hashed_name.endswith(".js")
    assert "import " not in js.text + boot and "export " not in js.text + boot
    # The boot script and the stylesheet are inlined in every page: they stay very small.
    assert len(js.text) < 16_000 and len(css.text) < 4_000 and len(boot) < 4_000


def test_texts_follow_the_page_language_with_english_as_fallback(tmp_path: Path) -> None:
    localized = tmp_path / "inventory.yml"
    localized.write_text(REAL.read_text() + "  de:\n    accept_all: Alle akzeptieren\n")
    inventory = load_inventory(localized)
    german = inventory.texts_for("de-CH")
    assert german["accept_all"] == "Alle akzeptieren"
    assert german["reject_all"] == "Reject all"  # not translated: English
    assert inventory.texts_for("fr")["accept_all"] == "Accept all"
