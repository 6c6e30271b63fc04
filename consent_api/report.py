"""The operator's consent report: what visitors chose, by category, policy version, config
revision, method and time, as tables and static SVG charts in one self-contained HTML file.

Two queries do the counting in the database (the same SQLAlchemy Core ``GROUP BY`` on
SQLite and PostgreSQL, on the report's covering index, in its order): receipts per UTC day,
method, GPC, policy version, config revision and choices; and each subject's first and
latest choice in the window. Everything else is sums of those few thousand rows. The report holds counts
only, and a group of fewer than ``threshold`` receipts shows no rate ("fewer than 10").
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import re
import sys
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pygal
from jinja2 import Environment, PackageLoader
from markupsafe import Markup
from pygal.style import Style
from sqlalchemy import Engine, case, func, or_, select

from .storage import quarantine, receipts

# pygal appends an import hook for its map plugins to sys.meta_path: a finder of the kind Python
# deprecated (find_module only), which raises an ImportWarning for every module any code fails
# to import. The report draws no maps: take it out again.
sys.meta_path[:] = [f for f in sys.meta_path if type(f).__name__ != "PluginImportFixer"]

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
              receipts.c.config_revision, receipts.c.choices)
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

def _date(day: int) -> dt.date:
    return dt.date(1970, 1, 1) + dt.timedelta(days=day)


def period_of(day: int, by: str) -> str:
    """The label of the period a day (days since the epoch) falls in: 2026-11-30, 2026-W49 (ISO
    weeks, from Monday), 2026-11."""
    date = _date(day)
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
    total = Tally()
    seen_version: dict[str, int] = {}
    seen_revision: dict[str, int] = {}
    for r in rows:
        version = f"{r.policy_id} {r.policy_version}"
        for tally in (periods[period_of(r.created_day, by)], versions[version], revisions[r.config_revision], total):
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
                   sorted(revisions.items(), key=lambda kv: seen_revision[kv[0]]), first, latest, total,
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


CHART_CSS = """inline:
@media (prefers-color-scheme: dark) {
  .pygal-chart text, .pygal-chart .title, .pygal-chart .legends .legend text { fill: #e2e4e9 !important; }
  .pygal-chart .axis .guides .line, .pygal-chart .axis .line { stroke: #5a5f6b !important; }
}"""
STYLE = Style(background="transparent", plot_background="transparent", foreground="#3a3d45",
              foreground_strong="#1f2128", foreground_subtle="#b0b4bd", opacity=".85", opacity_hover=".95",
              colors=("#4051b5", "#d81b60", "#00897b", "#ef6c00", "#6d4c41", "#546e7a"),
              font_family="system-ui, -apple-system, Segoe UI, Roboto, sans-serif",
              title_font_size=16, label_font_size=12, major_label_font_size=12, legend_font_size=13,
              value_font_size=11)


def chart(kind: str, title: str, labels: list[str], series: list[tuple[str, list[float | None]]],
          *, percent: bool) -> str:
    """A static SVG chart (pygal; its script never runs: the SVG is shown as an image)."""
    make = {"line": pygal.Line, "bar": pygal.Bar, "stacked": pygal.StackedBar}[kind]
    graph = make(style=STYLE, css=("file://style.css", "file://graph.css", CHART_CSS), js=[], width=900,
                 height=360, title=title, x_label_rotation=30 if len(labels) > 8 else 0,
                 show_minor_x_labels=len(labels) <= 26, x_labels_major_every=max(1, len(labels) // 13),
                 legend_at_bottom=True, truncate_label=-1, allow_interruptions=True, print_values=False,
                 range=(0, 100) if percent else None, disable_xml_declaration=True, pretty_print=False,
                 value_formatter=(lambda v: f"{v:.1f}%") if percent else (lambda v: f"{v:,.0f}"))
    graph.x_labels = labels
    for name, values in series:
        graph.add(name, values)
    svg: str = graph.render(is_unicode=True)
    return svg


@dataclass(frozen=True)
class Image:
    src: str  # the SVG as a data: URL
    alt: str


def image(svg: str, alt: str) -> Image:
    return Image("data:image/svg+xml;base64," + base64.b64encode(svg.encode()).decode(), alt)


@dataclass(frozen=True)
class Section:
    """One question of the report: its charts, and their figures as a table."""

    id: str
    title: str
    question: str
    images: list[Image]
    caption: str
    head: list[str]
    rows: list[list[str]]


def _grant_cells(t: Tally, categories: list[str], threshold: int) -> list[str]:
    return [shown_rate(t.granted[c], t.offered[c], threshold) for c in categories]


def _grant_series(groups: list[tuple[str, Tally]], names: list[str], cats: list[str],
                  threshold: int) -> list[tuple[str, list[float | None]]]:
    """One chart series per category: its grant rate in each group."""
    return [(n, [rate(t.granted[c], t.offered[c], threshold) for _, t in groups])
            for n, c in zip(names, cats, strict=True)]


def render(f: Figures, *, site_name: str, generated: dt.datetime) -> str:
    """The report as one HTML document (templates/report.html): inline CSS, charts as SVG
    images, each section's figures in a table."""
    th, cats = f.threshold, f.categories
    names = [c.capitalize() for c in cats]
    granted = [f"{n} granted" for n in names]
    marks = defaultdict(list)
    for period, change in f.changes:
        marks[period].append(f"{_date(change.day)}: {change.label}")
    axis = [f"{p} ◆" if p in marks else p for p, _ in f.periods]
    with_total = [*f.periods, ("Whole window", f.total)]

    def shown(n: int) -> int | None:  # a chart leaves out what the table shows as "fewer than"
        return n if n >= th or not n else None

    changes = "; ".join(f"{p}: {', '.join(m)}" for p, m in marks.items()) or "none in this window"
    sections = [Section(
        "over-time", "Choices over time",
        f"How many receipts each {f.by} and what share granted each optional category. "
        f"Periods marked ◆ had a change: {changes}.",
        [image(chart("line", f"Share granting each category, by {f.by}", axis,
                     _grant_series(f.periods, names, cats, th), percent=True),
               f"Line chart of the share of receipts granting {', '.join(names)} per {f.by}; "
               "the figures are in the table below."),
         image(chart("bar", f"Receipts per {f.by}", axis, [("Receipts", [shown(t.receipts) for _, t in f.periods])],
                     percent=False),
               f"Bar chart of receipts per {f.by}; the figures are in the table below.")],
        f"Receipts and grant rates per {f.by}", [f.by.capitalize(), "Receipts", *granted, "Sent GPC", "Changes"],
        [[p, shown_count(t.receipts, th), *_grant_cells(t, cats, th), shown_rate(t.gpc, t.receipts, th),
          ", ".join(marks.get(p, []))] for p, t in with_total])]

    for key, title, groups, what, asked in (
        ("by-version", "By policy version", f.versions, "policy version", ""),
        ("by-revision", "By config revision", f.revisions, "config revision", " (the categories and texts asked)"),
    ):
        sections.append(Section(
            key, title, f"The grant rate of each category under each {what}{asked}: did a change move it?",
            [image(chart("bar", f"Share granting each category, by {what}", [g for g, _ in groups],
                         _grant_series(groups, names, cats, th), percent=True),
                   f"Bar chart of the grant rate of {', '.join(names)} for each {what}; "
                   "the figures are in the table below.")],
            f"Grant rates by {what}", [what.capitalize(), "Receipts", *granted],
            [[g, shown_count(t.receipts, th), *_grant_cells(t, cats, th)] for g, t in groups]))

    method_names = {"banner": "Banner", "dialog": "Settings dialog", "gpc": "Global Privacy Control",
                    "withdrawal": "Withdrawal"}
    sections.append(Section(
        "by-method", "By method",
        "How visitors chose (banner, settings dialog, Global Privacy Control, withdrawal), "
        f"what share sent GPC, and withdrawals per {f.by}.",
        [image(chart("stacked", f"Receipts by method, per {f.by}", axis,
                     [(method_names[m], [shown(t.methods[m]) for _, t in f.periods]) for m in METHODS],
                     percent=False),
               f"Stacked bar chart of receipts per {f.by} by method; the figures are in the table below.")],
        f"Receipts by method per {f.by}", [f.by.capitalize(), *[method_names[m] for m in METHODS], "Sent GPC"],
        [[p, *[shown_count(t.methods[m], th) for m in METHODS], shown_rate(t.gpc, t.receipts, th)]
         for p, t in with_total]))

    views = [("First choice", f.first), ("Latest choice", f.latest)]
    sections.append(Section(
        "per-subject", "First and latest choice per visitor",
        "Each visitor (consent subject) with a receipt in the window counts once in each view: "
        "as what they chose first in the window, and as what held at its end.",
        [image(chart("bar", "Share of visitors granting each category", [v for v, _ in views],
                     _grant_series(views, names, cats, th), percent=True),
               "Bar chart of the share of visitors granting each category, first choice and latest choice; "
               "the figures are in the table below.")],
        "Visitors by their first and latest choice", ["View", "Visitors", *granted, "Sent GPC", "Withdrawal"],
        [[v, shown_count(t.receipts, th), *_grant_cells(t, cats, th), shown_rate(t.gpc, t.receipts, th),
          shown_count(t.methods["withdrawal"], th)] for v, t in views]))

    if f.held:
        sections.append(Section(
            "held", "Rows that failed their own token",
            "Receipt rows the consent log's sealer held out of the log: their token does not vouch for them "
            "(a row written or edited outside the API). They are not counted above; "
            "'flask --app consent_api verify' names each.",
            [], "Rows held out of the log, by what is wrong", ["What is wrong", "Rows"],
            [[why, str(n)] for why, n in f.held]))

    return TEMPLATES.get_template("report.html").render(
        site=site_name, span=f"{_date(f.since):%d %B %Y} to {_date(f.until - 1):%d %B %Y}",
        generated=f"{generated:%Y-%m-%d %H:%M} UTC", total=shown_count(f.total.receipts, th), threshold=th,
        style=Markup(REPORT_CSS), csp=META_CSP, sections=sections)


TEMPLATES = Environment(loader=PackageLoader("consent_api"), autoescape=True)
REPORT_CSS = (Path(__file__).parent / "templates" / "report.css").read_text()

#: The report's Content-Security-Policy: nothing may load; its one inline style by hash. The
#: file carries it in a meta tag (where frame-ancestors has no effect); the API page sends CSP.
META_CSP = ("default-src 'none'; img-src data:; style-src 'sha256-"
            + base64.b64encode(hashlib.sha256(REPORT_CSS.encode()).digest()).decode()
            + "'; base-uri 'none'; form-action 'none'")
CSP = META_CSP + "; frame-ancestors 'none'"


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


def html_report(engine: Engine, site: Any, since: dt.date, until: dt.date, by: str, *, site_name: str,
                threshold: int = 10, now: dt.datetime | None = None) -> str:
    """The report as one HTML document; it passes ``CSP`` (also in its own meta tag)."""
    figures = build(engine, site, since, until, by, threshold)
    return render(figures, site_name=site_name, generated=now or dt.datetime.now(dt.UTC))
