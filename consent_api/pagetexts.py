"""The receipt page speaks the language its visitor was shown: the widget's own catalogue of
that language (consent_widget/locales), the one the banner and dialog came from."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from babel.dates import format_datetime
from markupsafe import Markup

from consent_widget import LOCALES
from legal_pages.i18n import CatalogueError, babel_locale, catalogue, direction, translator

WIDGET_LOCALES = LOCALES
__all__ = ["direction", "page_language"]


def page_language(tag: str) -> tuple[str, Callable[..., Markup], Callable[[str], str]]:
    """``(language, tr, local_time)`` for a receipt recorded in ``tag``; English for a tag that
    has no catalogue (the API accepts any well-formed tag, the widget sends the page's)."""
    try:
        found = catalogue(WIDGET_LOCALES, tag)
        language = tag
    except CatalogueError:
        found, language = catalogue(WIDGET_LOCALES, "en"), "en"
    locale = babel_locale(language)

    def local_time(iso: str) -> str:
        try:
            moment = dt.datetime.fromisoformat(iso.replace("Z", "+00:00"))
        except ValueError:
            return iso
        return str(format_datetime(moment, "medium", tzinfo=dt.UTC, locale=locale)) + " UTC"

    texts: dict[str, Any] = dict(found.texts)
    return language, translator(texts), local_time
