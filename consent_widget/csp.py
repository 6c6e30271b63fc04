"""The site's Content-Security-Policy, derived from the built pages and the inventory.

Scripts may come from this site, from the inline scripts the build itself wrote (allowed
by their SHA-256, so an injected one is refused), and from the third-party origins the
consent inventory names for categories a visitor can grant. The policy is the same on
every page, because Material's instant navigation keeps the first page's policy while it
swaps in the next page's scripts.

The fetch directives go into each page as a ``<meta http-equiv>`` tag, so the policy
travels with the pages to any static host and always matches them; the directives a meta
tag cannot carry (``frame-ancestors``) are the web server's (``deploy/nginx``).
"""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Iterable
from pathlib import Path
from urllib.parse import urlsplit

SCRIPT = re.compile(r"<script(?P<attrs>(?:\s[^>]*)?)>(?P<body>.*?)</script\s*>", re.S | re.I)
STYLE = re.compile(r"<style(?:\s[^>]*)?>(?P<body>.*?)</style\s*>", re.S | re.I)
TYPE = re.compile(r"""\stype\s*=\s*["']?([^"'\s>]+)""", re.I)
JS_TYPES = {"", "text/javascript", "application/javascript", "module"}
CHARSET = re.compile(r"<meta charset=[^>]*>", re.I)
META = '<meta http-equiv="Content-Security-Policy" content="{}">'


def inline_script_hashes(html: str) -> set[str]:
    """``'sha256-…'`` sources of the inline scripts a page runs, or runs once consent is given
    (``type="text/plain" data-consent``: the widget re-creates them with the same text)."""
    found = set()
    for match in SCRIPT.finditer(html):
        attrs = match.group("attrs")
        if re.search(r"\ssrc\s*=", attrs, re.I):
            continue
        kind = TYPE.search(attrs)
        kind_value = kind.group(1).lower() if kind else ""
        if kind_value in JS_TYPES or (kind_value == "text/plain" and "data-consent" in attrs):
            found.add(_source(match.group("body")))
    return found


def _source(text: str) -> str:
    return f"'sha256-{base64.b64encode(hashlib.sha256(text.encode('utf-8')).digest()).decode()}'"


def inline_style_hashes(html: str) -> set[str]:
    """``'sha256-…'`` sources of the inline stylesheets the build wrote (the consent widget's,
    inlined so that it never blocks the first paint)."""
    return {_source(m.group("body")) for m in STYLE.finditer(html)}


def build_policy(hashes: Iterable[str], *, third_party: Iterable[str], api_url: str, site_url: str,
                 styles: Iterable[str] = ()) -> str:
    """The fetch directives: this site, the hashed inline scripts, the consent API (when it has
    an origin of its own) and the inventory's third parties."""
    connect = ["'self'"]
    api = urlsplit(api_url)
    site = urlsplit(site_url)
    if api.scheme and api.netloc and (api.scheme, api.netloc) != (site.scheme, site.netloc):
        connect.append(f"{api.scheme}://{api.netloc}")
    others = sorted(set(third_party))
    directives = [
        ("default-src", ["'self'"]),
        ("script-src", ["'self'", *sorted(hashes), *others]),
        ("style-src", ["'self'", *sorted(set(styles))]),
        ("img-src", ["'self'", "data:", *others]),
        ("font-src", ["'self'"]),
        ("connect-src", [*connect, *others]),
        ("object-src", ["'none'"]),
        ("base-uri", ["'self'"]),
        ("form-action", connect),  # the receipt page is opened by a POSTed form
    ]
    return "; ".join(f"{name} {' '.join(sources)}" for name, sources in directives)


def apply(site_dir: Path, *, third_party: Iterable[str], api_url: str, site_url: str) -> str:
    """Compute the policy over every page of the built site and put it into each page."""
    pages = sorted(site_dir.rglob("*.html"))
    texts = {path: path.read_text(encoding="utf-8") for path in pages}
    hashes = set().union(*(inline_script_hashes(t) for t in texts.values())) if texts else set()
    styles = set().union(*(inline_style_hashes(t) for t in texts.values())) if texts else set()
    policy = build_policy(hashes, third_party=third_party, api_url=api_url, site_url=site_url, styles=styles)
    meta = META.format(policy)
    for path, text in texts.items():
        found = CHARSET.search(text)
        if found is None:
            continue  # not a page of the theme (no <head> to guard)
        path.write_text(text[:found.end()] + meta + text[found.end():], encoding="utf-8")
    return policy
