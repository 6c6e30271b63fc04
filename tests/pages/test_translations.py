"""Policies in other languages, honestly: legal's translation when there is one (naming the
exact source it translates), else the English text under a notice; and the check refuses a
translation of some other text."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import shutil
from pathlib import Path

import pytest
from lxml import html

from legal_pages.lint import check
from tests.harness import cli
from tests.pages.conftest import FIXTURE_DOCS, FIXTURE_URL, BuildAsOf

TRANSLATED = FIXTURE_DOCS / "demo" / "versions" / "2026-06-01.de.md"
SOURCE = FIXTURE_DOCS / "demo" / "versions" / "2026-06-01.md"


def text_of(site: Path, path: str) -> tuple[html.HtmlElement, str]:
    doc = html.fromstring((site / path).read_text(encoding="utf-8"))
    return doc, " ".join(str(doc.xpath("string(//article)")).split())


def test_a_translated_version_shows_legals_translation_and_says_which_language_binds(build_as_of: BuildAsOf) -> None:
    site = build_as_of("2026-11-01")
    doc, text = text_of(site, "de/demo/2026-06-01/index.html")
    assert doc.xpath("string(/html/@lang)") == "de"
    assert "Wir prüfen Ihre Daten umgehend und löschen sie sicher." in text
    assert "We review your data" not in text
    source_sha = hashlib.sha256(SOURCE.read_bytes()).hexdigest()
    assert source_sha in text  # the notice names the exact source it translates
    assert "Rechtsverbindlich ist allein die Fassung in der Sprache Englisch." in text
    assert doc.xpath("//div[@class='legal-text']/@lang") == []  # the text is in the page's language
    # its source download is the translation's own file, byte for byte
    assert (site / "de/demo/2026-06-01/demo-2026-06-01.de.md").read_bytes() == TRANSLATED.read_bytes()


def test_a_version_without_translation_shows_the_english_text_under_a_notice(build_as_of: BuildAsOf) -> None:
    site = build_as_of("2026-11-01")
    doc, text = text_of(site, "de/demo/2026-12-01/index.html")
    assert "Dieser Text liegt nicht auf Deutsch vor" in text
    assert "We do not serve children." in text
    assert doc.xpath("//div[contains(@class, 'legal-text')]/@lang") == ["en"]
    # The English pages carry no notice.
    _, english = text_of(site, "demo/2026-12-01/index.html")
    assert "not been translated" not in english and "Binding language: English" in english


def test_the_redline_compares_the_translations_when_both_exist(build_as_of: BuildAsOf) -> None:
    site = build_as_of("2026-11-01")
    doc, text = text_of(site, "de/demo/2026-06-01/changes/index.html")
    redline = doc.xpath("//div[contains(@class, 'legal-redline')]")[0]
    assert "vierteljährlich" in " ".join(redline.xpath(".//del//text()"))
    assert "umgehend" in " ".join(redline.xpath(".//ins//text()"))
    assert "nicht auf Deutsch vor" not in text
    # 2026-12-01 has no translation: its changes are the English ones, under the notice.
    _, text = text_of(site, "de/demo/2026-12-01/changes/index.html")
    assert "nicht auf Deutsch vor" in text and "We do not serve children." in text
    # the compare page's data per language
    blocks = (site / "de/demo/compare/2026-06-01.json").read_text(encoding="utf-8")
    assert "umgehend" in blocks


def test_manifest_and_feed_are_per_language(build_as_of: BuildAsOf) -> None:
    site = build_as_of("2026-11-01")
    manifest = json.loads((site / "de/policies.json").read_text(encoding="utf-8"))
    assert manifest["language"] == "de" and manifest["site_url"] == FIXTURE_URL + "de/"
    demo = manifest["policies"]["demo"]
    assert demo["binding_language"] == "en"
    by_id = {v["id"]: v for v in demo["versions"]}
    translation = by_id["2026-06-01"]["translation"]
    assert translation["sha256"] == hashlib.sha256(TRANSLATED.read_bytes()).hexdigest()
    assert translation["translates"] == by_id["2026-06-01"]["sha256"]
    assert by_id["2026-12-01"]["language"] == "en" and by_id["2026-12-01"]["translation"] is None
    feed = (site / "de/feed.xml").read_text(encoding="utf-8")
    assert 'xml:lang="de"' in feed and "Demo-Richtlinie" in feed
    assert json.loads((site / "policies.json").read_text())["policies"]["demo"]["versions"][1]["translation"] is None


@pytest.fixture
def docs(tmp_path: Path) -> Path:
    shutil.copytree(FIXTURE_DOCS, tmp_path / "docs")
    shutil.copy(FIXTURE_DOCS.parent / "policies.lock", tmp_path / "policies.lock")
    return tmp_path / "docs"


def errors(docs: Path) -> list[tuple[str, str, str]]:
    report = check(docs, lock_path=docs.parent / "policies.lock", today=dt.date(2026, 11, 1))
    return [(f.path.name, f.rule, f.message) for f in report.errors]


def test_the_fixture_translations_pass_the_check(docs: Path) -> None:
    assert errors(docs) == []


def test_a_translation_whose_source_changed_is_refused(docs: Path) -> None:
    source = docs / "demo" / "versions" / "2026-06-01.md"
    source.write_text(source.read_text().replace("Write to us.", "Write to us by post."))
    found = [e for e in errors(docs) if e[0] == "2026-06-01.de.md"]
    assert [rule for _, rule, _ in found] == ["translation-stale"]
    assert "the translation was made from another text" in found[0][2]


def test_a_translation_whose_sections_do_not_match_the_source_is_refused(docs: Path) -> None:
    translation = docs / "demo" / "versions" / "2026-06-01.de.md"
    translation.write_text(translation.read_text().replace("## 2. Kontakt", "## 3. Kontakt"))
    found = [e for e in errors(docs) if e[0] == "2026-06-01.de.md"]
    found = [e for e in found if e[1] == "translation-sections"]  # (section-numbering too: 3 after 1)
    assert len(found) == 1
    assert "'## 3. Kontakt' stands where the source has '## 2. Contact'" in found[0][2]
    translation.write_text(translation.read_text().replace("## 3. Kontakt\n\nSchreiben Sie uns.\n", ""))
    found = [e for e in errors(docs) if e[0] == "2026-06-01.de.md"]
    assert "the source's section '## 2. Contact'" in found[0][2]


def test_a_translation_of_no_version_or_without_its_source_hash_is_refused(docs: Path) -> None:
    folder = docs / "demo" / "versions"
    shutil.copy(folder / "2026-06-01.de.md", folder / "2026-07-01.de.md")
    (folder / "2026-01-01.de.md").write_text((folder / "2026-01-01.de.md").read_text().replace(
        "translates: 2905e94cbd82f9fe07fe63a64523bb246f45ed1d1c3ea7d14070c928aafa9c5c\n", ""))
    found = {(name, rule) for name, rule, _ in errors(docs)}
    assert ("2026-07-01.de.md", "translation") in found and ("2026-01-01.de.md", "translation") in found


def test_the_build_refuses_a_stale_translation(docs: Path, tmp_path: Path) -> None:
    translation = docs / "demo" / "versions" / "2026-06-01.de.md"
    translation.write_text(translation.read_text().replace(
        "2f53f58d2eac207f3e0bad4ea63b69a217e8ac17cb65af027e8696cdba53a261", "f" * 64))
    result = cli("build", "--docs-dir", str(docs), "--site-dir", str(tmp_path / "site"), "--date", "2026-11-01",
                 check=False)
    assert result.returncode == 1
    assert "2026-06-01.de.md" in result.stderr and "[translation-stale]" in result.stderr


def test_a_published_translation_is_locked_like_its_version(docs: Path) -> None:
    """What readers of a language were shown may not change once in effect, as the English."""
    folder = docs / "demo" / "versions"
    translation = folder / "2026-06-01.de.md"
    translation.write_text(translation.read_text().replace("Schreiben Sie uns.", "Schreiben Sie uns bitte."))
    found = [(rule, message) for name, rule, message in errors(docs) if name == "2026-06-01.de.md"]
    assert [rule for rule, _ in found] == ["immutable"]
    assert found[0][1].startswith("published translations are immutable: this translation took effect on ")
    assert "publish a correction as a new version with its translation" in found[0][1]
    translation.unlink()
    found = [(rule, message) for name, rule, message in errors(docs) if name == "2026-06-01.de.md"]
    assert found == [("immutable", "this translation took effect on June 1, 2026 in policies.lock but its file "
                                   "is gone: published translations may not be deleted")]
