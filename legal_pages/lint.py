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
- ``broken-link``: a link to a page of the site that does not exist, or a relative link;
- ``published-date``: ``published`` is earlier than the day the file first entered the
  repository (git knows that day; the editor cannot type it), so notice cannot be backdated;
- ``approval``: an acknowledgement that does not name who approved it and when;
- ``unchanged``: a new version with the same text as its predecessor, or with the summary
  ``new-version`` wrote still in place;
- ``material-wording`` (a warning): marked material although only wording changed, so every
  visitor would be asked again for an editorial change.

A finding listed under ``acknowledged`` in the version's front matter, with its approval, is
reported but does not fail the check. The build runs the same check and refuses to publish
when it fails.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from .authoring import is_placeholder_summary
from .errors import LegalPagesError
from .lock import LockEntry, current_entries, is_in_effect, key_of, read_lock
from .model import (
    Acknowledgement,
    Problem,
    RawSource,
    Version,
    acknowledgements,
    is_translation,
    policy_dirs,
    read_source,
    to_translation,
    to_version,
    translation_files,
    validate_front_matter,
    validate_translation,
    version_files,
)
from .paths import long_date, page_url
from .provenance import Arrival, Provenance, first_seen
from .site import policy_pages
from .translations import check_translation

DEFAULT_NOTICE_DAYS = 30

#: The day the publishing rules ``published-date`` and ``approval`` came in. A version that
#: entered the repository before it was reviewed without them: its findings under them are
#: reported as warnings (its text is immutable, so it cannot be brought up to date).
RULES_SINCE = dt.date(2026, 11, 30)
LATER_RULES = frozenset({"published-date", "approval"})
#: Findings no acknowledgement can cover.
UNACKNOWLEDGEABLE = frozenset({"approval", "front-matter", "encoding"})

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
            approval = self.acknowledged.approval or "no approver named"
            text += f" (acknowledged, {approval}: {' '.join(self.acknowledged.reason.split())})"
        return text


@dataclass
class Report:
    findings: list[Finding] = field(default_factory=list)
    files: int = 0
    policies: int = 0
    notes: list[str] = field(default_factory=list)  # what could not be checked, and why

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
    problems: list[Problem] = []
    if not any(pattern.search(src.body) for pattern, _ in PLACEHOLDERS):  # most texts: one scan each
        return problems  # (a match in a line is a match in the whole text)
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
        pages = policy_pages(folder.name, [path.stem for path in version_files(folder)])
        routes |= {"/" + page_url(src) for src in pages}
    for path in docs_dir.rglob("*"):
        if not path.is_file() or path.parent in version_dirs or path.name.startswith("."):
            continue
        rel = path.relative_to(docs_dir).as_posix()
        if rel.endswith(".md"):
            stem = re.sub(r"\.[a-z]{2,3}(-[A-Za-z0-9]+)*$", "", rel[:-3])  # index.de.md: a translation of index.md
            if stem == "index" or stem.endswith("/index"):
                stem = stem[: -len("index")].rstrip("/")
            routes.add(f"/{stem}/" if stem else "/")
        else:
            routes.add(f"/{rel}")
    return routes


def check_links(src: RawSource, routes: set[str]) -> list[Problem]:
    problems: list[Problem] = []
    if "](" not in src.body and "]:" not in src.body:  # no inline link, no reference definition
        return problems
    for line, text in _body_lines(src):
        if "](" not in text and "]:" not in text:
            continue
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
        noun = "translation" if is_translation(path) else "version"
        if old is not None and is_in_effect(old, today):
            problems.append(Problem(
                path, 1, "immutable",
                f"published {noun}s are immutable: this {noun} took effect on "
                f"{_date_text(old)} and its text has changed since it was recorded in {lock_path.name}. "
                f"Restore it, and publish a correction as a new version"
                + (" with its translation" if noun == "translation" else "")
                + f" (imarouter-legal new-version {path.parent.parent.name} --effective YYYY-MM-DD)",
            ))
        elif old is None and is_in_effect(entry, today):
            problems.append(Problem(
                path, 1, "lock",
                f"this {noun} is in effect but not recorded in {lock_path.name}: "
                "run 'imarouter-legal lock' and commit the lock file with it",
            ))
        else:
            what = "is not recorded" if old is None else "has changed since it was recorded"
            problems.append(Problem(
                path, 1, "lock",
                f"this {noun} {what} in {lock_path.name}: run 'imarouter-legal lock' and commit the "
                "lock file with it",
            ))
    for key, entry in sorted(recorded.items()):
        if key not in on_disk:
            noun = "translation" if is_translation(docs_dir / key) else "version"
            verb = "took effect on " + _date_text(entry) if is_in_effect(entry, today) else "is recorded"
            problems.append(Problem(
                docs_dir / key, 1, "immutable" if is_in_effect(entry, today) else "lock",
                f"this {noun} {verb} in {lock_path.name} but its file is gone: "
                + (f"published {noun}s may not be deleted" if is_in_effect(entry, today)
                   else "run 'imarouter-legal lock' to forget it"),
            ))
    return problems


