"""An exact word-level redline of two rendered HTML texts.

The guarantee readers rely on: remove every ``<del>`` and the redline reads as the newer
text, word for word; remove every ``<ins>`` and it reads as the older text, word for word.
lxml's ``htmldiff`` cannot give that on a real rewrite: it diffs one token stream with the
tags carried along, so a rewritten policy came out with old sections unmarked inside new
ones, headings inside list items and empty marks. So the diff works at the level of the
structure:

1. Blocks (headings, paragraphs, lists, list items, table rows ...) are aligned with their
   old counterparts: identical ones first (difflib), then, between those, the pairing of
   the same kind of block that keeps the most words in common (a small dynamic programme).
2. A paired block keeps its element (and its heading id) and is diffed inside: words in
   paragraph-like blocks, child blocks in containers (a list's items, an item's own list).
   A block that is the same in both (the same HTML) is written as it is, once, not re-marked
   word by word.
3. A block without a counterpart is shown whole, inside ``<div class="legal-block
   legal-block--ins">`` (or ``--del``), every word of it in one mark per run; a moved
   section is removed where it was and added where it is.

Words keep their inline markup (links, emphasis) and whether a space followed them, so the
two readings are exact; a mark is never empty. Deleted headings lose their id (the newer
text's headings keep theirs, so section links work).
"""

from __future__ import annotations

import html
import json
import re
from dataclasses import dataclass, field
from difflib import SequenceMatcher
from functools import cached_property, lru_cache
from typing import NamedTuple

from lxml import html as lxml_html
from lxml.etree import _Element

BLOCK_TAGS = frozenset({
    "address", "article", "aside", "blockquote", "dd", "details", "div", "dl", "dt", "figcaption",
    "figure", "footer", "h1", "h2", "h3", "h4", "h5", "h6", "header", "hr", "li", "main", "nav", "ol",
    "p", "pre", "section", "summary", "table", "tbody", "td", "tfoot", "th", "thead", "tr", "ul",
})
VOID_TAGS = frozenset({"br", "img", "wbr"})
HEADINGS = frozenset({"h1", "h2", "h3", "h4", "h5", "h6"})
PAIR_THRESHOLD = 0.5  # share of words two blocks of one kind must have in common to be one block changed
WORD = re.compile(r"(\S+)(\s*)")

Path = tuple[tuple[str, tuple[tuple[str, str], ...]], ...]  # the inline elements around a word


class Piece(NamedTuple):
    """A word (or an inline void element such as <br>) with its inline markup."""

    text: str
    path: Path
    space: bool  # whitespace followed it
    void: bool = False


@dataclass
class Block:
    tag: str | None  # None: loose text in a container (an item's text before its own list)
    attrs: dict[str, str] = field(default_factory=dict)
    pieces: list[Piece] = field(default_factory=list)  # a leaf: words
    children: list[Block] | None = None  # a container: blocks
    html: str = ""  # an element's own HTML, as the text has it ("" for loose text)

    @cached_property
    def words(self) -> list[str]:
        if self.children is None:
            return [p.text for p in self.pieces if not p.void]
        return [w for c in self.children for w in c.words]

    @cached_property
    def key(self) -> tuple[object, ...]:
        """Equal keys: the same block in both texts. An element is its HTML."""
        if self.html:
            return (self.tag, self.html)
        return (self.tag, tuple(sorted(self.attrs.items())), tuple(self.words),
                tuple((p.path, p.space, p.void) for p in self._all_pieces()))

    def _all_pieces(self) -> list[Piece]:
        if self.children is None:
            return self.pieces
        return [p for c in self.children for p in c._all_pieces()]


# -- parsing ------------------------------------------------------------------------------------

def _attrs(el: _Element) -> dict[str, str]:
    return {str(k): str(v) for k, v in el.attrib.items()}


def _path_step(el: _Element) -> tuple[str, tuple[tuple[str, str], ...]]:
    return (str(el.tag), tuple(sorted(_attrs(el).items())))


def _add_text(pieces: list[Piece], text: str | None, path: Path) -> None:
    if not text:
        return
    if text[0].isspace() and pieces and not pieces[-1].space:
        pieces[-1] = Piece(pieces[-1].text, pieces[-1].path, True, pieces[-1].void)
    pieces.extend([Piece(word, path, bool(space)) for word, space in WORD.findall(text)])


def _inline(el: _Element, path: Path, pieces: list[Piece]) -> None:
    """The words of an inline element (and of its descendants), not its tail."""
    tag = str(el.tag)
    if tag in VOID_TAGS:
        pieces.append(Piece(lxml_html.tostring(el, encoding="unicode", with_tail=False), path, False, True))
        return
    here = (*path, _path_step(el))
    _add_text(pieces, el.text, here)
    for child in el:
        _inline(child, here, pieces)
        _add_text(pieces, child.tail, here)


