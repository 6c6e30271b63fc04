"""Plan the generated pages of a legal site as of a build date.

The plan is plain data (paths and Markdown/XML/JSON text), so any site generator
can take it: the MkDocs adapter adds each output to the build as a file.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from functools import cached_property
from pathlib import Path
from typing import Any

from markupsafe import Markup, escape

from . import changenav, feed, manifest, redline
from .cache import BuildCache
from .i18n import LOCALES, SOURCE_LANGUAGE, catalogue, direction, language_name, long_date, plain, translator
from .model import Policy, Translation, Version
from .paths import page_src, page_url, rel, source_file
from .templates import render_template

#: Turns a version's Markdown body into HTML (the redline compares rendered text).
Renderer = Callable[[str], str]


BODY_START, BODY_END = "<!--legal-body-start-->", "<!--legal-body-end-->"


def split_body(rendered: str, language: str | None = None) -> tuple[str, str | None]:
    """Wrap a rendered version page's policy text in ``<div class="legal-text">``.

    The body is marked with comments rather than wrapped in Markdown, so the
    Markdown parser sees the policy text once, as plain Markdown. Returns the page
    HTML and the body's own HTML (None when the page has no body). ``language``: the text's
    own language, when it is not the page's (an untranslated policy on a German page).
    """
    start, end = rendered.find(BODY_START), rendered.rfind(BODY_END)
    if not 0 <= start < end:
        return rendered, None
    body = rendered[start + len(BODY_START): end]
    lang = f' lang="{language}" dir="{direction(language)}"' if language else ""
    page = (rendered[:start] + f'<div class="legal-text"{lang}>' + body + "</div>"
            + rendered[end + len(BODY_END):])
    return page, body


def fragment_marker(key: str) -> str:
    return f"<!--legal-fragment:{key}-->"


@dataclass(frozen=True)
class Output:
    """A file of the site: its path under the site root and its text.

    ``fragments`` are raw HTML made on demand (a redline): the content holds a
    marker for each, and the adapter calls ``fill`` on the rendered page, so
    large HTML never goes through the Markdown parser.
    """

    path: str
    content: str
    fragments: Mapping[str, Callable[[], str]] = field(default_factory=dict)

    def fill(self, rendered: str) -> str:
        for key, make in self.fragments.items():
            rendered = rendered.replace(fragment_marker(key), make(), 1)
        return rendered


@dataclass(frozen=True)
class Announcement:
    """A coming version, announced site-wide until it takes effect."""

    policy_title: str
    effective: dt.date
    url: str
    changes_url: str | None


@dataclass(frozen=True)
class Shown:
    """The text of a version a reader of one language is shown: legal's translation into that
    language when there is one, else the source text (under a notice saying so)."""

    title: str
    summary: tuple[str, ...]
    body: str
    language: str
    path: Path
    sha256: str
    translation: Translation | None


@dataclass(frozen=True, eq=False)
class PolicyView:
    """One policy as of the build date, in one language: the facts every page of it needs."""

    policy: Policy
    as_of: dt.date
    preview: bool
    versions: tuple[Version, ...]
    current: Version | None
    upcoming: tuple[Version, ...]
    language: str = SOURCE_LANGUAGE   # the language of the pages being built
    binding: str = SOURCE_LANGUAGE    # the language whose text binds (binding_language)
    source_language: str = SOURCE_LANGUAGE  # the language of the version files

    @classmethod
    def of(cls, policy: Policy, as_of: dt.date, preview: bool, language: str = SOURCE_LANGUAGE,
           binding: str = SOURCE_LANGUAGE) -> PolicyView:
        return cls(
            policy, as_of, preview,
            policy.visible(as_of, preview),
            policy.current(as_of, preview),
            policy.upcoming(as_of, preview),
            language, binding,
        )

    def shown(self, v: Version) -> Shown:
        t = v.translation(self.language) if self.language != self.source_language else None
        if t is not None:
            return Shown(t.title, t.summary, t.body, t.language, t.path, t.sha256, t)
        return Shown(v.title, v.summary, v.body, self.source_language, v.path, v.sha256, None)

    def source_file(self, v: Version) -> str:
        """Where the exact file shown for ``v`` is published (a translation's own file)."""
        t = self.shown(v).translation
        return source_file(self.slug, v.id, t.language if t else None)

    @property
    def slug(self) -> str:
        return self.policy.slug

    @property
    def title(self) -> str:
        shown = self.current or (self.upcoming[0] if self.upcoming else None)
        return self.shown(shown).title if shown else self.policy.title

    @cached_property
    def _position(self) -> dict[str, int]:
        return {v.id: i for i, v in enumerate(self.versions)}

    def predecessor(self, v: Version) -> Version | None:
        i = self._position[v.id]
        return self.versions[i - 1] if i > 0 else None

    def successor(self, v: Version) -> Version | None:
        i = self._position[v.id]
        return self.versions[i + 1] if i + 1 < len(self.versions) else None

    def status(self, v: Version) -> str:
        if v.effective > self.as_of:
            return "upcoming"
        return "current" if v == self.current else "archived"

    def material_anchor(self) -> Version | None:
        """The newest material version in effect (or the first one): a visitor who agreed
        before it must be asked again."""
        if self.current is None:
            return None
        anchor = self.versions[0]
        for v in self.versions:
            if v.effective > self.current.effective:
                break
            if v.material:
                anchor = v
        return anchor

    def is_unpublished(self, v: Version) -> bool:
        return v.draft or v.published > self.as_of

    def index_src(self) -> str:
        return page_src(self.slug)

    def version_src(self, v: Version) -> str:
        return page_src(self.slug, v.id)

    def changes_src(self, v: Version) -> str | None:
        return page_src(self.slug, v.id, "changes") if self.predecessor(v) else None

    def history_src(self) -> str:
        return page_src(self.slug, "history")

    def compare_src(self) -> str | None:
        """The page that compares any two versions (from two on)."""
        return page_src(self.slug, "compare") if len(self.versions) > 1 else None


def policy_pages(slug: str, version_ids: Sequence[str]) -> set[str]:
    """The page sources the build writes for a policy with these versions (oldest first): its
    index and history, each version's page, each later version's changes page, and from two
    versions the compare page; ``PolicyView``'s paths (a test holds the plan to it). The check
    accepts a link to any of them."""
    pages = {page_src(slug), page_src(slug, "history")} | {page_src(slug, v) for v in version_ids}
    pages |= {page_src(slug, v, "changes") for v in version_ids[1:]}
    return pages | ({page_src(slug, "compare")} if len(version_ids) > 1 else set())


@dataclass
class SitePlan:
    views: list[PolicyView] = field(default_factory=list)
    outputs: list[Output] = field(default_factory=list)
    nav: list[dict[str, str]] = field(default_factory=list)
    announcements: list[Announcement] = field(default_factory=list)

    language: str = SOURCE_LANGUAGE

    @cached_property
    def helpers(self) -> dict[str, Any]:
        return page_helpers(self.language)

    def policy_list(self, from_src: str, prefix: str = "") -> str:
        """Markdown list of the policies, for a landing page at ``from_src`` (the policy pages
        being under ``prefix``)."""
        return render_template(
            "policy_list.md.j2", views=self.views,
            link=lambda to: rel(from_src, prefix + to), **self.helpers,
        )


def page_helpers(language: str) -> dict[str, Any]:
    """What every template needs to speak ``language``: its texts, dates, language names."""
    texts = catalogue(LOCALES, language).texts

    def date(day: dt.date) -> str:
        return long_date(day, language)

    def time(day: dt.date) -> Markup:
        return Markup(f'<time datetime="{day.isoformat()}">{escape(date(day))}</time>')

    def link_to(text: str, href: str) -> Markup:
        return Markup(f"[{escape(text)}]({href})")

    return {
        "tr": translator(texts), "text": lambda key, **values: plain(texts[key], **values),
        "date": date, "time": time, "link_to": link_to,
        "lang_name": lambda code: language_name(code, language),
        "ins": Markup(f"<ins>{escape(texts['legend_ins'])}</ins>"),
        "del": Markup(f"<del>{escape(texts['legend_del'])}</del>"),
    }


def plan_site(
    policies: Sequence[Policy],
    *,
    as_of: dt.date,
    site_url: str,
    render_html: Renderer,
    preview: bool = False,
    site_name: str = "Legal",
    language: str = SOURCE_LANGUAGE,
    binding: Mapping[str, str] | None = None,
    cache: BuildCache | None = None,
) -> SitePlan:
    """Every generated output of the site as of ``as_of``, in ``language``: paths are relative
    to that language's root (``site_url``, ``site_url + "de/"``). ``cache`` keeps the redlines
    between builds (by the two rendered texts they compare)."""
    views = [PolicyView.of(p, as_of, preview, language, (binding or {}).get(p.slug, SOURCE_LANGUAGE))
             for p in policies]
    plan = SitePlan(views=views, language=language)
    for view in views:
        if not view.versions:
            continue
        plan.outputs.extend(_policy_pages(view, site_url, render_html, cache or BuildCache(None)))
        plan.nav.append({view.title: view.index_src()})
        for v in view.upcoming:
            changes = view.changes_src(v)
            plan.announcements.append(Announcement(
                view.title, v.effective, page_url(view.version_src(v)),
                page_url(changes) if changes else None,
            ))
    plan.outputs.append(Output("feed.xml", feed.atom(views, site_url, site_name, page_helpers(language))))
    plan.outputs.append(Output("policies.json", manifest.dumps(views, site_url)))
    return plan


def _policy_pages(view: PolicyView, site_url: str, render_html: Renderer, cache: BuildCache) -> list[Output]:
    outputs = []
    rendered: dict[str, str] = {}
    helpers = page_helpers(view.language)

    def html_of(v: Version) -> str:
        if v.id not in rendered:
            rendered[v.id] = render_html(view.shown(v).body)
        return rendered[v.id]

    index = view.index_src()
    if view.current is not None:
        outputs.append(Output(index, _version_page(view, view.current, index, site_url)))
    else:
        outputs.append(Output(index, _not_yet_page(view, index)))
    for v in view.versions:
        src = view.version_src(v)
        outputs.append(Output(src, _version_page(view, v, src, site_url), _version_fragments(view, helpers)))
        changes = view.changes_src(v)
        previous = view.predecessor(v)
        if changes and previous:
            shown, before = view.shown(v), view.shown(previous)
            if shown.language != before.language:  # one translated, the other not: compare the sources
                shown = replace(shown, language=view.source_language, summary=v.summary, title=v.title)
            content = render_template(
                "changes.md.j2", view=view, v=v, previous=previous, shown=shown,
                language_notice=shown.language != view.language,
                redline=fragment_marker("redline"), sections=fragment_marker("sections"),
                summary=fragment_marker("summary"), links=_links(view, v, changes), **helpers,
            )

            def texts(old: Version = previous, new: Version = v, same: bool = shown.translation is not None
                      and before.translation is not None) -> tuple[str, str]:
                if same:
                    return html_of(old), html_of(new)
                return render_html(old.body), render_html(new.body)

            outputs.append(Output(changes, content, _changes_fragments(texts, shown.summary, render_html, cache)))

    compare = view.compare_src()
    if compare is not None:
        current = view.current or view.versions[-1]
        default_from = view.predecessor(current) or view.versions[0]
        outputs.append(Output(compare, render_template(
            "compare.md.j2", view=view, newest_first=list(reversed(view.versions)),
            default_from=default_from.id, default_to=current.id,
            link=lambda to: rel(compare, to), **helpers,
        )))
    outputs.append(Output(view.history_src(), render_template(
        "history.md.j2", view=view, newest_first=list(reversed(view.versions)),
        src=view.history_src(), link=lambda to: rel(view.history_src(), to), **helpers,
    )))
    return outputs


def _changes_fragments(
    texts: Callable[[], tuple[str, str]], summary_lines: Sequence[str], render_html: Renderer,
    cache: BuildCache,
) -> dict[str, Callable[[], str]]:
    """The redline with its changes numbered, the list of changed sections, and the summary
    with its mentions of those sections linked into the redline (computed once, on demand, or
    read from the cache when the two texts were compared before)."""
    done: list[tuple[str, list[changenav.Section]]] = []

    def make(old: str, new: str) -> str:
        marked, sections = changenav.annotate(redline.redline(old, new))
        return json.dumps({"html": marked, "sections": [dataclasses.asdict(s) for s in sections]})

    def annotated() -> tuple[str, list[changenav.Section]]:
        if not done:
            old, new = texts()
            data = json.loads(cache.remember("redline", (old, new), lambda: make(old, new)))
            done.append((data["html"], [changenav.Section(**s) for s in data["sections"]]))
        return done[0]

    def summary() -> str:
        sections = annotated()[1]
        items = []
        for line in summary_lines:
            rendered = render_html(line).strip()
            if rendered.startswith("<p>") and rendered.endswith("</p>"):
                rendered = rendered[3:-4]
            items.append(f"<li>{changenav.link_summary(rendered, sections)}</li>")
        return "<ul>" + "".join(items) + "</ul>"

    return {
        "redline": lambda: annotated()[0],
        "sections": lambda: changenav.sections_list(annotated()[1]),
        "summary": summary,
    }


def _version_fragments(view: PolicyView, helpers: Mapping[str, Any]) -> dict[str, Callable[[], str]]:
    """What a version page says of the version in effect today: filled in after rendering, so
    the page's Markdown (and its cached rendering) stays the same when a newer version comes."""
    current = view.current
    if current is None:
        return {}
    return {"current_since": lambda: str(helpers["tr"]("in_effect_since", date=helpers["time"](current.effective)))}


def _links(view: PolicyView, v: Version, src: str) -> dict[str, str | None]:
    previous = view.predecessor(v)
    changes = view.changes_src(v)
    return {
        "policy": rel(src, view.index_src()),
        "permanent": rel(src, view.version_src(v)),
        "history": rel(src, view.history_src()),
        "changes": rel(src, changes) if changes else None,
        "previous": rel(src, view.version_src(previous)) if previous else None,
        "feed": rel(src, "feed.xml"),
        "compare": rel(src, c) if (c := view.compare_src()) else None,
    }


def _version_page(view: PolicyView, v: Version, src: str, site_url: str) -> str:
    is_index = src == view.index_src()
    successor = view.successor(v)
    upcoming = [
        {"v": u, "page": rel(src, view.version_src(u)),
         "changes": rel(src, c) if (c := view.changes_src(u)) else None}
        for u in view.upcoming
    ] if is_index else []
    return render_template(
        "version.md.j2",
        view=view, v=v, shown=view.shown(v), is_index=is_index, status=view.status(v),
        unpublished=view.is_unpublished(v),
        successor={
            "v": successor, "page": rel(src, view.version_src(successor)),
            "changes": rel(src, c) if (c := view.changes_src(successor)) else None,
        } if successor else None,
        current=view.current,
        current_link=rel(src, view.index_src()),
        current_since=fragment_marker("current_since"),
        upcoming=upcoming,
        links=_links(view, v, src),
        source=rel(src, view.source_file(v)),
        permanent_url=site_url + page_url(view.version_src(v)),
        body_start=BODY_START, body_end=BODY_END,
        **page_helpers(view.language),
    )


def _not_yet_page(view: PolicyView, src: str) -> str:
    first = view.upcoming[0]
    return render_template(
        "not_yet.md.j2", view=view, first=first,
        first_link=rel(src, view.version_src(first)), **page_helpers(view.language),
    )
