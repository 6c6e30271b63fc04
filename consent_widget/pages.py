"""The ``/cookies/`` page, rendered from the consent inventory."""

from __future__ import annotations

import json
from html import escape

from .inventory import Inventory


def cookie_page(inventory: Inventory, language: str) -> str:
    """Markdown (with HTML tables) listing every category and cookie, with a settings button."""
    t = inventory.texts_for(language)

    def local(texts: dict[str, str]) -> str:
        return escape(texts.get(language.split("-")[0], texts["en"]))

    out = [
        "---", f"title: {json.dumps(inventory.title)}", "---", "", f"# {escape(inventory.title)}", "",
        f'<p><button type="button" class="md-button md-button--primary" data-consent-open>'
        f"{escape(t['settings_link'])}</button></p>", "",
    ]
    for cat in inventory.categories:
        out += [f"## {local(cat.name)}", "", f"<p>{local(cat.description)}</p>", ""]
        if cat.required:
            out += [f"<p><strong>{escape(t['always_on'])}.</strong></p>", ""]
        if not cat.cookies:
            out += [f"<p>{escape(t['no_cookies'])}</p>", ""]
            continue
        head = "".join(f"<th scope=\"col\">{escape(t[k])}</th>" for k in (
            "cookie_table_name", "cookie_table_provider", "cookie_table_purpose", "cookie_table_duration"))
        rows = "".join(
            f"<tr><td><code>{escape(k.name)}</code></td><td>{escape(k.provider)}</td>"
            f"<td>{local(k.purpose)}</td><td>{escape(k.duration)}</td></tr>"
            for k in cat.cookies
        )
        out += [f'<table data-consent-category-table="{cat.id}"><thead><tr>{head}</tr></thead>'
                f"<tbody>{rows}</tbody></table>", ""]
    return "\n".join(out) + "\n"