def _is_container(el: _Element) -> bool:
    return any(isinstance(d.tag, str) and d.tag in BLOCK_TAGS for d in el.iterdescendants())


def _block(el: _Element) -> Block:
    tag = str(el.tag)
    own = lxml_html.tostring(el, encoding="unicode", with_tail=False)
    if not _is_container(el):
        pieces: list[Piece] = []
        _add_text(pieces, el.text, ())
        for child in el:
            if isinstance(child.tag, str):
                _inline(child, (), pieces)
            _add_text(pieces, child.tail, ())
        return Block(tag, _attrs(el), pieces, html=own)
    return Block(tag, _attrs(el), children=_children(el.text, list(el)), html=own)


def _children(text: str | None, nodes: list[_Element]) -> list[Block]:
    """Blocks of a container: its block elements, and runs of loose inline content between them."""
    blocks: list[Block] = []
    loose: list[Piece] = []

    def flush() -> None:
        if loose:
            blocks.append(Block(None, pieces=list(loose)))
            loose.clear()

    _add_text(loose, text, ())
    for node in nodes:
        if not isinstance(node.tag, str):  # a comment
            _add_text(loose, node.tail, ())
            continue
        if node.tag in BLOCK_TAGS:
            flush()
            blocks.append(_block(node))
        else:
            _inline(node, (), loose)
        _add_text(loose, node.tail, ())
    flush()
    return blocks


@lru_cache(maxsize=2048)
def parse(fragment: str) -> list[Block]:
    """The blocks of an HTML fragment (a rendered policy text). Cached: a version is parsed once
    for its redline with the version before, the one after, and its export (blocks are not
    changed after parsing)."""
    if not fragment.strip():
        return []
    wrapper = lxml_html.fragment_fromstring(fragment, create_parent="div")
    return _children(wrapper.text, list(wrapper))


# -- alignment ----------------------------------------------------------------------------------

def _similarity(a: Block, b: Block) -> float:
    if a.tag != b.tag or (a.children is None) != (b.children is None):
        return 0.0
    wa, wb = a.words, b.words
    if not wa and not wb:
        return 1.0
    return SequenceMatcher(None, wa, wb, autojunk=False).ratio()


def _pair(old: list[Block], new: list[Block]) -> list[tuple[Block | None, Block | None]]:
    """Old and new blocks in reading order, paired where one is the other changed."""
    steps: list[tuple[Block | None, Block | None]] = []
    matcher = SequenceMatcher(None, [b.key for b in old], [b.key for b in new], autojunk=False)
    for op, i1, i2, j1, j2 in matcher.get_opcodes():
        if op == "equal":
            steps.extend(zip(old[i1:i2], new[j1:j2], strict=True))
        else:
            steps.extend(_best_pairing(old[i1:i2], new[j1:j2]))
    return steps


def _best_pairing(old: list[Block], new: list[Block]) -> list[tuple[Block | None, Block | None]]:
    """The order-keeping pairing with the most words in common (pairs below the threshold
    are not the same block); unpaired old blocks come before unpaired new ones at a gap."""
    n, m = len(old), len(new)
    sim = [[_similarity(a, b) for b in new] for a in old]
    weight = [[len(a.words) + len(b.words) + 1 for b in new] for a in old]
    best = [[0.0] * (m + 1) for _ in range(n + 1)]
    for i in range(n - 1, -1, -1):
        for j in range(m - 1, -1, -1):
            paired = best[i + 1][j + 1] + sim[i][j] * weight[i][j] if sim[i][j] >= PAIR_THRESHOLD else -1.0
            best[i][j] = max(best[i + 1][j], best[i][j + 1], paired)
    steps: list[tuple[Block | None, Block | None]] = []
    i = j = 0
    while i < n and j < m:
        if sim[i][j] >= PAIR_THRESHOLD and best[i][j] == best[i + 1][j + 1] + sim[i][j] * weight[i][j]:
            steps.append((old[i], new[j]))
            i, j = i + 1, j + 1
        elif best[i][j] == best[i + 1][j]:
            steps.append((old[i], None))
            i += 1
        else:
            steps.append((None, new[j]))
            j += 1
    steps.extend((a, None) for a in old[i:])
    steps.extend((None, b) for b in new[j:])
    return steps


# -- output -------------------------------------------------------------------------------------

def _open(tag: str, attrs: dict[str, str] | tuple[tuple[str, str], ...]) -> str:
    items = attrs.items() if isinstance(attrs, dict) else attrs
    return "<" + tag + "".join(f' {k}="{html.escape(v)}"' for k, v in items) + ">"


