"""Word-level redline of two rendered HTML texts (lxml's htmldiff)."""

from __future__ import annotations

from lxml.html.diff import htmldiff


def redline(old_html: str, new_html: str) -> str:
    """HTML of ``new_html`` with insertions in ``<ins>`` and deletions in ``<del>``.

    The diff runs on rendered text, so headings and lists keep their structure
    and Markdown syntax changes that render the same are not reported.
    """
    if not old_html.strip():
        return f"<ins>{new_html}</ins>" if new_html.strip() else ""
    if not new_html.strip():
        return f"<del>{old_html}</del>"
    return str(htmldiff(old_html, new_html))
