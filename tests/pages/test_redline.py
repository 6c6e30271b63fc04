"""The redline read as an auditor reads it: without its deletions it is the newer text, word
for word; without its insertions, the older one; and its structure is sound.

Run on the built site's real seed redline, on every pair of versions in the repository, and
on generated rewrites of the current policy (sections swapped, paragraphs deleted, list items
added, words changed, headings renamed).
"""

from __future__ import annotations

import copy
import itertools
import random
import re
from pathlib import Path
from typing import Any

import markdown
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from lxml import html

from legal_pages.model import load_policies, read_source
from legal_pages.redline import redline
from tests.harness import ROOT, Served

FIXTURE_DOCS = ROOT / "tests" / "pages" / "fixtures" / "docs"
CURRENT = ROOT / "docs" / "privacy" / "versions" / "2026-11-22.md"


def render(text: str) -> str:
    """A version body rendered with the site's Markdown extensions (ids on headings)."""
    return markdown.markdown(text, extensions=["md_in_html", "attr_list", "tables", "toc"])


def fragment(markup: str) -> Any:
    return html.fragment_fromstring(markup, create_parent="div")


def words(el: Any) -> list[str]:
    return " ".join(el.itertext()).split()


def xpath(el: Any, path: str) -> list[Any]:
    return list(el.xpath(path))


def without(el: Any, tag: str) -> Any:
    el = copy.deepcopy(el)
    for found in el.iter(tag):
        found.drop_tree()
    return el


def assert_exact(red: Any, old: Any, new: Any) -> None:
    """The two readings, and the structural rules, of one redline."""
    assert words(without(red, "del")) == words(new), "without <del> the redline is not the newer text"
    assert words(without(red, "ins")) == words(old), "without <ins> the redline is not the older text"
    marks = xpath(red, ".//ins | .//del")
    assert all("".join(m.itertext()).strip() for m in marks), "an empty <ins> or <del>"
    assert not red.xpath(".//ins//ins | .//ins//del | .//del//ins | .//del//del"), "nested marks"
    headings = "self::h1 or self::h2 or self::h3 or self::h4 or self::h5 or self::h6"
    assert not red.xpath(f".//li//*[{headings}]"), "a heading inside a list item"
    assert not red.xpath(f".//*[{headings}]//*[{headings}]"), "a heading inside a heading"
    new_ids = [h.get("id") for h in xpath(new, f".//*[{headings}]") if h.get("id")]
    kept = f".//*[{headings}][not(ancestor::div[contains(@class, 'legal-block--del')])]"
    red_ids = [h.get("id") for h in xpath(red, kept) if h.get("id")]
    assert red_ids == new_ids, "the newer text's headings lose or change their ids"


def check_pair(old_md: str, new_md: str) -> None:
    old, new = render(old_md), render(new_md)
    assert_exact(fragment(redline(old, new)), fragment(old), fragment(new))


# -- the real thing -------------------------------------------------------------------------------

def legal_text(page: Path) -> Any:
    """A built page's policy text, without the pilcrow links MkDocs adds to headings."""
    body = html.parse(str(page)).getroot().cssselect(".legal-text")[0]
    for anchor in body.cssselect("a.headerlink"):
        anchor.drop_tree()
    return body


def test_the_seed_redline_on_the_built_site_is_exact(site: Served) -> None:
    def text_of(path: str) -> Any:
        return legal_text(site.site_dir / path / "index.html")

    page = html.parse(str(site.site_dir / "privacy" / "2026-11-22" / "changes" / "index.html")).getroot()
    red = page.cssselect(".legal-redline")[0]
    old, new = text_of("privacy/2025-03-31"), text_of("privacy/2026-11-22")
    assert len(words(new)) == 1072  # the whole of the newer text, not the ~1,200 words of the old redline
    assert_exact(red, old, new)
    # What the old redline showed as policy: the 2025 text's own sections are marked deleted.
    deleted = " ".join(" ".join(d.itertext()) for d in red.iter("del"))
    for gone in ("We do not sell or rent personal information", "Clerk", "Stripe"):
        assert gone in " ".join(deleted.split())
        assert gone not in " ".join(words(without(red, "del")))
    assert red.cssselect(".legal-block--ins h2") and red.cssselect(".legal-block--del")


@pytest.mark.parametrize("docs", [ROOT / "docs", FIXTURE_DOCS], ids=["product", "fixtures"])
def test_every_pair_of_versions_in_the_repository_gives_an_exact_redline(docs: Path) -> None:
    pairs = 0
    for policy in load_policies(docs):
        for old, new in itertools.permutations(policy.versions, 2):  # both directions
            check_pair(old.body, new.body)
            pairs += 1
    assert pairs >= 2


