"""Where generated pages live, how they link to each other, how dates read."""

from __future__ import annotations

import datetime as dt
import posixpath

from . import i18n


def page_src(*parts: str) -> str:
    """The source path of a generated page: ``privacy/2025-03-31/index.md``."""
    return posixpath.join(*parts, "index.md")


def page_url(src: str) -> str:
    """The directory URL (relative to the site root) of a page source path."""
    return src[: -len("index.md")] if src.endswith("index.md") else src


def source_file(slug: str, version_id: str, language: str | None = None) -> str:
    """Where a version's exact source file is published: ``privacy/2025-03-31/privacy-2025-03-31.md``
    (a translation's: ``privacy-2025-03-31.de.md``)."""
    return f"{slug}/{version_id}/{slug}-{version_id}{'.' + language if language else ''}.md"


def rel(from_src: str, to_src: str) -> str:
    """A link from one generated page to another, as the generator resolves it."""
    return posixpath.relpath(to_src, posixpath.dirname(from_src) or ".")


def long_date(value: dt.date) -> str:
    """``March 31, 2025``: the way the policies (in English) write dates."""
    return i18n.long_date(value, i18n.SOURCE_LANGUAGE)
