"""The consent inventory: one source of truth, validated with messages that say where."""

from __future__ import annotations

import shutil
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
    base = load_inventory(REAL).revision("2026-11-22", "en")
    assert load_inventory(REAL).revision("2026-11-22", "en") == base
    assert load_inventory(REAL).revision("2027-01-01", "en") != base  # a material policy version
    reworded = tmp_path / "reworded.yml"
    override = "    policy_name: Privacy Policy\n    accept_all: Accept all cookies\n"
    reworded.write_text(REAL.read_text().replace("    policy_name: Privacy Policy\n", override))
    assert load_inventory(reworded).texts_for("en", {})["accept_all"] == "Accept all cookies"
    assert load_inventory(reworded).revision("2026-11-22", "en") == base  # a button's wording
    new_cookie = tmp_path / "cookie.yml"
    new_cookie.write_text(REAL.read_text().replace("analytics_storage]", "analytics_storage, ad_storage]", 1))
    assert load_inventory(new_cookie).revision("2026-11-22", "en") != base


def test_a_text_changed_in_one_language_changes_only_that_languages_revision(tmp_path: Path) -> None:
    real = load_inventory(REAL)
    changed = tmp_path / "inventory.yml"
    text = REAL.read_text()
    old = "Google Analytics zählt Besuche"
    assert old in text
    changed.write_text(text.replace(old, "Google Analytics zählt die Besuche"))
    edited = load_inventory(changed)
    assert edited.revision("2026-11-22", "de") != real.revision("2026-11-22", "de")
    for language in ("en", "fr", "es", "it", "nl", "pl"):
        assert edited.revision("2026-11-22", language) == real.revision("2026-11-22", language)
    assert len({real.revision("2026-11-22", lang) for lang in ("en", "de", "fr")}) == 3


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ("expiry_days: 182", "expiry_days: 500",
         "'expiry_days' must be a whole number of days from 1 to 395 (13 months)"),
        ("  - id: analytics", "  - id: Analytics!",
         "categories[1].id must be a short lowercase name like 'analytics'"),
        ("    consent_mode: [analytics_storage]", "    consent_mode: [analytics_cookies]",
         "'analytics': 'consent_mode' must list signals among ad_storage, analytics_storage, ad_user_data, "
         "ad_personalization"),
        ("    required: true", "    required: yes please", "'necessary': 'required' must be true or false"),
        ("origins: [https://*.googletagmanager.com,", "origins: [http://www.googletagmanager.com,",
         "'analytics': 'origins' must list third-party origins like 'https://www.example.com' "
         "or 'https://*.example.com'"),
        ("gpc_last_update: 2026-11-22", "gpc_last_update: last week",
         "'gpc_last_update' must be a date, YYYY-MM-DD"),
        ("  de:\n    policy_name", "  Deutsch:\n    policy_name",
         "texts: 'Deutsch' is not a language tag like 'de' or 'pt-BR'"),
    ],
)
def test_a_malformed_inventory_is_rejected_naming_the_line(tmp_path: Path, old: str, new: str, message: str) -> None:
    broken = tmp_path / "inventory.yml"
    text = REAL.read_text()
    assert old in text
    line = text[: text.index(old)].count("\n") + 1
    if old.startswith("  de:"):
        line = text[: text.index("\ntexts:")].count("\n") + 2  # a bad language tag: the 'texts' line
    broken.write_text(text.replace(old, new, 1))
    with pytest.raises(InventoryError) as caught:
        load_inventory(broken)
    assert (caught.value.line, caught.value.message) == (line, message)
    assert str(caught.value) == f"{broken}:{line}: {message}"


def test_a_broken_inventory_fails_the_build_with_its_message(tmp_path: Path) -> None:
    docs = tmp_path / "docs"
    (docs / "cookies").mkdir(parents=True)
    (docs / "index.md").write_text("# Home\n")
    (docs / "cookies" / "inventory.yml").write_text("policy: privacy\ncategories: []\n")
    result = cli("build", "--docs-dir", str(docs), "--site-dir", str(tmp_path / "site"), check=False)
    assert result.returncode == 1
    assert "inventory.yml:2: 'categories' must be a list of one or more categories" in result.stderr


def test_an_operator_text_missing_in_one_built_language_fails_the_build_naming_file_key_and_language(
    tmp_path: Path,
) -> None:
    fixtures = ROOT / "tests" / "pages" / "fixtures"
    shutil.copytree(fixtures / "docs", tmp_path / "docs")
    shutil.copy(fixtures / "policies.lock", tmp_path / "policies.lock")
    inventory = tmp_path / "docs" / "cookies" / "inventory.yml"
    text = inventory.read_text()
    old = "      nl: Statistieken\n"
    assert old in text
    inventory.write_text(text.replace(old, ""))
    line = text[: text.index("  - id: analytics")].count("\n") + 2  # its 'name:' line
    result = cli("build", "--docs-dir", str(tmp_path / "docs"), "--site-dir", str(tmp_path / "site"),
                 "--date", "2026-11-01", check=False)
    assert result.returncode == 1
    assert (f"{inventory}:{line}: categories[1] 'analytics': name.nl is missing: the site is built in 'nl', "
            "so every operator text needs a text in 'nl' (no English is shown in its place)") in result.stderr
    assert not (tmp_path / "site" / "index.html").exists()  # nothing was built


def test_the_shipped_files_stay_small() -> None:
    assets = build_assets()
    js, css, boot = assets.js, assets.css, assets.boot
    assert js.hashed_name.startswith("consent.") and js.hashed_name.endswith(".js")
    # The boot script and the stylesheet are inlined in every page: they stay very small.
    assert len(js.text) < 16_000 and len(css.text) < 4_000 and len(boot) < 4_000


def test_a_missing_operator_text_is_an_error_naming_key_and_language_never_english(tmp_path: Path) -> None:
    text = REAL.read_text()
    old = "          fr: Conserve l'état d'une visite, pour Google Analytics.\n"
    assert old in text
    broken = tmp_path / "inventory.yml"
    broken.write_text(text.replace(old, ""))
    inventory = load_inventory(broken)  # a well-formed file: the language is what is missing
    inventory.require("de")
    with pytest.raises(InventoryError) as caught:
        inventory.require("fr")
    assert caught.value.message.startswith(
        "categories[1] 'analytics': cookie '_ga_*': purpose.fr is missing: the site is built in 'fr'")
    assert caught.value.line == text[: text.index("        purpose:\n          en: Keeps")].count("\n") + 1
