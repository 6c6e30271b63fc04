"""Policy sources: one folder per policy, one Markdown file per version.

A version file is ``docs/<policy>/versions/<effective-date>.md`` with YAML front
matter (see ``FIELDS``). This module reads and validates them; it knows nothing
about any site generator.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from functools import cached_property, lru_cache
from pathlib import Path
from typing import Any

import yaml

from .errors import BuildInputError, SourceError

FRONT_MATTER_RE = re.compile(r"\A---[ \t]*\r?\n(.*?)^---[ \t]*(?:\r?\n|\Z)", re.S | re.M)
VERSION_NAME_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
VERSIONS_DIR = "versions"
TRANSLATION_NAME_RE = re.compile(r"^(\d{4}-\d{2}-\d{2})\.([a-z]{2,3}(?:-[A-Za-z0-9]{2,8})*)\.md$")
SHA256_RE = re.compile(r"^[0-9a-f]{64}$")

#: Front-matter fields: name -> (required, description of the expected type).
FIELDS: dict[str, tuple[bool, str]] = {
    "title": (True, "a line of text"),
    "effective": (True, "a date written YYYY-MM-DD"),
    "published": (True, "a date written YYYY-MM-DD"),
    "material": (True, "true or false"),
    "summary": (True, "a list of one or more lines of text"),
    "acknowledged": (False, "a list of findings, each with 'rule', 'reason', 'approved_by' and 'approved_on'"),
    "draft": (False, "true or false"),
    "note": (False, "a line of text"),
}


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a source file, at a line (1-based)."""

    path: Path
    line: int
    rule: str
    message: str


@dataclass(frozen=True)
class Acknowledgement:
    """A finding that legal reviewed and accepts, declared in front matter."""

    rule: str
    reason: str
    match: str | None = None
    approved_by: str | None = None
    approved_on: dt.date | None = None

    def covers(self, rule: str, text: str) -> bool:
        """Does this acknowledge a finding? Any run of white space (also no-break) matches any other."""
        if rule != self.rule:
            return False
        return self.match is None or " ".join(self.match.split()) in " ".join(text.split())

    @property
    def approval(self) -> str | None:
        """``approved by NAME on DATE``, when both are given."""
        if self.approved_by is None or self.approved_on is None:
            return None
        return f"approved by {' '.join(self.approved_by.split())} on {self.approved_on}"


@dataclass(frozen=True)
class RawSource:
    """A version file split into front matter and body, before validation."""

    path: Path
    text: str
    meta: Mapping[str, Any]
    meta_text: str
    body: str
    body_line: int
    problems: tuple[Problem, ...] = ()
    sha256: str = ""  # of the file's exact bytes: the lock's, the manifest's and a receipt's hash

    def field_line(self, name: str) -> int:
        """The line of ``name:`` in the front matter (1 when absent)."""
        for number, line in enumerate(self.meta_text.splitlines(), start=2):
            if re.match(rf"^{re.escape(name)}\s*:", line):
                return number
        return 1


#: Front-matter fields of a translation: name -> (required, expected).
TRANSLATION_FIELDS: dict[str, tuple[bool, str]] = {
    "title": (True, "a line of text (the title in this language)"),
    "translates": (True, "the SHA-256 of the source version file it translates (64 hex digits)"),
    "summary": (True, "a list of one or more lines of text (the summary in this language)"),
    "note": (False, "a line of text"),
    "acknowledged": (False, "a list of findings, each with 'rule', 'reason', 'approved_by' and 'approved_on'"),
}


@dataclass(frozen=True)
class Translation:
    """One version's text in another language, as legal supplied it."""

    policy: str
    version_id: str
    language: str
    title: str
    summary: tuple[str, ...]
    body: str
    path: Path
    sha256: str
    translates: str
    note: str | None = None


def split_name(path: Path) -> tuple[str, str] | None:
    """``(version id, language)`` of a translation file name, None for any other name."""
    m = TRANSLATION_NAME_RE.match(path.name)
    return (m.group(1), m.group(2)) if m else None


def is_translation(path: Path) -> bool:
    return split_name(path) is not None


