"""Strict validation of a receipt request (the widget's contract, see ARCHITECTURE.md)."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from .errors import InvalidReceipt
from .sitedata import SiteData

UUID4 = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")
LANGUAGE = re.compile(r"^[A-Za-z]{2,3}(-[A-Za-z0-9]{1,8})*$")
METHODS = ("banner", "dialog", "gpc", "withdrawal")
FIELDS = ("receipt_id", "subject_id", "config_revision", "policy", "choices", "method", "gpc", "language",
          "page", "consented_at")


def _check(ok: bool, field: str, message: str) -> None:
    if not ok:
        raise InvalidReceipt(message, field=field)


def _text(data: dict[str, Any], field: str, limit: int, name: str | None = None) -> str:
    value = data.get(field)
    where = name or field
    if not isinstance(value, str):
        raise InvalidReceipt(f"'{where}' must be a string", field=where)
    _check(0 < len(value) <= limit, where, f"'{where}' must be 1 to {limit} characters")
    return value


def validate(data: Any, site: SiteData, now: dt.datetime) -> dict[str, Any]:
    """The request, checked field by field; raises InvalidReceipt naming the field."""
    _check(isinstance(data, dict), "", "the body must be a JSON object")
    unknown = sorted(set(data) - set(FIELDS))
    _check(not unknown, unknown[0] if unknown else "", f"unknown field(s): {', '.join(unknown)}")
    missing = [f for f in FIELDS if f not in data]
    _check(not missing, missing[0] if missing else "", f"missing field(s): {', '.join(missing)}")
    for field in ("receipt_id", "subject_id"):
        _check(isinstance(data[field], str) and bool(UUID4.match(data[field])), field,
               f"'{field}' must be a lowercase UUID version 4")
    _text(data, "config_revision", 64)
    policy = data["policy"]
    _check(isinstance(policy, dict) and set(policy) == {"id", "version"}, "policy",
           "'policy' must be an object with exactly 'id' and 'version'")
    pid, vid = _text(policy, "id", 64, "policy.id"), _text(policy, "version", 32, "policy.version")
    known = sorted(site.policies.get("policies", {}))
    _check(pid in known, "policy.id", f"unknown policy '{pid}' (known: {', '.join(known)})")
    version = site.version(pid, vid)
    _check(version is not None and version["status"] in ("current", "archived"), "policy.version",
           f"'{vid}' is not a version of '{pid}' in effect or archived")
    choices = data["choices"]
    categories = {c["id"]: c for c in site.categories}
    _check(isinstance(choices, dict), "choices", "'choices' must be an object of category: true/false")
    _check(set(choices) == set(categories), "choices",
           f"'choices' must give exactly the categories {', '.join(categories)}")
    for cid, value in choices.items():
        _check(isinstance(value, bool), f"choices.{cid}", f"'choices.{cid}' must be true or false")
        _check(value or not categories[cid]["required"], f"choices.{cid}",
               f"'{cid}' is required: it cannot be refused")
    _check(data["method"] in METHODS, "method", f"'method' must be one of {', '.join(METHODS)}")
    _check(isinstance(data["gpc"], bool), "gpc", "'gpc' must be true or false")
    language = _text(data, "language", 35)
    _check(bool(LANGUAGE.match(language)), "language", "'language' must be a language tag like 'en' or 'pt-BR'")
    page = _text(data, "page", 2048)
    _check(page.startswith(("https://", "http://")), "page", "'page' must be an http(s) URL")
    stamp = _text(data, "consented_at", 40)
    try:
        when = dt.datetime.fromisoformat(stamp.replace("Z", "+00:00"))
    except ValueError:
        raise InvalidReceipt("'consented_at' must be an ISO 8601 date and time", field="consented_at") from None
    _check(when.tzinfo is not None, "consented_at", "'consented_at' must carry a time zone (like Z)")
    _check(when <= now + dt.timedelta(days=1), "consented_at", "'consented_at' is in the future")
    _check(when >= now - dt.timedelta(days=400), "consented_at", "'consented_at' is more than 400 days old")
    return {**data, "policy_version": version}
