"""The catalogues: every language has every text, keeps every placeholder, and leaves no
English behind (what a reviewer of a translation checks first)."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from consent_widget import LOCALES as WIDGET_LOCALES
from legal_pages.i18n import LOCALES as LEGAL_LOCALES
from legal_pages.i18n import candidates, catalogue_path
from tests.harness import ROOT

EU_LANGUAGES = ("bg", "hr", "cs", "da", "nl", "en", "et", "fi", "fr", "de", "el", "hu", "ga", "it", "lv",
                "lt", "mt", "pl", "pt", "ro", "sk", "sl", "es", "sv")
ALSO_PROMISED = ("nb", "is", "tr", "uk", "ru", "ar", "he", "fa", "hi", "ja", "ko", "zh-Hans", "zh-Hant",
                 "pt-BR", "es-419")
RTL = {"ar", "he", "fa"}
#: Names that stay as they are in every language: a browser signal, formats, a command.
PROPER_NAMES = ("Global Privacy Control", "JSON", "SHA-256", "Markdown", "consent-verify", "consent-log.pub")
#: English words that have no business in another language's interface text.
ENGLISH_WORDS = re.compile(r"\b(the|your|you|and|this|which|with|when|only|from|choices|settings|"
                           r"receipt|changed|accept|reject|close|always)\b", re.I)
PLACEHOLDER = re.compile(r"\{[a-z_]+\}")


def catalogues(folder: Path) -> dict[str, dict[str, Any]]:
    return {p.stem: json.loads(p.read_text(encoding="utf-8")) for p in sorted(folder.glob("*.json"))}


def site_languages() -> list[str]:
    class Loader(yaml.SafeLoader):
        pass
    Loader.add_multi_constructor("!", lambda loader, suffix, node: None)
    config = yaml.load((ROOT / "mkdocs.yml").read_text(), Loader=Loader)
    plugins = [p for p in config["plugins"] if isinstance(p, dict) and "i18n" in p]
    return [lang["locale"] for lang in plugins[0]["i18n"]["languages"]]


def test_the_widget_speaks_more_languages_than_any_peer_with_every_eu_language() -> None:
    found = set(catalogues(WIDGET_LOCALES))
    assert len(found) >= 46  # fides.js 42, Cookiebot about 45, Osano 38, Klaro 25
    assert set(EU_LANGUAGES) <= found
    assert set(ALSO_PROMISED) <= found


@pytest.mark.parametrize("folder", [WIDGET_LOCALES, LEGAL_LOCALES], ids=["widget", "legal-pages"])
def test_every_catalogue_has_every_text_and_every_placeholder(folder: Path) -> None:
    all_of = catalogues(folder)
    english = all_of["en"]["texts"]
    problems = []
    for code, data in all_of.items():
        texts = data["texts"]
        if data["lang"] != code:
            problems.append(f"{code}.json: 'lang' is {data['lang']!r}")
        if data["dir"] != ("rtl" if code.split("-")[0] in RTL else "ltr"):
            problems.append(f"{code}.json: 'dir' is {data['dir']!r}")
        if set(texts) != set(english):
            problems.append(f"{code}.json: missing {sorted(set(english) - set(texts))}, "
                            f"unknown {sorted(set(texts) - set(english))}")
        for key, value in texts.items():
            if key in english and sorted(PLACEHOLDER.findall(value)) != sorted(PLACEHOLDER.findall(english[key])):
                problems.append(f"{code}.json: {key}: placeholders {PLACEHOLDER.findall(value)}")
            if not value.strip():
                problems.append(f"{code}.json: {key} is empty")
    assert problems == []


@pytest.mark.parametrize("folder", [WIDGET_LOCALES, LEGAL_LOCALES], ids=["widget", "legal-pages"])
def test_no_english_is_left_in_another_languages_catalogue(folder: Path) -> None:
    all_of = catalogues(folder)
    english = all_of["en"]["texts"]
    left = []
    for code, data in all_of.items():
        if code == "en":
            continue
        same = set(data.get("same_as_english", []))
        for key, value in data["texts"].items():
            if value == english.get(key):
                if key not in same or len(value.split()) > 4:  # a loanword, declared, not a sentence
                    left.append(f"{code}.json: {key} is the English text")
                continue
            stripped = PLACEHOLDER.sub("", value)
            for name in PROPER_NAMES:
                stripped = stripped.replace(name, "")
            if found := ENGLISH_WORDS.search(stripped):
                left.append(f"{code}.json: {key}: {found.group(0)!r} in {value!r}")
    assert left == []


def test_every_language_the_site_is_built_in_has_both_catalogues() -> None:
    for language in site_languages():
        assert catalogue_path(WIDGET_LOCALES, language) is not None, language
        assert catalogue_path(LEGAL_LOCALES, language) is not None, language


@pytest.mark.parametrize(("tag", "expected"), [
    ("de-DE", "de"), ("de_AT", "de"), ("zh-CN", "zh-Hans"), ("zh-TW", "zh-Hant"), ("zh-Hant-HK", "zh-Hant"),
    ("no", "nb"), ("pt-PT", "pt"), ("pt-BR", "pt-BR"), ("es-MX", "es-419"), ("es-ES", "es"), ("iw", "he"),
])
def test_a_browser_or_page_language_tag_finds_its_catalogue(tag: str, expected: str) -> None:
    found = catalogue_path(WIDGET_LOCALES, tag)
    assert found is not None and found.stem == expected, candidates(tag)
