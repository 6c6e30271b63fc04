"""The consent report as one self-contained HTML page: tables and static SVG charts (pygal)
of the figures report.py counts, with nothing that loads or runs."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import sys
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pygal
from babel import Locale
from jinja2 import Environment, PackageLoader
from markupsafe import Markup
from pygal.style import Style
from sqlalchemy import Engine

from .report import METHODS, Figures, Tally, build, date_of, rate, shown_count, shown_rate

# pygal appends an import hook for its map plugins to sys.meta_path: a finder of the kind Python
# deprecated (find_module only), which raises an ImportWarning for every module any code fails
# to import. The report draws no maps: take it out again.
sys.meta_path[:] = [f for f in sys.meta_path if type(f).__name__ != "PluginImportFixer"]


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


def named(language: str) -> str:
    """``de (German)``: the tag a receipt records, and its English name."""
    names = Locale("en").languages  # Babel's, imported before pygal (its import hook warns after)
    name = names.get(language.replace("-", "_")) or names.get(language.split("-")[0])
    return f"{language} ({name})" if name else language


def render(f: Figures, *, site_name: str, generated: dt.datetime) -> str:
    """The report as one HTML document (templates/report.html): inline CSS, charts as SVG
    images, each section's figures in a table."""
    th, cats = f.threshold, f.categories
    names = [c.capitalize() for c in cats]
    granted = [f"{n} granted" for n in names]
    marks = defaultdict(list)
    for period, change in f.changes:
        marks[period].append(f"{date_of(change.day)}: {change.label}")
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
        ("by-language", "By language", [(named(g), t) for g, t in f.languages], "language",
         " (the language the banner and dialog were read in)"),
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
        site=site_name, span=f"{date_of(f.since):%d %B %Y} to {date_of(f.until - 1):%d %B %Y}",
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


def html_report(engine: Engine, site: Any, since: dt.date, until: dt.date, by: str, *, site_name: str,
                threshold: int = 10, now: dt.datetime | None = None) -> str:
    """The report as one HTML document; it passes ``CSP`` (also in its own meta tag)."""
    figures = build(engine, site, since, until, by, threshold)
    return render(figures, site_name=site_name, generated=now or dt.datetime.now(dt.UTC))