# -- generated rewrites of the current text ---------------------------------------------------------

BODY = read_source(CURRENT).body
VOCABULARY = ("data", "privacy", "processor", "retention", "we", "may", "not", "shall", "customer",
              "request", "delete", "securely", "annually", "vendor", "personal", "information")


def sections(body: str) -> list[str]:
    """The text before the first section, then each '## ' section with its content."""
    return re.split(r"\n(?=## )", body)


def rewrite(body: str, ops: list[tuple[str, int, int]], rng: random.Random) -> str:
    parts = sections(body)
    for op, a, b in ops:
        i, j = 1 + a % (len(parts) - 1), 1 + b % (len(parts) - 1)
        blocks = parts[i].split("\n\n")
        if op == "swap":
            parts[i], parts[j] = parts[j], parts[i]
        elif op == "delete-paragraph" and len(blocks) > 2:
            del blocks[1 + b % (len(blocks) - 1)]
            parts[i] = "\n\n".join(blocks)
        elif op == "add-item":
            lines = parts[i].split("\n")
            items = [k for k, line in enumerate(lines) if line.startswith("- ")]
            at = items[b % len(items)] + 1 if items else len(lines)
            lines.insert(at, "- " + " ".join(rng.choice(VOCABULARY) for _ in range(6)) + ".")
            parts[i] = "\n".join(lines)
        elif op == "change-words":
            k = 1 + b % (len(blocks) - 1) if len(blocks) > 1 else 0
            tokens = blocks[k].split(" ")
            for _ in range(1 + b % 4):
                at = rng.randrange(len(tokens))
                if not tokens[at].startswith(("#", "-")):
                    tokens[at] = rng.choice(VOCABULARY)
            blocks[k] = " ".join(tokens)
            parts[i] = "\n\n".join(blocks)
        elif op == "rename-heading":
            head, _, rest = parts[i].partition("\n")
            parts[i] = head + " " + rng.choice(VOCABULARY).title() + "\n" + rest
        elif op == "delete-section" and len(parts) > 3:
            del parts[i]
        elif op == "add-section":
            parts.insert(i, "## New " + rng.choice(VOCABULARY).title() + "\n\nA new section on "
                         + " ".join(rng.choice(VOCABULARY) for _ in range(8)) + ".\n")
    return "\n".join(parts)


OPS = st.tuples(
    st.sampled_from(["swap", "delete-paragraph", "add-item", "change-words", "rename-heading",
                     "delete-section", "add-section"]),
    st.integers(0, 1000), st.integers(0, 1000),
)


@settings(max_examples=60, deadline=None, derandomize=True)
@given(ops=st.lists(OPS, min_size=1, max_size=6), seed=st.integers(0, 2**16))
def test_a_generated_rewrite_of_the_current_text_gives_an_exact_redline(
    ops: list[tuple[str, int, int]], seed: int
) -> None:
    rewritten = rewrite(BODY, ops, random.Random(seed))
    check_pair(BODY, rewritten)
    check_pair(rewritten, BODY)


def test_a_moved_section_is_shown_removed_and_added_never_unmarked() -> None:
    parts = sections(BODY)
    moved = parts[2]
    rewritten = "\n".join([parts[0], parts[1], *parts[3:], moved])
    red = fragment(redline(render(BODY), render(rewritten)))
    title = moved.split("\n", 1)[0].lstrip("# ").strip()
    deleted = [h for h in red.cssselect(".legal-block--del h2") if " ".join(words(h)) == title]
    added = [h for h in red.cssselect(".legal-block--ins h2") if " ".join(words(h)) == title]
    assert len(deleted) == 1 and len(added) == 1
    assert deleted[0].get("id") is None and added[0].get("id")  # one id, on the text that holds
    check_pair(BODY, rewritten)


def test_every_changes_page_of_the_built_fixture_site_is_exact(build_as_of: Any) -> None:
    site = build_as_of("2026-12-15", True)  # every fixture version, drafts and upcoming included

    text_of = legal_text

    pages = sorted(site.glob("*/*/changes/index.html"))
    assert len(pages) >= 2
    for changes in pages:
        policy = changes.parents[2]
        new_id = changes.parents[1].name
        ids = sorted(p.name for p in policy.iterdir() if re.fullmatch(r"\d{4}-\d{2}-\d{2}", p.name))
        old_id = ids[ids.index(new_id) - 1]
        red = html.parse(str(changes)).getroot().cssselect(".legal-redline")[0]
        assert_exact(red, text_of(policy / old_id / "index.html"), text_of(policy / new_id / "index.html"))
