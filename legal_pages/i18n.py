"""The languages a site is built in, and texts and dates in each of them.

A catalogue is a JSON file per language (``locales/<lang>.json``: ``lang``, ``name``,
``dir``, ``texts``). A language the site is built in with a text missing is an error that
names the file, key and language, never a silent English fallback.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from babel import Locale, UnknownLocaleError
from babel.dates import format_date
from markupsafe import Markup, escape

from .errors import BuildInputError

LOCALES = Path(__file__).parent / "locales"
SOURCE_LANGUAGE = "en"
RTL = {"ar", "he", "fa", "ur", "ps", "yi", "dv", "ckb"}
#: Tags that name a catalogue by another name: script for Chinese, Bokmål for Norwegian, and
#: the countries of Latin America for Spanish (es-419).
ALIASES = {
    "zh": "zh-Hans", "zh-CN": "zh-Hans", "zh-SG": "zh-Hans", "zh-TW": "zh-Hant", "zh-HK": "zh-Hant",
    "zh-MO": "zh-Hant", "no": "nb", "nb-NO": "nb", "iw": "he", "pt-PT": "pt", "es-ES": "es",
}
LATIN_AMERICA = {"AR", "BO", "CL", "CO", "CR", "CU", "DO", "EC", "GT", "HN", "MX", "NI", "PA", "PE", "PR",
                 "PY", "SV", "US", "UY", "VE"}
PLACEHOLDER_RE = re.compile(r"\{([a-z_]+)\}")


class CatalogueError(BuildInputError):
    """A catalogue is missing or lacks a text; the message names the file, key and language."""


def normalize(tag: str) -> str:
    """``de_DE`` -> ``de-DE``; ``ZH-hant`` -> ``zh-Hant``."""
    parts = tag.replace("_", "-").split("-")
    out = [parts[0].lower()]
    for p in parts[1:]:
        out.append(p.title() if len(p) == 4 else p.upper() if len(p) == 2 else p)
    return "-".join(out)


def candidates(tag: str) -> list[str]:
    """The catalogue names to try for a language tag, most specific first."""
    tag = normalize(tag)
    parts = tag.split("-")
    found = [tag, ALIASES.get(tag, "")]
    if parts[0] == "es" and len(parts) > 1 and parts[-1] in LATIN_AMERICA:
        found.append("es-419")
    if parts[0] == "zh" and len(parts) > 1:
        found.append("zh-Hant" if parts[-1] in {"Hant", "TW", "HK", "MO"} else "zh-Hans")
    found += [parts[0], ALIASES.get(parts[0], "")]
    return list(dict.fromkeys(f for f in found if f))


def direction(tag: str) -> str:
    return "rtl" if normalize(tag).split("-")[0] in RTL else "ltr"


@dataclass(frozen=True)
class Catalogue:
    path: Path
    lang: str
    name: str
    dir: str
    texts: Mapping[str, str]
    same_as_english: frozenset[str] = frozenset()


def catalogue_path(folder: Path, tag: str) -> Path | None:
    for name in candidates(tag):
        if (folder / f"{name}.json").is_file():
            return folder / f"{name}.json"
    return None


@cache
def load_catalogue(path: Path) -> Catalogue:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise CatalogueError(f"{path}: not a readable JSON catalogue ({exc})") from exc
    texts = data.get("texts") if isinstance(data, dict) else None
    if not isinstance(texts, dict) or not all(isinstance(v, str) for v in texts.values()):
        raise CatalogueError(f"{path}: 'texts' must map each key to a text")
    return Catalogue(path, str(data.get("lang")), str(data.get("name")), str(data.get("dir", "ltr")),
                     dict(texts), frozenset(data.get("same_as_english") or ()))


def catalogue(folder: Path, tag: str, keys: Any = None) -> Catalogue:
    """The catalogue for ``tag`` in ``folder``, with every key of the English one (or ``keys``)."""
    path = catalogue_path(folder, tag)
    if path is None:
        raise CatalogueError(f"{folder}: no catalogue for the language '{tag}' (tried "
                             + ", ".join(f"{c}.json" for c in candidates(tag)) + ")")
    found = load_catalogue(path)
    wanted = keys if keys is not None else load_catalogue(folder / f"{SOURCE_LANGUAGE}.json").texts
    missing = [k for k in wanted if not found.texts.get(k, "").strip()]
    if missing:
        raise CatalogueError(f"{path}: the language '{tag}' has no text for "
                             + ", ".join(f"'{k}'" for k in missing))
    return found


def fill(text: str, **values: Any) -> Markup:
    """A catalogue text with its ``{name}`` placeholders filled: the text is escaped, the values
    are escaped unless they are markup already (a ``<time>``, a link)."""
    escaped = str(escape(text))

    def one(m: re.Match[str]) -> str:
        if m.group(1) not in values:
            return m.group(0)
        return str(escape(values[m.group(1)]))

    return Markup(PLACEHOLDER_RE.sub(one, escaped))


def plain(text: str, **values: Any) -> str:
    """A catalogue text with its placeholders filled, for plain-text places (a feed, a title)."""
    return PLACEHOLDER_RE.sub(lambda m: str(values.get(m.group(1), m.group(0))), text)


def translator(texts: Mapping[str, str]) -> Callable[..., Markup]:
    def tr(key: str, **values: Any) -> Markup:
        return fill(texts[key], **values)
    return tr


def long_date(day: dt.date, language: str = SOURCE_LANGUAGE) -> str:
    """A date the way readers of ``language`` write it: ``March 31, 2025``, ``31. März 2025``."""
    return str(format_date(day, "long", locale=babel_locale(language)))


@cache
def babel_locale(tag: str) -> Locale:
    for name in (normalize(tag).replace("-", "_"), normalize(tag).split("-")[0]):
        try:
            return Locale.parse(name)
        except (UnknownLocaleError, ValueError):
            continue
    return Locale.parse("en")


def language_name(code: str, in_language: str) -> str:
    """``en`` named in German: ``Englisch``."""
    locale = babel_locale(in_language)
    name = locale.languages.get(normalize(code).replace("-", "_")) or locale.languages.get(code.split("-")[0])
    return name or code


@dataclass(frozen=True)
class SiteLanguages:
    """The languages of a build: the one being built now, the default (at ``/``), all of them."""

    current: str
    default: str
    built: tuple[str, ...]

    @property
    def prefix(self) -> str:
        """Where the current language's pages live under the site root: ``""`` or ``"de/"``."""
        return "" if self.current == self.default else f"{self.current}/"

    def root(self, language: str) -> str:
        return "" if language == self.default else f"{language}/"


def site_languages(config: Any) -> SiteLanguages:
    """From mkdocs-static-i18n when the site lists languages, else the theme's one language."""
    plugin = config.plugins.get("i18n")
    if plugin is None:
        language = config.theme.get("language") or SOURCE_LANGUAGE
        return SiteLanguages(language, language, (language,))
    default = plugin.default_language
    return SiteLanguages(plugin.current_language or default, default, tuple(plugin.build_languages))
