"""The operator's consent report: what visitors chose, by category, policy version, config
revision, language, method and time, as tables and static SVG charts in one self-contained HTML file (report_page.py).

Two queries do the counting in the database (the same SQLAlchemy Core ``GROUP BY`` on
SQLite and PostgreSQL, on the report's covering index, in its order): receipts per UTC day,
method, GPC, policy version, config revision, choices and language; and each subject's first and
latest choice in the window. Everything else is sums of those few thousand rows. The report holds counts
only, and a group of fewer than ``threshold`` receipts shows no rate ("fewer than 10").
"""

from __future__ import annotations

import datetime as dt
import re
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Engine, case, func, or_, select

from .schema import quarantine, receipts

METHODS = ("banner", "dialog", "gpc", "withdrawal")
PERIODS = ("day", "week", "month")


# -- counting, in the database ------------------------------------------------------------------

@dataclass
class Tally:
    """Receipts of one group, and how many of them granted each category or sent GPC."""

    receipts: int = 0
    granted: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    offered: dict[str, int] = field(default_factory=lambda: defaultdict(int))  # receipts that asked it
    gpc: int = 0
    methods: dict[str, int] = field(default_factory=lambda: defaultdict(int))

    def add(self, n: int, choices: str, gpc: bool, method: str) -> None:
        self.receipts += n
        self.gpc += n if gpc else 0
        self.methods[method] += n
        for part in choices.split(","):
            category, _, value = part.partition("=")
            self.offered[category] += n
            self.granted[category] += n if value == "1" else 0


@dataclass(frozen=True)
class Change:
    day: int  # days since the epoch
    label: str


@dataclass
class Figures:
    since: int  # first day (days since the epoch), included
    until: int  # last day, excluded
    by: str
    threshold: int
    categories: list[str]  # the optional categories, in the site's order then any older ones
    periods: list[tuple[str, Tally]]
    versions: list[tuple[str, Tally]]
    revisions: list[tuple[str, Tally]]
    languages: list[tuple[str, Tally]]  # the language the banner and dialog were read in, most receipts first
    first: Tally
    latest: Tally
    total: Tally
    changes: list[tuple[str, Change]]  # (period label, change)
    held: list[tuple[str, int]] = field(default_factory=list)  # rows held out of the log: (why, how many)


def count(engine: Engine, since: int, until: int) -> tuple[list[Any], list[Any]]:
    """The two GROUP BY queries over days ``since`` to ``until`` (excluded): receipts per day and
    field; and each subject's first and latest choice (its receipts numbered in order, and
    counted, in one pass: the first is number 1, the latest number n)."""
    day = receipts.c.created_day
    # Rows the sealer held out of the log (they fail their own token) are not counted.
    window = (day >= since) & (day < until) & receipts.c.seq.not_in(select(quarantine.c.seq))
    fields = (day, receipts.c.method, receipts.c.gpc, receipts.c.policy_id, receipts.c.policy_version,
              receipts.c.config_revision, receipts.c.choices, receipts.c.language)
    by_day = select(*fields, func.count().label("n")).where(window).group_by(*fields)
    ranked = select(
        receipts.c.method, receipts.c.gpc, receipts.c.choices,
        func.row_number().over(partition_by=receipts.c.subject_id, order_by=receipts.c.seq).label("number"),
        func.count().over(partition_by=receipts.c.subject_id, order_by=receipts.c.seq,
                          rows=(None, None)).label("receipts"),
    ).where(window).subquery()
    first, latest = ranked.c.number == 1, ranked.c.number == ranked.c.receipts
    views = (select(ranked.c.method, ranked.c.gpc, ranked.c.choices,
                    func.sum(case((first, 1), else_=0)).label("first"),
                    func.sum(case((latest, 1), else_=0)).label("latest"))
             .where(or_(first, latest))
             .group_by(ranked.c.method, ranked.c.gpc, ranked.c.choices))
    with engine.connect() as conn:
        return list(conn.execute(by_day)), list(conn.execute(views))


def held_rows(engine: Engine) -> list[tuple[str, int]]:
    """Why receipt rows were held out of the log, and how many for each reason (the ids and
    values a reason names are left out: the report holds no id)."""
    reasons: dict[str, int] = defaultdict(int)
    with engine.connect() as conn:
        for reason in conn.execute(select(quarantine.c.reason)).scalars():
            for part in str(reason).split("; "):
                reasons[re.sub(r"\s*\([^)]*\)", "", part)] += 1
    return sorted(reasons.items(), key=lambda kv: -kv[1])


# -- periods --------------------------------------------------------------------------------------

def date_of(day: int) -> dt.date:
    return dt.date(1970, 1, 1) + dt.timedelta(days=day)


def period_of(day: int, by: str) -> str:
    """The label of the period a day (days since the epoch) falls in: 2026-11-30, 2026-W49 (ISO
    weeks, from Monday), 2026-11."""
    date = date_of(day)
    if by == "day":
        return date.isoformat()
    if by == "week":
        year, week, _ = date.isocalendar()
        return f"{year}-W{week:02d}"
    return f"{date:%Y-%m}"