def validate_translation(src: RawSource) -> list[Problem]:
    """The front-matter problems of a translation file."""
    problems = list(src.problems)
    if problems:
        return problems
    meta = src.meta

    def add(name: str, message: str) -> None:
        problems.append(Problem(src.path, src.field_line(name), "translation", message))

    for name in meta:
        if name not in TRANSLATION_FIELDS:
            add(str(name), f"unknown field '{name}' in a translation (known fields: {', '.join(TRANSLATION_FIELDS)}; "
                           "dates and 'material' are the source version's)")
    for name, (required, expected) in TRANSLATION_FIELDS.items():
        if name not in meta:
            if required:
                add(name, f"the required field '{name}' is missing ({expected})")
            continue
        value = meta[name]
        ok = {
            "title": _is_text(value), "note": _is_text(value),
            "translates": isinstance(value, str) and bool(SHA256_RE.match(value.strip().lower())),
            "summary": isinstance(value, list) and bool(value) and all(_is_text(s) for s in value),
            "acknowledged": isinstance(value, list) and all(_valid_ack(a) for a in value),
        }[name]
        if not ok:
            add(name, f"'{name}' must be {expected}")
    return problems


def to_translation(policy: str, src: RawSource) -> Translation:
    """A validated translation; raises SourceError at the first front-matter problem."""
    problems = validate_translation(src)
    if problems:
        raise SourceError(problems[0].path, problems[0].line, problems[0].message)
    named = split_name(src.path)
    assert named is not None  # only translation files come here
    meta = src.meta
    return Translation(
        policy=policy, version_id=named[0], language=named[1], title=meta["title"].strip(),
        summary=tuple(s.strip() for s in meta["summary"]), body=src.body, path=src.path,
        sha256=src.sha256,
        translates=meta["translates"].strip().lower(), note=meta.get("note"),
    )


@dataclass(frozen=True)
class Version:
    """One published (or scheduled) text of a policy."""

    policy: str
    id: str
    title: str
    effective: dt.date
    published: dt.date
    material: bool
    summary: tuple[str, ...]
    body: str
    body_line: int
    path: Path
    sha256: str
    draft: bool = False
    note: str | None = None
    acknowledged: tuple[Acknowledgement, ...] = ()
    translations: tuple[Translation, ...] = ()

    def translation(self, language: str) -> Translation | None:
        """Legal's translation of this version into ``language``, if there is one."""
        return next((t for t in self.translations if t.language == language), None)

    @cached_property
    def dated_by_text(self) -> bool:
        """Does the policy text itself state its effective date? When it does not, the date
        was assigned (by the front matter) and the site says so."""
        return states_date(self.body, self.effective)


@dataclass(frozen=True)
class Policy:
    """A policy folder with its versions, oldest first."""

    slug: str
    path: Path
    versions: tuple[Version, ...] = field(default_factory=tuple)

    def visible(self, as_of: dt.date, preview: bool = False) -> tuple[Version, ...]:
        """Versions a reader may see on ``as_of``; with ``preview``, drafts too."""
        if preview:
            return self.versions
        return tuple(v for v in self.versions if not v.draft and v.published <= as_of)

    def current(self, as_of: dt.date, preview: bool = False) -> Version | None:
        """The version in effect on ``as_of`` (None before the first one)."""
        in_effect = [v for v in self.visible(as_of, preview) if v.effective <= as_of]
        return in_effect[-1] if in_effect else None

    def upcoming(self, as_of: dt.date, preview: bool = False) -> tuple[Version, ...]:
        """Visible versions that take effect after ``as_of``, soonest first."""
        return tuple(v for v in self.visible(as_of, preview) if v.effective > as_of)

    @property
    def title(self) -> str:
        return self.versions[-1].title if self.versions else self.slug.title()


#: libyaml's loader when PyYAML has it (the same safe constructors, about 10x faster).
YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def read_source(path: Path) -> RawSource:
    """Split a version file into front matter and body; problems are collected, not raised.

    A build reads each file several times (the check, the model, the translations' check); the
    split is remembered by the file's path and exact bytes, so each content is parsed once and
    an edited file is parsed again."""
    return _split(path, path.read_bytes())


@lru_cache(maxsize=4096)
def _split(path: Path, raw: bytes) -> RawSource:
    return replace(_parse(path, raw), sha256=hashlib.sha256(raw).hexdigest())