def _date_text(entry: LockEntry) -> str:
    try:
        return long_date(dt.date.fromisoformat(entry.effective))
    except ValueError:
        return entry.effective


def _acknowledge(problem: Problem, acks: tuple[Acknowledgement, ...]) -> Finding:
    if problem.rule not in UNACKNOWLEDGEABLE:
        for ack in acks:
            if ack.covers(problem.rule, problem.message):
                return Finding(problem.path, problem.line, problem.rule, problem.message, ack)
    return Finding(problem.path, problem.line, problem.rule, problem.message)


def check_provenance(src: RawSource, version: Version, arrival: Arrival) -> list[Problem]:
    """``published`` may not be earlier than the day the text entered the repository."""
    if version.published >= arrival.date:
        return []
    if version.effective < arrival.date:
        message = (
            f"'published: {version.published}' and 'effective: {version.effective}' are both before "
            f"{arrival.describe()}, when this file first entered the repository: a version is "
            "published here before it takes effect. A text published earlier elsewhere (an import) "
            "needs an approved acknowledgement of [published-date] saying where and when"
        )
    else:
        message = (
            f"'published: {version.published}' is before {arrival.describe()}, when this file first "
            "entered the repository: notice counts from the day readers could see the text here. "
            f"Set 'published' to {arrival.date} or later (and, for a material change, 'effective' "
            "at least the notice period after it)"
        )
    return [Problem(src.path, src.field_line("published"), "published-date", message)]


def check_approvals(src: RawSource, acks: tuple[Acknowledgement, ...], now: dt.date) -> list[Problem]:
    problems = []
    for ack in acks:
        where = f"[{ack.rule}]" + (f" matching '{ack.match}'" if ack.match else "")
        if ack.approved_by is None or ack.approved_on is None:
            problems.append(Problem(
                src.path, src.field_line("acknowledged"), "approval",
                f"the acknowledgement of {where} names no approver: add 'approved_by: NAME' and "
                "'approved_on: YYYY-MM-DD' (who in legal accepted the finding, and when)"))
        elif ack.approved_on > now:
            problems.append(Problem(
                src.path, src.field_line("acknowledged"), "approval",
                f"the acknowledgement of {where} is approved on {ack.approved_on}, a date still to come"))
    return problems


def _blocks(body: str) -> list[str]:
    return [" ".join(b.split()) for b in re.split(r"\n\s*\n", body) if b.strip()]


def check_changed(src: RawSource, version: Version, previous: Version | None) -> list[Problem]:
    """A new version must change something, and say what; an editorial one need not ask again."""
    problems = []
    for i, line in enumerate(version.summary):
        if is_placeholder_summary(line):
            problems.append(Problem(
                src.path, src.field_line("summary") + 1 + i, "unchanged",
                f"the summary is still the text 'new-version' wrote ('{line}'): say in plain words "
                "what changed for the reader"))
    if previous is None:
        return problems
    if version.body.split() == previous.body.split():
        problems.append(Problem(
            src.path, src.body_line, "unchanged",
            f"the text is the same as the version effective {previous.effective}: a new version must "
            "change the text (delete this file if nothing changes)"))
        return problems
    old, new = _blocks(previous.body), _blocks(version.body)
    old_headings = [b for b in old if HEADING_RE.match(b)]
    new_headings = [b for b in new if HEADING_RE.match(b)]
    if version.material and len(old) == len(new) and old_headings == new_headings:
        words = sum(1 for a, b in zip(old, new, strict=True) if a != b)
        problems.append(Problem(
            src.path, src.field_line("material"), "material-wording",
            f"'material: true', but only wording changed (the same {_plural(len(new), 'block')} and "
            f"headings; {_plural(words, 'block')} reworded): every visitor will be asked to consent "
            "again. If the change is editorial, set 'material: false'"))
    return problems


