"""Word-level redline of two rendered HTML texts.

Top-level blocks (headings, paragraphs, lists) are first aligned with difflib;
lxml's htmldiff then marks words only inside the blocks that changed. Between
two versions of a policy most blocks are unchanged, so this is much faster than
diffing whole documents and gives the same marks.
"""

from __future__ import annotations

from difflib import SequenceMatcher

from lxml import html as lxml_html
from lxml.html.diff import htmldiff


def _blocks(fragment: str) -> list[str]:
    """The top-level blocks of an HTML fragment, each serialised on its own."""
    blocks: list[str] = []
    for node in lxml_html.fragments_fromstring(fragment):
        if isinstance(node, str):
            if node.strip():
                blocks.append(node.strip())
            continue
        tail, node.tail = node.tail, None
        blocks.append(lxml_html.tostring(node, encoding="unicode"))
        if tail and tail.strip():
            blocks.append(tail.strip())
    return blocks


def redline(old_html: str, new_html: str) -> str:
    """HTML of ``new_html`` with insertions in ``<ins>`` and deletions in ``<del>``.

    The diff runs on rendered text, so headings and lists keep their structure
    and Markdown syntax changes that render the same are not reported.
    """
    if not old_html.strip():
        return f"<ins>{new_html}</ins>" if new_html.strip() else ""
    if not new_html.strip():
        return f"<del>{old_html}</del>"
    old, new = _blocks(old_html), _blocks(new_html)
    out: list[str] = []
    matcher = SequenceMatcher(None, old, new, autojunk=False)
    for op, i1, i2, j1, j2 in matcher.get_opcodes():
        if op == "equal":
            out.extend(new[j1:j2])
        else:
            diff = str(htmldiff("\n".join(old[i1:i2]), "\n".join(new[j1:j2])))
            out.append(diff.replace("<del></del>", "").replace("<ins></ins>", "").strip())
    return "\n".join(out)