def _parse(path: Path, raw: bytes) -> RawSource:
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        problem = Problem(path, line, "encoding", "the file is not valid UTF-8 text")
        return RawSource(path, "", {}, "", "", 1, (problem,))
    match = FRONT_MATTER_RE.match(text)
    if not match:
        problem = Problem(
            path, 1, "front-matter",
            "the file must start with front matter between two '---' lines",
        )
        return RawSource(path, text, {}, "", text, 1, (problem,))
    meta_text = match.group(1)
    body = text[match.end():]
    body_line = text[: match.end()].count("\n") + 1
    try:
        meta = yaml.load(meta_text, Loader=YAML_LOADER) or {}
    except ValueError as exc:  # a date-shaped value that is no date, such as 2026-02-30
        line, shown = _bad_date(meta_text)
        problem = Problem(path, line, "front-matter", f"'{shown}' is not a valid date ({exc})")
        return RawSource(path, text, {}, meta_text, body, body_line, (problem,))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 2 if mark is not None else 1
        detail = getattr(exc, "problem", None) or str(exc)
        problem = Problem(path, line, "front-matter", f"the front matter is not valid YAML: {detail}")
        return RawSource(path, text, {}, meta_text, body, body_line, (problem,))
    if not isinstance(meta, dict):
        problem = Problem(path, 2, "front-matter", "the front matter must be a list of 'field: value' lines")
        return RawSource(path, text, {}, meta_text, body, body_line, (problem,))
    return RawSource(path, text, meta, meta_text, body, body_line)


def _bad_date(meta_text: str) -> tuple[int, str]:
    """The line and text of the first date-shaped value that is not a real date."""
    for number, line in enumerate(meta_text.splitlines(), start=2):
        for found in re.findall(r"\b\d{4}-\d{1,2}-\d{1,2}\b", line):
            try:
                dt.date.fromisoformat(found)
            except ValueError:
                return number, found
    return 1, "?"


def _as_date(value: Any) -> dt.date | None:
    """A date from YAML: unquoted (a date already) or quoted ISO text."""
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        return value
    if isinstance(value, str) and VERSION_NAME_RE.match(value.strip()):
        try:
            return dt.date.fromisoformat(value.strip())
        except ValueError:
            return None
    return None


def _is_text(value: Any) -> bool:
    return isinstance(value, str) and bool(value.strip())


def validate_front_matter(src: RawSource) -> list[Problem]:
    """Every front-matter problem of one file, in a lawyer-readable form."""
    problems = list(src.problems)
    if problems:
        return problems
    meta = src.meta

    def add(name: str, message: str, rule: str = "front-matter") -> None:
        problems.append(Problem(src.path, src.field_line(name), rule, message))

    for name in meta:
        if name not in FIELDS:
            known = ", ".join(FIELDS)
            add(str(name), f"unknown field '{name}' (known fields: {known})")
    for name, (required, expected) in FIELDS.items():
        if name not in meta:
            if required:
                add(name, f"the required field '{name}' is missing ({expected})")
            continue
        value = meta[name]
        ok = {
            "title": _is_text(value),
            "note": _is_text(value),
            "effective": _as_date(value) is not None,
            "published": _as_date(value) is not None,
            "material": isinstance(value, bool),
            "draft": isinstance(value, bool),
            "summary": isinstance(value, list) and bool(value) and all(_is_text(s) for s in value),
            "acknowledged": isinstance(value, list) and all(_valid_ack(a) for a in value),
        }[name]
        if not ok:
            shown = value if not isinstance(value, str) else f"'{value}'"
            add(name, f"'{name}' must be {expected}, not {shown!s}")
    effective, published = _as_date(meta.get("effective")), _as_date(meta.get("published"))
    stem = src.path.stem
    if not VERSION_NAME_RE.match(stem):
        add("effective", f"the file name '{src.path.name}' must be the effective date, like 2026-12-31.md")
    elif effective is not None and stem != effective.isoformat():
        add("effective", f"the file name '{src.path.name}' does not match 'effective: {effective}'")
    if effective is not None and published is not None and published > effective:
        add("published", f"'published: {published}' is after 'effective: {effective}'")
    return problems


ACK_FIELDS = {"rule", "reason", "match", "approved_by", "approved_on"}


