"""Ways through a redline: every change numbered, the sections it touches, links from the summary.

``annotate`` gives each change of a redline (a whole added or removed block, or a run of marks
inside a changed block; a deletion followed by its replacement is one change) an id
``change-N`` that the page's next/previous buttons and the list of changed sections link to.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, field

from lxml import html as lxml_html

HEADING = "h2"
NUMBER = re.compile(r"^\s*\d+[.)]\s*")


@dataclass
class Section:
    title: str
    kind: str  # "changed", "added" or "removed"
    anchor: str  # the id of its first change
    changes: int = 0
    words: list[str] = field(default_factory=list)


def _text(el: lxml_html.HtmlElement, without: str) -> str:
    parts: list[str] = []

    def walk(node: lxml_html.HtmlElement) -> None:
        if node.tag == without:
            return
        parts.append(node.text or "")
        for child in node:
            walk(child)
            parts.append(child.tail or "")

    walk(el)
    return " ".join("".join(parts).split())


def annotate(redline_html: str) -> tuple[str, list[Section]]:
    """The redline with ``id="change-N"`` on each change, and the sections with changes."""
    if not redline_html.strip():
        return redline_html, []
    root = lxml_html.fragment_fromstring(redline_html, create_parent="div")
    sections: list[Section] = []
    current: Section | None = None
    count = 0

    def mark(el: lxml_html.HtmlElement) -> str:
        nonlocal count
        count += 1
        el.set("id", f"change-{count}")
        el.set("data-change", str(count))
        el.set("tabindex", "-1")
        return f"change-{count}"

    def touch(anchor: str) -> None:
        nonlocal current
        if current is None:
            current = Section("Before the first section", "changed", anchor)
            sections.append(current)
        if current.changes == 0:
            current.anchor = anchor
            if all(s is not current for s in sections):
                sections.append(current)
        current.changes += 1

    for node in root:
        if node.tag == "div" and "legal-block" in (node.get("class") or ""):
            kind = "added" if "legal-block--ins" in node.get("class", "") else "removed"
            anchor = mark(node)
            headings = node.findall(f".//{HEADING}")
            if not headings:
                touch(anchor)
            for k, heading in enumerate(headings):
                if k and not heading.get("id"):  # a removed heading has none: link to it anyway
                    heading.set("id", f"{anchor}-{k}")
                current = Section(_text(heading, ""), kind, heading.get("id") if k else anchor)
                sections.append(current)
                current.changes += 1
            continue
        if node.tag == HEADING:
            title = _text(node, "del")
            current = Section(title, "changed", "")
        for found in node.iter("ins", "del"):
            previous = found.getprevious()
            if (found.tag == "ins" and previous is not None and previous.tag == "del"
                    and not (previous.tail or "").strip()):
                continue  # the replacement of the deletion just before it: one change
            touch(mark(found))
    return lxml_html.tostring(root, encoding="unicode")[len("<div>"):-len("</div>")], sections


def sections_list(sections: list[Section]) -> str:
    """The changed sections as an HTML list linking to each one's first change."""
    if not sections:
        return "<p>No changes to the text.</p>"
    kinds = {"changed": "changed", "added": "added", "removed": "removed"}
    items = "".join(
        f'<li><a href="#{s.anchor}">{html.escape(s.title)}</a> '
        f'<span class="legal-change-kind legal-change-kind--{s.kind}">({kinds[s.kind]})</span></li>'
        for s in sections
    )
    return f'<ul class="legal-changed-sections">{items}</ul>'


def link_summary(line_html: str, sections: list[Section]) -> str:
    """A summary line's HTML with the first mention of each changed section's title linked."""
    for section in sections:
        name = NUMBER.sub("", section.title)
        if len(name) < 4:
            continue
        pattern = re.compile(r"(?<![\w>])(" + re.escape(name) + r")(?![\w<])", re.I)
        # only in text, never inside a tag or an existing link
        pieces = re.split(r"(<a\b.*?</a>|<[^>]+>)", line_html)
        for i, piece in enumerate(pieces):
            if piece.startswith("<"):
                continue
            replaced, n = pattern.subn(lambda m, s=section: f'<a href="#{s.anchor}">{m.group(1)}</a>', piece,
                                       count=1)
            if n:
                pieces[i] = replaced
                break
        line_html = "".join(pieces)
    return line_html
