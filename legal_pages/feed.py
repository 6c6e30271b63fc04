"""The Atom feed (RFC 4287) of published policy versions, across policies."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any
from xml.etree import ElementTree as ET

from .paths import page_url

if TYPE_CHECKING:
    from .site import PolicyView

ATOM = "http://www.w3.org/2005/Atom"


def _stamp(day: dt.date) -> str:
    return f"{day.isoformat()}T00:00:00Z"


def atom(views: Sequence[PolicyView], site_url: str, site_name: str, helpers: dict[str, Any]) -> str:
    """One entry per visible version, newest publication first, in the views' language
    (``site_url`` is that language's root; ``helpers`` its texts and dates, ``site.page_helpers``)."""
    tr, date, lang_name = helpers["text"], helpers["date"], helpers["lang_name"]
    ET.register_namespace("", ATOM)
    root = ET.Element(f"{{{ATOM}}}feed")
    language = views[0].language if views else "en"
    root.set("{http://www.w3.org/XML/1998/namespace}lang", language)

    def sub(parent: ET.Element, tag: str, text: str | None = None, **attrs: str) -> ET.Element:
        el = ET.SubElement(parent, f"{{{ATOM}}}{tag}", attrs)
        if text is not None:
            el.text = text
        return el

    entries = [(view, v) for view in views for v in view.versions]
    entries.sort(key=lambda e: (e[1].published, e[1].effective, e[0].slug), reverse=True)
    updated = max((v.published for _, v in entries), default=dt.date(1970, 1, 1))
    sub(root, "title", (tr("feed_title", site=site_name)))
    sub(root, "id", site_url + "feed.xml")
    sub(root, "link", rel="self", href=site_url + "feed.xml", type="application/atom+xml")
    sub(root, "link", rel="alternate", href=site_url, type="text/html")
    sub(root, "updated", _stamp(updated))
    author = sub(root, "author")
    sub(author, "name", site_name)
    for view, v in entries:
        url = site_url + page_url(view.version_src(v))
        shown = view.shown(v)
        entry = sub(root, "entry")
        sub(entry, "title", (tr("feed_entry", policy=shown.title, date=date(v.effective))))
        sub(entry, "id", url)
        sub(entry, "link", rel="alternate", href=url, type="text/html")
        changes = view.changes_src(v)
        if changes:
            sub(entry, "link", rel="related", href=site_url + page_url(changes), type="text/html")
        sub(entry, "published", _stamp(v.published))
        sub(entry, "updated", _stamp(v.published))
        sub(entry, "category", term=view.slug, label=view.title)
        lines = [(tr("feed_effective", date=date(v.effective)))]
        if v.material:
            lines.append(tr("feed_material"))
        if shown.language != view.language:
            lines.append(tr("feed_untranslated", original=lang_name(shown.language),
                                language=lang_name(view.language)))
        lines.extend(shown.summary)
        sub(entry, "summary", " ".join(lines), type="text")
    ET.indent(root)
    body = ET.tostring(root, encoding="unicode")
    return f'<?xml version="1.0" encoding="utf-8"?>\n{body}\n'
