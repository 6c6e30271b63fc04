"""The consent inventory: categories, cookies and texts, from one YAML file.

The banner and dialog, the ``/cookies/`` page and the consent API all read it,
so what a visitor is asked, what the cookie policy lists and what the API
accepts can never disagree.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

CONSENT_MODE_SIGNALS = ("ad_storage", "analytics_storage", "ad_user_data", "ad_personalization")
ID_RE = re.compile(r"^[a-z][a-z0-9_-]{0,31}$")
#: The operator's own texts, given per language under ``texts``: what the banner explains and
#: how it names the policy. Any key of the widget's catalogue may be given there too, to word
#: it differently. (The categories' names and descriptions and the cookies' purposes are the
#: operator's as well.)
OPERATOR_TEXTS = ("banner_text", "policy_name")
LANGUAGE_RE = re.compile(r"^[a-z]{2,3}(-[A-Za-z0-9]{2,8})*$")
#: A third-party origin a category may contact once granted: scheme, host, optional port.
ORIGIN_RE = re.compile(r"^https://(\*\.)?[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)+(:\d{1,5})?$")


class InventoryError(Exception):
    """The inventory file is malformed; the message names the file, line and field."""

    def __init__(self, path: Path, line: int, message: str) -> None:
        self.path, self.line, self.message = path, line, message
        super().__init__(f"{path}:{line}: {message}")


NEUTRAL = "*"  # a provider given as one name (``Google``) reads the same in every language


@dataclass(frozen=True)
class Cookie:
    name: str
    provider: dict[str, str]  # per language, or {"*": name}
    purpose: dict[str, str]
    duration: dict[str, str]  # per language ("6 months", "6 Monate"); a plain text counts as English

    def provider_in(self, language: str) -> str:
        return self.provider.get(language) or self.provider[NEUTRAL]


@dataclass(frozen=True)
class Category:
    id: str
    name: dict[str, str]
    description: dict[str, str]
    required: bool
    sale_or_sharing: bool
    consent_mode: tuple[str, ...]
    gtag_set: dict[str, Any]
    cookies: tuple[Cookie, ...]
    origins: tuple[str, ...] = ()


@dataclass(frozen=True)
class Inventory:
    path: Path
    title: dict[str, str]
    policy: str
    expiry_days: int
    categories: tuple[Category, ...]
    texts: dict[str, dict[str, str]]
    gpc_last_update: dt.date | None = None
    lines: Any = None  # where each field is in the file, to name it in an error

    @property
    def third_party_origins(self) -> list[str]:
        """Every origin a granted category may contact, for the site's Content-Security-Policy."""
        return sorted({o for c in self.categories for o in c.origins})

    @property
    def optional(self) -> tuple[Category, ...]:
        return tuple(c for c in self.categories if not c.required)

    def category_ids(self) -> list[str]:
        return [c.id for c in self.categories]

    def missing(self, language: str) -> list[tuple[str, int]]:
        """Each operator text with no text in ``language``: (where it is, line)."""
        found = []
        for key in OPERATOR_TEXTS:
            if not self.texts.get(language, {}).get(key, "").strip():
                found.append((f"texts.{language}.{key}", self._line("texts", language)))
        for i, c in enumerate(self.categories):
            for key in ("name", "description"):
                if not getattr(c, key).get(language, "").strip():
                    found.append((f"categories[{i}] '{c.id}': {key}.{language}", self._line("categories", i, key)))
            for j, k in enumerate(c.cookies):
                for key in ("purpose", "duration", "provider"):
                    value = getattr(k, key)
                    if not (value.get(language, "").strip() or (key == "provider" and NEUTRAL in value)):
                        found.append((f"categories[{i}] '{c.id}': cookie '{k.name}': {key}.{language}",
                                      self._line("categories", i, "cookies", j, key)))
        return found

    def require(self, language: str) -> None:
        """Raise InventoryError naming the first operator text missing in ``language``."""
        missing = self.missing(language)
        if missing:
            (where, line), more = missing[0], len(missing) - 1
            raise InventoryError(self.path, line, (
                f"{where} is missing: the site is built in '{language}', so every operator text needs "
                f"a text in '{language}' (no English is shown in its place)"
                + (f"; {more} more text{'s are' if more > 1 else ' is'} missing in '{language}'" if more else "")))

    def _line(self, *keys: str | int) -> int:
        return self.lines.line(*keys) if self.lines is not None else 1

    def texts_for(self, language: str, catalogue: Mapping[str, str]) -> dict[str, str]:
        """The widget's texts in ``language``: its catalogue, then the operator's own texts."""
        return {**catalogue, **self.texts.get(language, {})}

    def revision(self, policy_anchor: str | None, language: str) -> str:
        """Changes when what a visitor of ``language`` agrees to changes: a category, its
        cookies, a material version of the policy (``policy_anchor``), or the operator's texts
        in that language (what the banner explains, the categories' names and descriptions, the
        cookies' purposes). Another language's texts and the wording of buttons do not count."""
        asked = {
            "policy": [self.policy, policy_anchor],
            "language": language,
            "banner_text": self.texts.get(language, {}).get("banner_text"),
            "categories": [
                {"id": c.id, "required": c.required, "sale_or_sharing": c.sale_or_sharing,
                 "consent_mode": list(c.consent_mode), "name": c.name.get(language),
                 "description": c.description.get(language),
                 "cookies": [[k.name, k.provider.get(language) or k.provider.get(NEUTRAL), k.duration.get(language),
                             k.purpose.get(language)] for k in c.cookies],
                 "origins": list(c.origins)}
                for c in self.categories
            ],
        }
        canonical = json.dumps(asked, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        return hashlib.sha256(canonical.encode()).hexdigest()[:16]


class _Lines:
    """Line numbers of the YAML nodes, to point an error at its place."""

    def __init__(self, text: str) -> None:
        self.root = yaml.compose(text)

    def line(self, *keys: str | int) -> int:
        node = self.root
        line = 1
        for key in keys:
            if isinstance(node, yaml.MappingNode):
                found = [(k, v) for k, v in node.value if k.value == key]
                if not found:
                    return line
                line = found[0][0].start_mark.line + 1
                node = found[0][1]
            elif isinstance(node, yaml.SequenceNode) and isinstance(key, int) and key < len(node.value):
                node = node.value[key]
                line = node.start_mark.line + 1
            else:
                return line
        return line


def _texts(value: Any) -> bool:
    """A text per language: a mapping of language tags to non-empty texts."""
    return (isinstance(value, dict) and bool(value)
            and all(isinstance(k, str) and LANGUAGE_RE.match(k) and isinstance(v, str) and v.strip()
                    for k, v in value.items()))


def load_inventory(path: Path) -> Inventory:
    """Read and validate the inventory; raises InventoryError at the first problem."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise InventoryError(path, 1, f"cannot read the consent inventory ({exc.strerror})") from exc
    try:
        data = yaml.safe_load(text)
        lines = _Lines(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise InventoryError(path, mark.line + 1 if mark else 1, f"not valid YAML: {exc}") from exc

    def fail(message: str, *keys: str | int) -> InventoryError:
        return InventoryError(path, lines.line(*keys), message)

    if not isinstance(data, dict):
        raise fail("the inventory must be a mapping of fields")
    if not isinstance(data.get("policy"), str) or not data["policy"].strip():
        raise fail("'policy' must be a line of text", "policy")
    title = data.get("title", {})
    if not (title == {} or _texts(title)):
        raise fail("'title' (the cookie page's title, if not the widget's 'Cookie Policy') must give a "
                   "text per language, like 'title: {en: Cookie Policy, de: Cookie-Richtlinie}'", "title")
    expiry = data.get("expiry_days", 182)
    if not isinstance(expiry, int) or isinstance(expiry, bool) or not 1 <= expiry <= 395:
        raise fail("'expiry_days' must be a whole number of days from 1 to 395 (13 months)", "expiry_days")
    raw_categories = data.get("categories")
    if not isinstance(raw_categories, list) or not raw_categories:
        raise fail("'categories' must be a list of one or more categories", "categories")
    categories: list[Category] = []
    for i, raw in enumerate(raw_categories):
        where = ("categories", i)
        if not isinstance(raw, dict):
            raise fail(f"categories[{i}] must be a mapping", *where)
        unknown = set(raw) - {"id", "name", "description", "required", "sale_or_sharing",
                              "consent_mode", "gtag_set", "cookies", "origins"}
        if unknown:
            raise fail(f"categories[{i}] has unknown field(s): {', '.join(sorted(unknown))}", *where)
        cid = raw.get("id")
        if not isinstance(cid, str) or not ID_RE.match(cid):
            raise fail(f"categories[{i}].id must be a short lowercase name like 'analytics'", *where, "id")
        if cid in {c.id for c in categories}:
            raise fail(f"the category id '{cid}' is used twice", *where, "id")
        for key in ("name", "description"):
            if not _texts(raw.get(key)):
                raise fail(f"'{cid}': '{key}' must give a text per language, like '{key}: {{en: ..., de: ...}}'",
                           *where, key)
        for key in ("required", "sale_or_sharing"):
            if not isinstance(raw.get(key, False), bool):
                raise fail(f"'{cid}': '{key}' must be true or false", *where, key)
        signals = raw.get("consent_mode", [])
        if not isinstance(signals, list) or not set(signals) <= set(CONSENT_MODE_SIGNALS):
            raise fail(f"'{cid}': 'consent_mode' must list signals among {', '.join(CONSENT_MODE_SIGNALS)}",
                       *where, "consent_mode")
        if raw.get("required") and (signals or raw.get("sale_or_sharing")):
            raise fail(f"'{cid}': a required category cannot gate Consent Mode signals or sale/sharing",
                       *where)
        gtag_set = raw.get("gtag_set", {})
        if not isinstance(gtag_set, dict):
            raise fail(f"'{cid}': 'gtag_set' must be a mapping of gtag settings", *where, "gtag_set")
        origins = raw.get("origins", [])
        if not isinstance(origins, list) or not all(isinstance(o, str) and ORIGIN_RE.match(o) for o in origins):
            raise fail(f"'{cid}': 'origins' must list third-party origins like 'https://www.example.com' "
                       "or 'https://*.example.com'", *where, "origins")
        if raw.get("required") and origins:
            raise fail(f"'{cid}': a required category cannot contact third parties; "
                       "move them to a category the visitor can refuse", *where, "origins")
        cookies = []
        raw_cookies = raw.get("cookies", [])
        if not isinstance(raw_cookies, list):
            raise fail(f"'{cid}': 'cookies' must be a list", *where, "cookies")
        for j, ck in enumerate(raw_cookies):
            at = (*where, "cookies", j)
            if not isinstance(ck, dict) or not (isinstance(ck.get("name"), str) and ck["name"].strip()) or not all(
                    (isinstance(ck.get(k), str) and ck[k].strip()) or _texts(ck.get(k))
                    for k in ("provider", "duration")):
                raise fail(f"'{cid}': cookies[{j}] needs a 'name', a 'provider' (a name, or a text per language) "
                           "and a 'duration' per language", *at)
            if not _texts(ck.get("purpose")):
                raise fail(f"'{cid}': cookie '{ck['name']}' needs a 'purpose' per language, like "
                           "'purpose: {en: ..., de: ...}'", *at)
            provider = {NEUTRAL: ck["provider"]} if isinstance(ck["provider"], str) else dict(ck["provider"])
            duration = {"en": ck["duration"]} if isinstance(ck["duration"], str) else dict(ck["duration"])
            cookies.append(Cookie(ck["name"], provider, dict(ck["purpose"]), duration))
        categories.append(Category(
            id=cid, name=dict(raw["name"]), description=dict(raw["description"]),
            required=bool(raw.get("required", False)), sale_or_sharing=bool(raw.get("sale_or_sharing", False)),
            consent_mode=tuple(signals), gtag_set=dict(gtag_set), cookies=tuple(cookies),
            origins=tuple(origins),
        ))
    if not any(c.required for c in categories):
        raise fail("one category must be 'required: true' (the strictly necessary cookies)", "categories")
    texts = data.get("texts")
    if not isinstance(texts, dict) or not texts:
        raise fail("'texts' must give the operator's texts per language ("
                   + ", ".join(OPERATOR_TEXTS) + ")", "texts")
    for language, entries in texts.items():
        if not isinstance(language, str) or not LANGUAGE_RE.match(language):
            raise fail(f"texts: '{language}' is not a language tag like 'de' or 'pt-BR'", "texts")
        if not isinstance(entries, dict) or not all(isinstance(v, str) and v.strip() for v in entries.values()):
            raise fail(f"texts.{language} must map each text's name to a line of text", "texts", language)
    gpc_last_update = data.get("gpc_last_update")
    if gpc_last_update is not None and (not isinstance(gpc_last_update, dt.date)
                                        or isinstance(gpc_last_update, dt.datetime)):
        raise fail("'gpc_last_update' must be a date, YYYY-MM-DD", "gpc_last_update")
    return Inventory(path, dict(title), data["policy"].strip(), expiry,
                     tuple(categories), {str(k): dict(v) for k, v in texts.items()}, gpc_last_update, lines)