def build(engine: Engine, site: Any, since: dt.date, until: dt.date, by: str, threshold: int = 10) -> Figures:
    """Count the receipts created from ``since`` (included) to ``until`` (excluded)."""
    first_day, last_day = (since - dt.date(1970, 1, 1)).days, (until - dt.date(1970, 1, 1)).days
    rows, views = count(engine, first_day, last_day)
    periods: dict[str, Tally] = {}
    for day in range(first_day, last_day):  # every period of the window, empty ones included
        periods.setdefault(period_of(day, by), Tally())
    versions: dict[str, Tally] = defaultdict(Tally)
    revisions: dict[str, Tally] = defaultdict(Tally)
    languages: dict[str, Tally] = defaultdict(Tally)
    total = Tally()
    seen_version: dict[str, int] = {}
    seen_revision: dict[str, int] = {}
    for r in rows:
        version = f"{r.policy_id} {r.policy_version}"
        for tally in (periods[period_of(r.created_day, by)], versions[version], revisions[r.config_revision],
                      languages[r.language or "unknown"], total):
            tally.add(r.n, r.choices, bool(r.gpc), r.method)
        seen_version[version] = min(seen_version.get(version, r.created_day), r.created_day)
        seen_revision[r.config_revision] = min(seen_revision.get(r.config_revision, r.created_day), r.created_day)
    first, latest = Tally(), Tally()
    for v in views:
        first.add(int(v.first), v.choices, bool(v.gpc), v.method)
        latest.add(int(v.latest), v.choices, bool(v.gpc), v.method)
    optional = [c["id"] for c in site.categories if not c.get("required")]
    required = {c["id"] for c in site.categories if c.get("required")}
    older = sorted(set(total.offered) - set(optional) - required)
    changes = _changes(site, seen_revision, first_day, last_day)
    by_start = sorted(versions.items(), key=lambda kv: seen_version[kv[0]])
    return Figures(first_day, last_day, by, threshold, optional + older, list(periods.items()), by_start,
                   sorted(revisions.items(), key=lambda kv: seen_revision[kv[0]]),
                   sorted(languages.items(), key=lambda kv: (-kv[1].receipts, kv[0])), first, latest, total,
                   [(period_of(c.day, by), c) for c in changes], held_rows(engine))


def _changes(site: Any, revisions: dict[str, int], start: int, end: int) -> list[Change]:
    """Policy versions taking effect (their effective date) and config revisions first seen,
    inside the window."""
    found: list[Change] = []
    for pid, policy in site.policies.get("policies", {}).items():
        for v in policy.get("versions", []):
            day = (dt.date.fromisoformat(v["effective"]) - dt.date(1970, 1, 1)).days
            if start <= day < end and v.get("status") in ("current", "archived"):
                found.append(Change(day, f"{pid} {v['id']} in effect"))
    for revision, day in revisions.items():
        if start < day < end and day != min(revisions.values()):
            found.append(Change(day, f"config revision {revision} first seen"))
    return sorted(found, key=lambda c: (c.day, c.label))


# -- presenting -----------------------------------------------------------------------------------

def shown_count(n: int, threshold: int) -> str:
    return f"{n:,}" if n == 0 or n >= threshold else f"fewer than {threshold}"


def rate(part: int, whole: int, threshold: int) -> float | None:
    """A share in percent, or None when the group is too small to show one."""
    return None if whole < threshold else round(100 * part / whole, 1)


def shown_rate(part: int, whole: int, threshold: int) -> str:
    value = rate(part, whole, threshold)
    return "-" if value is None else f"{value:.1f}%"


def window(since: str | None, until: str | None, by: str | None, today: dt.date) -> tuple[dt.date, dt.date, str]:
    """The report's days from the operator's input: ``since`` included, ``until`` excluded
    (default: tomorrow, so today is in; ``since`` defaults to 90 days before); ``by`` defaults
    to days up to a month, weeks up to half a year, months beyond. ValueError says what is wrong."""
    def day(value: str, name: str) -> dt.date:
        try:
            return dt.date.fromisoformat(value)
        except ValueError:
            raise ValueError(f"{name}: '{value}' is not a date (YYYY-MM-DD)") from None

    end = day(until, "until") if until else today + dt.timedelta(days=1)
    start = day(since, "since") if since else end - dt.timedelta(days=90)
    if start >= end:
        raise ValueError(f"since: {start} is not before until ({end}); until is the day after the last one")
    days = (end - start).days
    if by is None:
        by = "day" if days <= 31 else "week" if days <= 183 else "month"
    if by not in PERIODS:
        raise ValueError(f"by: '{by}' is not one of {', '.join(PERIODS)}")
    if days > 3660 or (by == "day" and days > 400):
        raise ValueError(f"since/until: {days} days is too long a window by {by} (by day at most 400 days, "
                         "any at most 10 years)")
    return start, end, by