def check(
    docs_dir: Path,
    *,
    lock_path: Path,
    today: dt.date,
    notice_days: int = DEFAULT_NOTICE_DAYS,
    provenance: Provenance | None = None,
    now: dt.date | None = None,
) -> Report:
    """Lint every policy source under ``docs_dir`` as of ``today`` (the build date).

    ``now`` is the real date (default: the clock), for what git and approvals record."""
    now = now or dt.date.today()
    provenance = provenance if provenance is not None else first_seen(docs_dir)
    report = Report()
    if provenance.unavailable:
        report.notes.append(f"'published' dates were not checked against the repository: "
                            f"{provenance.unavailable}")
    undated = sorted(p for p in provenance.first_commit if p.suffix == ".md" and p.parent.name == "versions")
    if undated:
        report.notes.append(
            f"'published' of {_plural(len(undated), 'version')} of the repository's first commit not "
            "checked: git cannot date a text older than the repository ("
            + ", ".join(p.name for p in undated) + ")")
    routes = site_routes(docs_dir)
    lock_problems: dict[Path, list[Problem]] = {}
    for problem in check_lock(docs_dir, lock_path, today):
        lock_problems.setdefault(problem.path, []).append(problem)
    folders = policy_dirs(docs_dir)
    report.policies = len(folders)
    seen: set[Path] = set()
    for folder in folders:
        previous: Version | None = None
        for path in version_files(folder):
            seen.add(path)
            report.files += 1
            src = read_source(path)
            problems = validate_front_matter(src)
            version = to_version(folder.name, src) if not problems else None
            arrival = provenance.arrival(path, now)
            if version is not None:
                problems += check_dates(src, version, notice_days)
                problems += check_changed(src, version, previous)
                if arrival is not None:
                    problems += check_provenance(src, version, arrival)
            acks = acknowledgements(src.meta)
            problems += check_approvals(src, acks, now)
            problems += lock_problems.get(path, [])
            problems += check_structure(src) + check_text(src) + check_links(src, routes)
            introduced = arrival.date if arrival is not None else (version.effective if version else now)
            findings = sorted((_finding(p, acks, introduced) for p in problems), key=lambda f: f.line)
            report.findings.extend(findings)
            for ack in acks:
                if not any(f.acknowledged is ack for f in findings):
                    report.findings.append(Finding(
                        path, src.field_line("acknowledged"), ack.rule,
                        f"the acknowledged finding [{ack.rule}]"
                        + (f" matching '{ack.match}'" if ack.match else "")
                        + " no longer occurs", warning=True,
                    ))
            previous = version or previous
        report.findings.extend(_check_translations(docs_dir, folder, lock_path, routes))
    for path, problems in lock_problems.items():
        if path not in seen:
            report.findings.extend(_acknowledge(p, ()) for p in problems)
    return report


def _check_translations(docs_dir: Path, folder: Path, lock_path: Path, routes: set[str]) -> list[Finding]:
    """Each translation legal supplied translates, section for section, the very source version
    it names (by its SHA-256, which the lock records for a published version)."""
    try:
        locked = read_lock(lock_path)
    except LegalPagesError:
        locked = {}  # check_lock reports the damaged lock
    sources = {}
    for path in version_files(folder):
        src = read_source(path)
        if not validate_front_matter(src):
            sources[path.stem] = to_version(folder.name, src)
    findings = []
    for path in translation_files(folder):
        src = read_source(path)
        problems = validate_translation(src)
        if not problems:
            translation = to_translation(folder.name, src)
            source = sources.get(translation.version_id)
            entry = locked.get(key_of(docs_dir, source.path)) if source is not None else None
            problems += check_translation(src, translation, source, entry.sha256 if entry else None)
        problems += check_structure(src) + check_links(src, routes)
        acks = acknowledgements(src.meta)
        findings.extend(sorted((_acknowledge(p, acks) for p in problems), key=lambda f: f.line))
    return findings


def _finding(problem: Problem, acks: tuple[Acknowledgement, ...], introduced: dt.date) -> Finding:
    if problem.rule == "material-wording":
        return Finding(problem.path, problem.line, problem.rule, problem.message, warning=True)
    if problem.rule in LATER_RULES and introduced < RULES_SINCE:
        return Finding(problem.path, problem.line, problem.rule,
                       f"{problem.message} (reported only: this version entered the repository on "
                       f"{introduced}, before the rule applied on {RULES_SINCE})", warning=True)
    return _acknowledge(problem, acks)


def refusals(report: Report, preview: bool = False) -> list[Finding]:
    """The errors that stop a build: all of them, except (in a preview) those of drafts, which
    no reader of the live site sees."""
    if not preview:
        return report.errors
    return [f for f in report.errors if read_source(f.path).meta.get("draft") is not True]
