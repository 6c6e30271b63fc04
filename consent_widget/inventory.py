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
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

CONSENT_MODE_SIGNALS = ("ad_storage", "analytics_storage", "ad_user_data", "ad_personalization")
ID_RE = re.compile(r"^[a-z][a-z0-9_-]{0,31}$")
REQUIRED_TEXTS = (
    "banner_label", "banner_title", "banner_text", "policy_changed", "see_changes", "accept_all",
    "reject_all", "customize", "dialog_title", "dialog_text", "always_on", "save", "close",
    "gpc_honoured", "consent_id", "consent_date", "view_receipt", "settings_link", "cookie_policy",
    "cookie_table_name", "cookie_table_provider", "cookie_table_purpose", "cookie_table_duration",
    "no_cookies",
)
FALLBACK_LANGUAGE = "en"
#: Texts an inventory may give, with these English defaults.
OPTIONAL_TEXTS = {
    "not_open": ("Cookie choices open when the {policy} takes effect{date}. Until then this site sets "
                 "only strictly necessary cookies and runs no optional script."),
}
#: A third-party origin a category may contact once granted: scheme, host, optional port.
ORIGIN_RE = re.compile(r"^https://(\*\.)?[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)+(:\d{1,5})?$")


class InventoryError(Exception):
    """The inventory file is malformed; the message names the file, line and field."""

    def __init__(self, path: Path, line: int, message: str) -> None:
        self.path, self.line, self.message = path, line, message
        super().__init__(f"{path}:{line}: {message}")


@dataclass(frozen=True)
class Cookie:
    name: str
    provider: str
    purpose: dict[str, str]
    duration: str


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
    title: str
    policy: str
    expiry_days: int
    categories: tuple[Category, ...]
    texts: dict[str, dict[str, str]]
    gpc_last_update: dt.date | None = None

    @property
    def third_party_origins(self) -> list[str]:
        """Every origin a granted category may contact, for the site's Content-Security-Policy."""
        return sorted({o for c in self.categories for o in c.origins})

    @property
    def optional(self) -> tuple[Category, ...]:
        return tuple(c for c in self.categories if not c.required)

    def category_ids(self) -> list[str]:
        return [c.id for c in self.categories]

    def texts_for(self, language: str) -> dict[str, str]:
        """The texts in ``language``, each missing one in English."""
        base = {**OPTIONAL_TEXTS, **self.texts[FALLBACK_LANGUAGE]}
        base.update(self.texts.get(language.split("-")[0], {}))
        return base

    def revision(self, policy_anchor: str | None) -> str:
        """Changes when what the visitor agrees to changes: a category, its cookies, or a
        material version of the policy (``policy_anchor``). Wording of buttons does not count."""
        asked = {
            "policy": [self.policy, policy_anchor],
            "categories": [
                {"id": c.id, "required": c.required, "sale_or_sharing": c.sale_or_sharing,
                 "consent_mode": list(c.consent_mode), "description": c.description,
                 "cookies": [[k.name, k.provider, k.duration, k.purpose] for k in c.cookies],
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
    return (isinstance(value, dict) and FALLBACK_LANGUAGE in value
            and all(isinstance(k, str) and isinstance(v, str) and v.strip() for k, v in value.items()))


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
    for key in ("title", "policy"):
        if not isinstance(data.get(key), str) or not data[key].strip():
            raise fail(f"'{key}' must be a line of text", key)
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
                raise fail(f"'{cid}': '{key}' must give a text per language, with 'en'", *where, key)
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
            if not isinstance(ck, dict) or not all(isinstance(ck.get(k), str) and ck[k].strip()
                                                   for k in ("name", "provider", "duration")):
                raise fail(f"'{cid}': cookies[{j}] needs 'name', 'provider' and 'duration' as text", *at)
            if not _texts(ck.get("purpose")):
                raise fail(f"'{cid}': cookie '{ck['name']}' needs a 'purpose' per language, with 'en'", *at)
            cookies.append(Cookie(ck["name"], ck["provider"], dict(ck["purpose"]), ck["duration"]))
        categories.append(Category(
            id=cid, name=dict(raw["name"]), description=dict(raw["description"]),
            required=bool(raw.get("required", False)), sale_or_sharing=bool(raw.get("sale_or_sharing", False)),
            consent_mode=tuple(signals), gtag_set=dict(gtag_set), cookies=tuple(cookies),
            origins=tuple(origins),
        ))
    if not any(c.required for c in categories):
        raise fail("one category must be 'required: true' (the strictly necessary cookies)", "categories")
    texts = data.get("texts")
    if not isinstance(texts, dict) or FALLBACK_LANGUAGE not in texts:
        raise fail("'texts' must give the widget's texts per language, with 'en'", "texts")
    for language, entries in texts.items():
        if not isinstance(entries, dict):
            raise fail(f"texts.{language} must be a mapping", "texts", language)
        if language == FALLBACK_LANGUAGE:
            missing = [k for k in REQUIRED_TEXTS if not isinstance(entries.get(k), str)]
            if missing:
                raise fail(f"texts.en is missing: {', '.join(missing)}", "texts", language)
    gpc_last_update = data.get("gpc_last_update")
    if gpc_last_update is not None and (not isinstance(gpc_last_update, dt.date)
                                        or isinstance(gpc_last_update, dt.datetime)):
        raise fail("'gpc_last_update' must be a date, YYYY-MM-DD", "gpc_last_update")
    return Inventory(path, data["title"].strip(), data["policy"].strip(), expiry,
                     tuple(categories), {str(k): dict(v) for k, v in texts.items()}, gpc_last_update)