def _valid_ack(item: Any) -> bool:
    """Well-formed; whether it is approved is the check's business (rule ``approval``)."""
    return (
        isinstance(item, dict)
        and _is_text(item.get("rule"))
        and _is_text(item.get("reason"))
        and set(item) <= ACK_FIELDS
        and (item.get("match") is None or _is_text(item.get("match")))
        and (item.get("approved_by") is None or _is_text(item.get("approved_by")))
        and (item.get("approved_on") is None or _as_date(item.get("approved_on")) is not None)
    )


def acknowledgements(meta: Mapping[str, Any]) -> tuple[Acknowledgement, ...]:
    """The well-formed acknowledgements of a front matter (the others are front-matter errors)."""
    raw = meta.get("acknowledged")
    if not isinstance(raw, list):
        return ()
    return tuple(
        Acknowledgement(
            str(a["rule"]).strip(), str(a["reason"]), a.get("match"),
            str(a["approved_by"]).strip() if _is_text(a.get("approved_by")) else None,
            _as_date(a.get("approved_on")),
        )
        for a in raw if _valid_ack(a)
    )


MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August", "September",
          "October", "November", "December"]


def states_date(text: str, day: dt.date) -> bool:
    """Does ``text`` write ``day`` (March 31, 2025 / 31 March 2025 / 2025-03-31 / Mar. 31, 2025)?"""
    month = MONTHS[day.month - 1]
    short = month[:3]
    patterns = [
        rf"\b(?:{month}|{short}\.?)\s+0?{day.day}(?:st|nd|rd|th)?,?\s+{day.year}\b",
        rf"\b0?{day.day}(?:st|nd|rd|th)?\s+(?:of\s+)?(?:{month}|{short}\.?),?\s+{day.year}\b",
        rf"\b{day.isoformat()}\b",
    ]
    return any(re.search(p, text, re.I) for p in patterns)


def to_version(policy: str, src: RawSource) -> Version:
    """A validated version; raises SourceError at the first problem."""
    problems = validate_front_matter(src)
    if problems:
        first = problems[0]
        raise SourceError(first.path, first.line, first.message)
    meta = src.meta
    effective, published = _as_date(meta["effective"]), _as_date(meta["published"])
    assert effective is not None and published is not None  # validated above
    acks = acknowledgements(meta)
    return Version(
        policy=policy,
        id=effective.isoformat(),
        title=meta["title"].strip(),
        effective=effective,
        published=published,
        material=meta["material"],
        summary=tuple(s.strip() for s in meta["summary"]),
        body=src.body,
        body_line=src.body_line,
        path=src.path,
        sha256=src.sha256,
        draft=bool(meta.get("draft", False)),
        note=meta.get("note"),
        acknowledged=acks,
    )


def policy_dirs(docs_dir: Path) -> list[Path]:
    """Folders of ``docs_dir`` that hold a ``versions/`` folder, sorted by name."""
    return sorted(p.parent for p in docs_dir.glob(f"*/{VERSIONS_DIR}") if p.is_dir())


def version_files(policy_dir: Path) -> list[Path]:
    """The version files of a policy: every Markdown file of its folder but the translations."""
    return sorted(p for p in (policy_dir / VERSIONS_DIR).glob("*.md") if not is_translation(p))


def translation_files(policy_dir: Path) -> list[Path]:
    return sorted(p for p in (policy_dir / VERSIONS_DIR).glob("*.md") if is_translation(p))


def load_policies(docs_dir: Path) -> list[Policy]:
    """All policies under ``docs_dir``, validated; raises SourceError on the first bad file."""
    policies = []
    for folder in policy_dirs(docs_dir):
        versions = [to_version(folder.name, read_source(path)) for path in version_files(folder)]
        translations = [to_translation(folder.name, read_source(path)) for path in translation_files(folder)]
        versions = [replace(v, translations=tuple(t for t in translations if t.version_id == v.id))
                    for v in versions]
        versions.sort(key=lambda v: v.effective)
        policies.append(Policy(folder.name, folder, tuple(versions)))
    return policies


def parse_build_date(value: str | None, today: dt.date | None = None) -> dt.date:
    """The build date from ``LEGAL_BUILD_DATE`` (YYYY-MM-DD); today when unset."""
    if value is None or not value.strip():
        return today or dt.date.today()
    try:
        return dt.date.fromisoformat(value.strip())
    except ValueError:
        raise BuildInputError(
            f"LEGAL_BUILD_DATE must be a date written YYYY-MM-DD, not '{value}'"
        ) from None
