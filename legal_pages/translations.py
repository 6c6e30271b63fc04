"""Translations of a policy version, supplied by legal: ``docs/<policy>/versions/<date>.<lang>.md``.

Legal text is never machine-written. A translation names the exact source version it
translates by that file's SHA-256 (``translates``); the check refuses one whose source
changed since, or whose sections do not match the source's, so a reader is never shown a
translation of some other text. Which language binds is the policy's ``binding_language``.
"""

from __future__ import annotations

import re

from .model import Problem, RawSource, Translation, Version

HEADING_RE = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")
FENCE_RE = re.compile(r"^\s*(```|~~~)")
NUMBER_RE = re.compile(r"^\s*(?:section\s+)?(\d+(?:\.\d+)*)\b", re.I)


def sections(body: str, first_line: int = 1) -> list[tuple[int, int, str, str]]:
    """The headings of a body outside code blocks: (line, level, number or '', title)."""
    found = []
    fenced = False
    for offset, line in enumerate(body.splitlines()):
        if FENCE_RE.match(line):
            fenced = not fenced
            continue
        m = None if fenced else HEADING_RE.match(line)
        if m:
            number = NUMBER_RE.match(m.group(2))
            found.append((first_line + offset, len(m.group(1)), number.group(1) if number else "",
                          m.group(2)))
    return found


def check_translation(src: RawSource, translation: Translation, source: Version | None,
                      locked_sha: str | None) -> list[Problem]:
    """Does this translation translate exactly the source version it names, section for section?"""
    path = src.path
    if source is None:
        return [Problem(path, 1, "translation",
                        f"translates a version that does not exist: there is no {translation.version_id}.md "
                        "beside it")]
    problems = []
    expected = locked_sha or source.sha256
    if translation.translates != expected or translation.translates != source.sha256:
        problems.append(Problem(
            path, src.field_line("translates"), "translation-stale",
            f"'translates: {translation.translates[:12]}…' does not name the source version as it is "
            f"({source.path.name} has SHA-256 {source.sha256[:12]}…"
            + (f", the lock {locked_sha[:12]}…" if locked_sha and locked_sha != source.sha256 else "")
            + "): the translation was made from another text. Have it translated again from the "
              "current source and set 'translates' to that file's SHA-256"))
    mine = sections(translation.body, src.body_line)
    theirs = sections(source.body, source.body_line)
    for i in range(max(len(mine), len(theirs))):
        a = theirs[i] if i < len(theirs) else None
        b = mine[i] if i < len(mine) else None
        if a is not None and b is not None and a[1:3] == b[1:3]:
            continue
        if b is None:
            assert a is not None
            problems.append(Problem(path, len(src.text.splitlines()), "translation-sections",
                                    f"the source's section '{'#' * a[1]} {a[3]}' ({source.path.name} line "
                                    f"{a[0]}) has no counterpart: the translation has "
                                    f"{len(mine)} headings, the source {len(theirs)}"))
        elif a is None:
            problems.append(Problem(path, b[0], "translation-sections",
                                    f"'{'#' * b[1]} {b[3]}' has no counterpart in the source: the "
                                    f"translation has {len(mine)} headings, the source {len(theirs)}"))
        else:
            problems.append(Problem(path, b[0], "translation-sections",
                                    f"'{'#' * b[1]} {b[3]}' stands where the source has "
                                    f"'{'#' * a[1]} {a[3]}' ({source.path.name} line {a[0]}): the "
                                    "sections must match the source's, level and number"))
        break
    return problems
