"""The ``check`` command: every mistake in a policy source, as ``file:line: message``.

Rules (the ``rule`` name is what an acknowledgement refers to):

- ``front-matter``: required fields present and typed, dates valid, file name is the
  effective date, ``published`` not after ``effective``;
- ``notice-period``: a material change is published at least N days before it takes effect;
- ``immutable``: a version in effect matches its hash in ``policies.lock``;
- ``lock``: every version is recorded in ``policies.lock``;
- ``section-numbering``: numbered sections that skip, repeat or go back;
- ``empty-section``: a heading with nothing under it;
- ``heading-order``: a heading more than one level below the previous one, or a level-1 heading;
- ``placeholder``: scraping artefacts, TODOs, lorem ipsum, unreplaced template variables;
- ``broken-link``: a link to a page of the site that does not exist, or a relative link.

A finding listed under ``acknowledged`` in the version's front matter is reported
but does not fail the check.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from .lock import LockEntry, current_entries, is_in_effect, read_lock
from .model import (
    Acknowledgement,
    Problem,
    RawSource,
    Version,
    policy_dirs,
    read_source,
    to_version,
    validate_front_matter,
    version_files,
)
from .paths import long_date

DEFAULT_NOTICE_DAYS = 30

HEADING_RE = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")
FENCE_RE = re.compile(r"^\s*(```|~~~)")
NUMBER_RE = re.compile(r"^(\d+)[.)]\s")
INLINE_LINK_RE = re.compile(r"(?<!!)\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
REF_DEF_RE = re.compile(r"^\s{0,3}\[[^\]]+\]:\s*<?(\S+?)>?(?:\s|$)")
EXTERNAL_RE = re.compile(r"^(?:[a-z][a-z0-9+.-]*:|#|//)", re.I)

PLACEHOLDERS: list[tuple[re.Pattern[str], str]] = [
    (re.compile(r"\[email(?:&#160;|\s)*protected\]", re.I),
     "'{0}' is a scraping artefact where an e-mail address should be"),
    (re.compile(r"\b(?:TODO|TBD|FIXME|XXX)\b"), "'{0}' is a placeholder"),
    (re.compile(r"\blorem ipsum\b", re.I), "'{0}' is placeholder text"),
    (re.compile(r"\{\{.*?\}\}|\{%.*?%\}|\$\{[^}]*\}|<<[^<>]+>>"),
     "'{0}' is an unreplaced template variable"),
    (re.compile(r"\[(?:[A-Z][A-Z0-9]*(?:[ _-][A-Z0-9]+)+|INSERT[^\]]*)\](?![(\[:])"),
     "'{0}' is an unfilled placeholder"),
]


@dataclass(frozen=True)
class Finding:
    path: Path
    line: int
    rule: str
    message: str
    acknowledged: Acknowledgement | None = None
    warning: bool = False

    @property
    def severity(self) -> str:
        if self.acknowledged is not None:
            return "acknowledged"
        return "warning" if self.warning else "error"

    def format(self, base: Path | None = None) -> str:
        shown = self.path
        if base is not None:
            try:
                shown = self.path.resolve().relative_to(base.resolve())
            except ValueError:
                shown = self.path
        text = f"{shown}:{self.line}: {self.severity} [{self.rule}] {self.message}"
        if self.acknowledged is not None:
            text += f" (acknowledged: {' '.join(self.acknowledged.reason.split())})"
        return text


@dataclass
class Report:
    findings: list[Finding] = field(default_factory=list)
    files: int = 0
    policies: int = 0

    @property
    def errors(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == "error"]

    def count(self, severity: str) -> int:
        return sum(1 for f in self.findings if f.severity == severity)

    def summary(self) -> str:
        return (
            f"Checked {_plural(self.files, 'version')} of {_plural(self.policies, 'policy', 'policies')}: "
            f"{_plural(self.count('error'), 'error')}, {self.count('acknowledged')} acknowledged, "
            f"{_plural(self.count('warning'), 'warning')}."
        )


def _body_lines(src: RawSource) -> Iterator[tuple[int, str]]:
    """Body lines with their file line numbers, outside fenced code blocks."""
    fenced = False
    for offset, line in enumerate(src.body.splitlines()):
        if FENCE_RE.match(line):
            fenced = not fenced
            continue
        if not fenced:
            yield src.body_line + offset, line


def check_structure(src: RawSource) -> list[Problem]:
    problems: list[Problem] = []
    lines = list(_body_lines(src))
    headings = [(n, len(m.group(1)), m.group(2)) for n, line in lines if (m := HEADING_RE.match(line))]
    previous_level = 1
    # Numbering is compared among headings of one level under the same parent.
    last_number: dict[tuple[int, int], int] = {}
    parent_at: dict[int, int] = {1: 0}
    for line, level, title in headings:
        if level == 1:
            problems.append(Problem(src.path, line, "heading-order",
                                    f"'{title}' is a level-1 heading: the title comes from 'title', "
                                    "sections start at '##'"))
        elif level > previous_level + 1:
            problems.append(Problem(src.path, line, "heading-order",
                                    f"'{title}' jumps from heading level {previous_level} to {level}"))
        previous_level = level
        parent_at[level] = line
        for deeper in [lvl for lvl in parent_at if lvl > level]:
            del parent_at[deeper]
        parent = max((ln for lvl, ln in parent_at.items() if lvl < level), default=0)
        number_match = NUMBER_RE.match(title + " ")
        if number_match:
            number = int(number_match.group(1))
            key = (level, parent)
            before = last_number.get(key)
            if before is None and number != 1:
                problems.append(Problem(src.path, line, "section-numbering",
                                        f"numbering starts at section {number} instead of 1"))
            elif before is not None and number == before:
                problems.append(Problem(src.path, line, "section-numbering",
                                        f"section {number} appears twice"))
            elif before is not None and number < before:
                problems.append(Problem(src.path, line, "section-numbering",
                                        f"section {number} comes after section {before}"))
            elif before is not None and number > before + 1:
                missing = list(range(before + 1, number))
                which = (f"section {missing[0]} is missing" if len(missing) == 1
                         else f"sections {missing[0]} to {missing[-1]} are missing")
                problems.append(Problem(src.path, line, "section-numbering",
                                        f"section {number} follows section {before}: {which}"))
            last_number[key] = number
    problems.extend(_empty_sections(src, lines))
    return problems


def _empty_sections(src: RawSource, lines: list[tuple[int, str]]) -> list[Problem]:
    problems = []
    for i, (line, text) in enumerate(lines):
        match = HEADING_RE.match(text)
        if not match:
            continue
        level = len(match.group(1))
        following = next(((t, HEADING_RE.match(t)) for _, t in lines[i + 1:] if t.strip()), None)
        if following is None or (following[1] is not None and len(following[1].group(1)) <= level):
            problems.append(Problem(src.path, line, "empty-section",
                                    f"section '{match.group(2)}' is empty"))
    return problems


def check_text(src: RawSource) -> list[Problem]:
    problems = []
    for line, text in _body_lines(src):
        for pattern, message in PLACEHOLDERS:
            for found in pattern.finditer(text):
                problems.append(Problem(src.path, line, "placeholder", message.format(found.group(0))))
    return problems


def site_routes(docs_dir: Path) -> set[str]:
    """Every site path a policy text may link to."""
    routes = {"/", "/feed.xml", "/policies.json"}
    version_dirs = {folder / "versions" for folder in policy_dirs(docs_dir)}
    for folder in policy_dirs(docs_dir):
        slug = folder.name
        routes |= {f"/{slug}/", f"/{slug}/history/"}
        for i, path in enumerate(version_files(folder)):
            routes.add(f"/{slug}/{path.stem}/")
            if i:
                routes.add(f"/{slug}/{path.stem}/changes/")
    for path in docs_dir.rglob("*"):
        if not path.is_file() or path.parent in version_dirs or path.name.startswith("."):
            continue
        rel = path.relative_to(docs_dir).as_posix()
        if rel.endswith(".md"):
            stem = rel[:-3]
            if stem == "index" or stem.endswith("/index"):
                stem = stem[: -len("index")].rstrip("/")
            routes.add(f"/{stem}/" if stem else "/")
        else:
            routes.add(f"/{rel}")
    return routes


def check_links(src: RawSource, routes: set[str]) -> list[Problem]:
    problems = []
    for line, text in _body_lines(src):
        targets = [m.group(1) for m in INLINE_LINK_RE.finditer(text)]
        if (ref := REF_DEF_RE.match(text)) is not None:
            targets.append(ref.group(1))
        for target in targets:
            if EXTERNAL_RE.match(target):
                continue
            path = target.split("#", 1)[0].split("?", 1)[0]
            if not path.startswith("/"):
                problems.append(Problem(
                    src.path, line, "broken-link",
                    f"the link '{target}' is relative: write it from the site root, like /privacy/ "
                    "(a relative link breaks between the current and the archived copies)"))
            elif path not in routes and path.rstrip("/") + "/" not in routes:
                problems.append(Problem(src.path, line, "broken-link",
                                        f"the link '{target}' points to no page of the site"))
    return problems


def check_dates(src: RawSource, version: Version, notice_days: int) -> list[Problem]:
    if not version.material:
        return []
    notice = (version.effective - version.published).days
    if notice >= notice_days:
        return []
    return [Problem(
        src.path, src.field_line("effective"), "notice-period",
        f"a material change needs at least {notice_days} days' notice: published "
        f"{version.published}, effective {version.effective} ({_plural(notice, 'day')})",
    )]


def _plural(count: int, word: str, many: str | None = None) -> str:
    return f"{count} {word if count == 1 else (many or word + 's')}"


def check_lock(docs_dir: Path, lock_path: Path, today: dt.date) -> list[Problem]:
    recorded = read_lock(lock_path)
    problems = []
    on_disk = current_entries(docs_dir)
    for key, (path, entry) in sorted(on_disk.items()):
        old = recorded.get(key)
        if old is not None and old.sha256 == entry.sha256:
            continue
        if old is not None and is_in_effect(old, today):
            problems.append(Problem(
                path, 1, "immutable",
                f"published versions are immutable: this version took effect on "
                f"{_date_text(old)} and its text has changed since it was recorded in {lock_path.name}. "
                f"Restore it, and publish a correction as a new version "
                f"(imarouter-legal new-version {path.parent.parent.name} --effective YYYY-MM-DD)",
            ))
        elif old is None and is_in_effect(entry, today):
            problems.append(Problem(
                path, 1, "lock",
                f"this version is in effect but not recorded in {lock_path.name}: "
                "run 'imarouter-legal lock' and commit the lock file with it",
            ))
        else:
            what = "is not recorded" if old is None else "has changed since it was recorded"
            problems.append(Problem(
                path, 1, "lock",
                f"this version {what} in {lock_path.name}: run 'imarouter-legal lock' and commit the "
                "lock file with it",
            ))
    for key, entry in sorted(recorded.items()):
        if key not in on_disk:
            verb = "took effect on " + _date_text(entry) if is_in_effect(entry, today) else "is recorded"
            problems.append(Problem(
                docs_dir / key, 1, "immutable" if is_in_effect(entry, today) else "lock",
                f"this version {verb} in {lock_path.name} but its file is gone: "
                + ("published versions may not be deleted" if is_in_effect(entry, today)
                   else "run 'imarouter-legal lock' to forget it"),
            ))
    return problems


def _date_text(entry: LockEntry) -> str:
    try:
        return long_date(dt.date.fromisoformat(entry.effective))
    except ValueError:
        return entry.effective


def _acknowledge(problem: Problem, acks: tuple[Acknowledgement, ...]) -> Finding:
    for ack in acks:
        if ack.covers(problem.rule, problem.message):
            return Finding(problem.path, problem.line, problem.rule, problem.message, ack)
    return Finding(problem.path, problem.line, problem.rule, problem.message)


def _acks_of(src: RawSource) -> tuple[Acknowledgement, ...]:
    raw = src.meta.get("acknowledged")
    if not isinstance(raw, list):
        return ()
    return tuple(
        Acknowledgement(str(a["rule"]), str(a["reason"]), a.get("match"))
        for a in raw if isinstance(a, dict) and "rule" in a and "reason" in a
    )


def check(
    docs_dir: Path,
    *,
    lock_path: Path,
    today: dt.date,
    notice_days: int = DEFAULT_NOTICE_DAYS,
) -> Report:
    """Lint every policy source under ``docs_dir``."""
    report = Report()
    routes = site_routes(docs_dir)
    lock_problems: dict[Path, list[Problem]] = {}
    for problem in check_lock(docs_dir, lock_path, today):
        lock_problems.setdefault(problem.path, []).append(problem)
    folders = policy_dirs(docs_dir)
    report.policies = len(folders)
    seen: set[Path] = set()
    for folder in folders:
        for path in version_files(folder):
            seen.add(path)
            report.files += 1
            src = read_source(path)
            problems = validate_front_matter(src)
            if not problems:
                problems += check_dates(src, to_version(folder.name, src), notice_days)
            problems += lock_problems.get(path, [])
            problems += check_structure(src) + check_text(src) + check_links(src, routes)
            acks = _acks_of(src)
            findings = sorted((_acknowledge(p, acks) for p in problems), key=lambda f: f.line)
            report.findings.extend(findings)
            for ack in acks:
                if not any(f.acknowledged is ack for f in findings):
                    report.findings.append(Finding(
                        path, src.field_line("acknowledged"), ack.rule,
                        f"the acknowledged finding [{ack.rule}]"
                        + (f" matching '{ack.match}'" if ack.match else "")
                        + " no longer occurs", warning=True,
                    ))
    for path, problems in lock_problems.items():
        if path not in seen:
            report.findings.extend(_acknowledge(p, ()) for p in problems)
    return report
