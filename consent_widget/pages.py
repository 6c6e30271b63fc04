"""The ``/cookies/`` page, rendered from the consent inventory in one language."""

from __future__ import annotations

import json
from html import escape

from .inventory import Inventory


def cookie_page(inventory: Inventory, language: str, t: dict[str, str]) -> str:
    """Markdown (with HTML tables) listing every category and cookie, with a settings button.
    ``t`` is the widget's texts in ``language``; the inventory has every text in it (checked)."""
    title = inventory.title.get(language) or t["cookie_policy"]

    out = [
        "---", f"title: {json.dumps(title)}", "---", "", f"# {escape(title)}", "",
        f'<p><button type="button" class="md-button md-button--primary" data-consent-open>'
        f"{escape(t['settings_link'])}</button></p>", "",
    ]
    for cat in inventory.categories:
        out += [f"## {escape(cat.name[language])}", "", f"<p>{escape(cat.description[language])}</p>", ""]
        if cat.required:
            out += [f"<p><strong>{escape(t['always_on'])}</strong></p>", ""]
        if not cat.cookies:
            out += [f"<p>{escape(t['no_cookies'])}</p>", ""]
            continue
        head = "".join(f"<th scope=\"col\">{escape(t[k])}</th>" for k in (
            "cookie_table_name", "cookie_table_provider", "cookie_table_purpose", "cookie_table_duration"))
        rows = "".join(
            f"<tr><td><code>{escape(k.name)}</code></td><td>{escape(k.provider_in(language))}</td>"
            f"<td>{escape(k.purpose[language])}</td><td>{escape(k.duration[language])}</td></tr>"
            for k in cat.cookies
        )
        out += [f'<table data-consent-category-table="{cat.id}"><thead><tr>{head}</tr></thead>'
                f"<tbody>{rows}</tbody></table>", ""]
    return "\n".join(out) + "\n"