def _runs(marked: list[tuple[str, Piece]]) -> str:
    """Pieces with their status ('=', '+', '-'): one mark per run of a status and markup."""
    out: list[str] = []
    k = 0
    while k < len(marked):
        status, first = marked[k]
        end = k
        while (end + 1 < len(marked) and marked[end + 1][0] == status and not first.void
               and not marked[end + 1][1].void and marked[end + 1][1].path == first.path):
            end += 1
        run = [p for _, p in marked[k:end + 1]]
        if first.void:
            out.append(first.text if status != "-" else "")  # nothing to read; a mark would be empty
            out.append(" " if first.space else "")
            k += 1
            continue
        body = html.escape("".join(p.text + " " if p.space else p.text for p in run))
        inner = "".join(_open(tag, attrs) for tag, attrs in first.path) + body
        inner += "".join(f"</{tag}>" for tag, _ in reversed(first.path))
        mark = {"=": "", "+": "ins", "-": "del"}[status]
        out.append(f"<{mark}>{inner}</{mark}>" if mark else inner)
        k = end + 1
    return "".join(out)


def _word_diff(old: list[Piece], new: list[Piece]) -> str:
    marked: list[tuple[str, Piece]] = []
    matcher = SequenceMatcher(None, old, new, autojunk=False)
    for op, i1, i2, j1, j2 in matcher.get_opcodes():
        if op == "equal":
            marked.extend(("=", p) for p in new[j1:j2])
        else:
            marked.extend(("-", p) for p in old[i1:i2])
            marked.extend(("+", p) for p in new[j1:j2])
    return _runs(marked)


def _wrap(block: Block, inner: str, *, keep_id: bool = True) -> str:
    if block.tag is None:
        return inner
    attrs = {k: v for k, v in block.attrs.items() if keep_id or k != "id"}
    if block.tag in VOID_TAGS or block.tag == "hr":
        return _open(block.tag, attrs)
    return _open(block.tag, attrs) + inner + f"</{block.tag}>"


def _whole(block: Block, status: str) -> str:
    """A block with no counterpart, every word marked."""
    if block.children is None:
        inner = _runs([(status, p) for p in block.pieces])
    else:
        inner = "\n".join(_whole(c, status) for c in block.children)
    return _wrap(block, inner, keep_id=status != "-")


def _diff_blocks(old: list[Block], new: list[Block], top: bool) -> str:
    out: list[str] = []
    group: list[str] = []
    group_status = ""

    def flush() -> None:
        nonlocal group_status
        if group:
            kind = "ins" if group_status == "+" else "del"
            out.append(f'<div class="legal-block legal-block--{kind}">\n' + "\n".join(group) + "\n</div>"
                       if top else "\n".join(group))
            group.clear()
        group_status = ""

    for a, b in _pair(old, new):
        if a is not None and b is not None:
            flush()
            if a.key == b.key:
                out.append(b.html or _whole(b, "="))
            elif b.children is None:
                out.append(_wrap(b, _word_diff(a.pieces, b.pieces)))
            else:
                assert a.children is not None
                out.append(_wrap(b, "\n" + _diff_blocks(a.children, b.children, top=False) + "\n"))
            continue
        status = "+" if a is None else "-"
        if status != group_status:
            flush()
            group_status = status
        block = b if b is not None else a
        assert block is not None
        if block.words or block.tag is not None:
            group.append(_whole(block, status))
    flush()
    return "\n".join(out)


def redline(old_html: str, new_html: str) -> str:
    """HTML of ``new_html`` with insertions in ``<ins>`` and deletions in ``<del>`` (see above)."""
    return _diff_blocks(parse(old_html), parse(new_html), top=True)


# -- the same, in the reader's browser ----------------------------------------------------------
# The compare page diffs any two versions in the browser (assets/javascripts/compare.js, a line
# by line port of the functions above) from each version's blocks, exported here; a test checks
# that both give the same HTML for every pair.

def export(fragment: str) -> dict[str, object]:
    """A rendered text's blocks as JSON data for compare.js."""
    paths: dict[Path, str] = {}

    def path_json(path: Path) -> str:
        if path not in paths:
            paths[path] = json.dumps([[tag, [list(kv) for kv in attrs]] for tag, attrs in path],
                                     separators=(",", ":"))
        return paths[path]

    def block(b: Block) -> dict[str, object]:
        out: dict[str, object] = {"t": b.tag, "a": [list(kv) for kv in b.attrs.items()]}
        if b.html:
            out["h"] = b.html
        if b.children is None:
            out["p"] = [[p.text, path_json(p.path), int(p.space), int(p.void)] for p in b.pieces]
        else:
            out["c"] = [block(c) for c in b.children]
        return out

    return {"format": 1, "blocks": [block(b) for b in parse(fragment)]}
