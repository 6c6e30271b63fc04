"""The MkDocs adapter: adds the engine's generated pages to a MkDocs build.

Everything the site says about versions is decided by the engine (``site.py``);
this module only translates between MkDocs and it, so the site can move to
another generator by writing another adapter of this size.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import re
from functools import partial
from pathlib import Path
from typing import Any

import markdown
from mkdocs.config import config_options as c
from mkdocs.config.base import Config
from mkdocs.config.defaults import MkDocsConfig
from mkdocs.exceptions import PluginError
from mkdocs.plugins import BasePlugin, event_priority
from mkdocs.structure.files import File, Files
from mkdocs.structure.pages import Page
from mkdocs.structure.toc import AnchorLink, get_toc

from . import redline
from .cache import BuildCache
from .errors import LegalPagesError
from .i18n import LOCALES, SiteLanguages, catalogue, long_date, site_languages
from .lint import DEFAULT_NOTICE_DAYS, check, refusals
from .model import VERSIONS_DIR, Version, load_policies, parse_build_date
from .paths import page_url
from .site import Output, PolicyView, SitePlan, plan_site, split_body

POLICY_LIST_MARKER = "<!-- legal:policies -->"
HEADING_ANCHORS = re.compile(r'<a class="headerlink"[^>]*>[^<]*</a>')
TRUE_WORDS = {"1", "true", "yes", "on"}
log = logging.getLogger("mkdocs.plugins.legal_pages")
#: Runs after mkdocs-static-i18n's (-100), which rebuilds the file list of each language from
#: the docs folder and cannot carry generated files: each language's pages are added to it.
AFTER_I18N = -110


class _InstantNavigationNote(logging.Filter):
    """mkdocs-static-i18n warns that Material's language selector links stay those of the first
    page under instant navigation; ``language.js`` follows the page the reader is on instead,
    so the warning (which ``--strict`` would turn into a failed build) does not apply."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "language switcher contextual link is not compatible" not in record.getMessage()


logging.getLogger("mkdocs.plugins.mkdocs_static_i18n").addFilter(_InstantNavigationNote())
logging.getLogger("mkdocs.plugins.mkdocs_static_i18n.reconfigure").addFilter(_InstantNavigationNote())


class LegalPagesConfig(Config):  # type: ignore[no-untyped-call]
    build_date = c.Optional(c.Type(str))
    preview = c.Type(bool, default=False)
    lock = c.Optional(c.Type(str))  # default: policies.lock beside the docs folder
    notice_days = c.Optional(c.Type(int))  # default: LEGAL_NOTICE_DAYS or 30
    # The language whose text is legally binding, per policy (default: en, the source files').
    binding_language = c.Type(dict, default={})
    # Keep rendered pages, redlines and compare blocks between builds (cache.py); false (or
    # ``--no-cache``) makes everything again and leaves the folder alone.
    cache = c.Type(bool, default=True)
    cache_dir = c.Type(str, default=".cache/legal-pages")  # relative to mkdocs.yml


class LegalPagesPlugin(BasePlugin[LegalPagesConfig]):  # type: ignore[no-untyped-call]
    """Versioned legal pages: current, archive, redlines, history, feed, manifest."""

    plan: SitePlan
    slugs: set[str]
    versions: dict[tuple[str, str], Version]
    rendered: dict[str, str]
    pending: dict[str, Output]
    languages: SiteLanguages
    cache: BuildCache | None = None
    user_nav: Any = ()  # the nav of mkdocs.yml, before this plugin fills it in (() until read)

    def on_config(self, config: MkDocsConfig) -> MkDocsConfig:
        """Runs once per language (mkdocs-static-i18n builds each language in turn)."""
        if not config.use_directory_urls:
            raise PluginError("legal-pages needs 'use_directory_urls: true' (permanent URLs end in /)")
        if not config.site_url:
            raise PluginError("legal-pages needs 'site_url': feed, manifest and receipts use absolute URLs")
        site_url = config.site_url if config.site_url.endswith("/") else config.site_url + "/"
        preview = self.config.preview or os.environ.get("LEGAL_PREVIEW", "").lower() in TRUE_WORDS
        docs_dir = Path(config.docs_dir)
        languages = self.languages = site_languages(config)
        if self.user_nav == ():
            self.user_nav = config.nav
        prefix = languages.prefix
        try:
            for language in languages.built:  # every language's texts, before anything is built
                catalogue(LOCALES, language)
            as_of = parse_build_date(self.config.build_date or os.environ.get("LEGAL_BUILD_DATE"))
            self._gate(config, docs_dir, as_of, preview)
            policies = load_policies(docs_dir)
            self.rendered: dict[str, str] = {}
            render = _renderer(config)
            cache = self._cache(config)
            self.plan = plan_site(
                policies, as_of=as_of, site_url=site_url + prefix, preview=preview, site_name=config.site_name,
                render_html=lambda body: self.rendered.get(body) or render(body),
                language=languages.current, binding=self.config.binding_language, cache=cache,
            )
        except LegalPagesError as exc:
            raise PluginError(str(exc)) from exc
        self.slugs = {p.slug for p in policies}
        self.versions = {(p.slug, v.id): v for p in policies for v in p.versions}
        self.pending = {prefix + o.path: o for o in self.plan.outputs if o.fragments}
        self.generated = {prefix + o.path for o in self.plan.outputs if o.path.endswith(".md")}
        self.markdown_setup = _markdown_setup(config)
        if self.user_nav is None:
            config.nav = _auto_nav(docs_dir, self.plan, self.slugs, prefix)
        texts = self.plan.helpers
        config.extra["legal"] = {
            "policies": {view.slug: _policy_facts(view, site_url, languages) for view in self.plan.views},
            "build_date": as_of.isoformat(),
            "preview": preview,
            "language": languages.current,
            "prefix": prefix,
            # each language's root, for the language switcher (language.js)
            "roots": {lang: "/" + (config.site_url or "/").split("://", 1)[-1].partition("/")[2]
                      + languages.root(lang) for lang in languages.built},
            "texts": {k: texts["tr"](k) for k in ("announce_preview_title", "announce_preview_text",
                                                   "read_new_version", "see_what_changes", "feed_link")},
            "announcements": [
                {"policy_title": a.policy_title, "effective": a.effective.isoformat(),
                 "text": texts["tr"]("announce_update", date=texts["time"](a.effective)),
                 "url": prefix + a.url, "changes_url": prefix + a.changes_url if a.changes_url else None}
                for a in self.plan.announcements
            ],
        }
        return config

    def _cache(self, config: MkDocsConfig) -> BuildCache:
        """One cache per build (of every language), in ``cache_dir`` beside mkdocs.yml."""
        folder = Path(self.config.cache_dir)
        if not folder.is_absolute():
            folder = Path(config.config_file_path or ".").resolve().parent / folder
        wanted = folder if self.config.cache else None
        if self.cache is None or self.cache.folder != wanted:
            self.cache = BuildCache(wanted)
        self.cache.stats.clear()  # counted per language built
        return self.cache

    def _gate(self, config: MkDocsConfig, docs_dir: Path, as_of: dt.date, preview: bool) -> None:
        """Refuse to build what ``imarouter-legal check`` refuses, with the same messages."""
        base = Path(config.config_file_path or ".").resolve().parent
        lock = Path(self.config.lock) if self.config.lock else docs_dir.parent / "policies.lock"
        lock = lock if lock.is_absolute() else base / lock
        days = self.config.notice_days or int(os.environ.get("LEGAL_NOTICE_DAYS") or DEFAULT_NOTICE_DAYS)
        report = check(docs_dir, lock_path=lock, today=as_of, notice_days=days)
        for finding in report.findings:
            if finding.severity != "error":
                log.info("%s", finding.format(base))
        for note in report.notes:
            log.info("note: %s", note)
        refused = refusals(report, preview)
        if refused:
            raise LegalPagesError(
                f"the check refuses to publish this (as of {as_of}); nothing was built:\n"
                + "\n".join(f.format(base) for f in refused)
                + "\n" + report.summary()
            )

    @event_priority(AFTER_I18N)
    def on_files(self, files: Files, *, config: MkDocsConfig) -> Files:
        prefix = self.languages.prefix
        for file in list(files):
            parts = file.src_uri.split("/")
            if len(parts) >= 3 and parts[0] in self.slugs and parts[1] == VERSIONS_DIR:
                files.remove(file)
        for output in self.plan.outputs:
            existing = files.get_file_from_path(output.path) if not prefix else None
            if existing is not None:
                raise PluginError(
                    f"docs/{output.path} is generated from the policy versions: "
                    "remove the hand-written file"
                )
            files.append(File.generated(config, prefix + output.path, content=output.content))
        return files

    def on_pre_page(self, page: Page, *, config: MkDocsConfig, files: Files) -> Page:
        """A generated page renders from the cache when its Markdown was rendered before."""
        if self.cache is not None and self.cache.folder is not None and page.file.src_uri in self.generated:
            page.render = CachedRender(page, self.cache, self.markdown_setup)  # type: ignore[method-assign]
        return page

    @event_priority(40)  # after mkdocs-static-i18n's (50), which handles only the docs folder's pages
    def on_page_context(self, context: Any, *, page: Page, config: MkDocsConfig, nav: Any) -> Any:
        """The language selector of a generated page links to the same page in each language."""
        i18n = config.plugins.get("i18n")
        if i18n is None or hasattr(page.file, "locale") or not getattr(i18n, "extra_alternate", None):
            return context
        prefix = self.languages.prefix
        rest = page.file.src_uri[len(prefix):] if page.file.src_uri.startswith(prefix) else page.file.src_uri
        rest = page_url(rest)
        alternates = []
        for alt in i18n.extra_alternate:
            alternates.append({**alt, "link": alt["link"].rstrip("/") + "/" + rest if rest else alt["link"]})
        config.extra["alternate"] = alternates
        return context

    def on_page_content(
        self, html: str, *, page: Page, config: MkDocsConfig, files: Files
    ) -> str:
        """Keep each version's rendered body, so its redline reuses it."""
        meta = page.meta.get("legal") or {}
        shown = meta.get("language")
        html, body = split_body(html, shown if shown and shown != self.languages.current else None)
        version = self.versions.get((str(meta.get("policy")), str(meta.get("version"))))
        if version is not None and body is not None:
            self.rendered[version.body] = HEADING_ANCHORS.sub("", body)  # headings keep their ids
        return html

    def on_post_build(self, *, config: MkDocsConfig) -> None:
        """Each version's exact source file (the bytes its sha256 is of), and its blocks for
        the page that compares any two in the browser."""
        self._write_sources_and_blocks(config)
        if self.cache is not None and self.cache.folder is not None:
            stats = self.cache.stats
            log.info("legal-pages cache (%s): %d reused, %d made, %d rejected, in %s", self.languages.current,
                     stats["hit"], stats["made"], stats["rejected"], self.cache.folder)

    def _write_sources_and_blocks(self, config: MkDocsConfig) -> None:
        render = _renderer(config)
        root = Path(config.site_dir) / self.languages.prefix
        for view in self.plan.views:
            for v in view.versions:
                target = root / view.source_file(v)
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(view.shown(v).path.read_bytes())
            compare = view.compare_src()
            if compare is None:
                continue
            folder = root / page_url(compare)
            folder.mkdir(parents=True, exist_ok=True)
            cache = self.cache or BuildCache(None)
            for v in view.versions:
                shown = view.shown(v).body
                body = self.rendered.get(shown) or render(shown)
                blocks = cache.remember("blocks", (body,), partial(_blocks_json, body))
                (folder / f"{v.id}.json").write_text(blocks, encoding="utf-8")

    def on_post_page(self, output: str, *, page: Page, config: MkDocsConfig) -> str:
        pending = self.pending.get(page.file.src_uri)
        return pending.fill(output) if pending is not None else output

    def on_page_markdown(
        self, markdown_text: str, *, page: Page, config: MkDocsConfig, files: Files
    ) -> str:
        if POLICY_LIST_MARKER in markdown_text:
            return markdown_text.replace(POLICY_LIST_MARKER,
                                         self.plan.policy_list(page.file.src_uri, self.languages.prefix))
        return markdown_text


class CachedRender:
    """``Page.render`` of a generated page, kept by what it renders: the page's final Markdown
    (after every plugin's ``on_page_markdown``), its path and URL, and the Markdown
    extensions and their settings. Measured on 3 policies x 100 versions: Markdown takes 2.6 s
    of the build's 8.2 s, nearly all of it for pages that did not change. A generated page
    links only to generated pages by the paths the plan gives, so the same Markdown resolves
    its links the same way; a page that links to another page's anchor is not kept (MkDocs
    checks those against the other page after rendering; its links to its own headings are
    kept with it)."""

    def __init__(self, page: Page, cache: BuildCache, markdown_setup: str) -> None:
        self.page, self.cache, self.markdown_setup = page, cache, markdown_setup

    def __call__(self, config: MkDocsConfig, files: Files) -> None:
        page = self.page
        assert page.markdown is not None
        key = self.cache.key("page", (self.markdown_setup, page.file.src_uri, page.url, page.markdown))
        cached = self.cache.get("page", key)
        if cached is not None:
            data = json.loads(cached)
            page.content = data["content"]
            page.toc = get_toc(data["toc"])
            page._title_from_render = data["title"]
            page.present_anchor_ids = set(data["anchors"])
            if page.links_to_anchors is not None or data["own_links"]:  # None: MkDocs did not ask
                page.links_to_anchors = {page.file: data["own_links"]} if data["own_links"] else {}
            return
        Page.render(page, config, files)
        links = page.links_to_anchors or {}
        if any(target != page.file for target in links):
            return
        self.cache.stats["made"] += 1
        self.cache.put("page", key, json.dumps({
            "content": page.content, "toc": [_anchor_data(item) for item in page.toc],
            "title": page._title_from_render, "anchors": sorted(page.present_anchor_ids or ()),
            "own_links": links.get(page.file, {}),
        }))


def _anchor_data(link: AnchorLink) -> dict[str, Any]:
    """An entry of the table of contents as the token ``get_toc`` makes it from."""
    return {"name": link.title, "id": link.id, "level": link.level,
            "children": [_anchor_data(child) for child in link.children]}


def _blocks_json(body: str) -> str:
    return json.dumps(redline.export(body), separators=(",", ":"))


def _markdown_setup(config: MkDocsConfig) -> str:
    """The Markdown extensions and their settings, as a stable text (a callable by its name)."""
    def name(value: Any) -> str:
        return f"{getattr(value, '__module__', '?')}.{getattr(value, '__qualname__', type(value).__qualname__)}"

    return json.dumps([config.markdown_extensions, config.mdx_configs, config.use_directory_urls],
                      sort_keys=True, default=name)


def _policy_facts(view: PolicyView, site_url: str, languages: SiteLanguages) -> dict[str, Any]:
    """What other plugins (the consent widget) need to know of a policy, in the language being
    built. ``url`` is the permanent URL of the binding text (a receipt records it)."""
    current, anchor = view.current, view.material_anchor()
    language = languages.current
    if current is None or anchor is None:  # no version in effect yet: nothing to agree to
        first = view.upcoming[0] if view.upcoming else None
        return {"title": view.title, "current": None, "anchor": None,
                "opens": long_date(first.effective, language) if first else None}
    changes = view.changes_src(anchor)
    return {
        "title": view.title,
        "current": current.id,
        "url": site_url + page_url(view.version_src(current)),
        "anchor": anchor.id,
        "anchor_date": long_date(anchor.effective, language),
        "anchor_changes_url": languages.prefix + page_url(changes) if changes else None,
    }


def _renderer(config: MkDocsConfig) -> Any:
    """Render a version body the way the site does, without heading anchors."""
    extensions = [e for e in config.markdown_extensions if e != "toc"]
    configs = {k: v for k, v in config.mdx_configs.items() if k != "toc"}
    md = markdown.Markdown(extensions=extensions, extension_configs=configs)

    def render(text: str) -> str:
        md.reset()
        return md.convert(text)

    return render


def _auto_nav(docs_dir: Path, plan: SitePlan, slugs: set[str], prefix: str) -> list[Any]:
    """Home, each policy once, then the other pages: no per-version entries. A page of the
    docs folder is named as written (mkdocs-static-i18n finds its translation, ``x.de.md``);
    a generated page by its path in the language being built."""
    nav: list[Any] = []
    if (docs_dir / "index.md").exists():
        nav.append("index.md")
    nav.extend({title: prefix + src for title, src in entry.items()} for entry in plan.nav)
    for path in sorted(docs_dir.rglob("*.md")):
        src = path.relative_to(docs_dir).as_posix()
        if src != "index.md" and src.split("/")[0] not in slugs and not _is_localized(path):
            nav.append(src)
    return nav


def _is_localized(path: Path) -> bool:
    """``about.de.md``: mkdocs-static-i18n's translation of ``about.md``."""
    suffixes = path.suffixes
    return len(suffixes) >= 2 and bool(re.fullmatch(r"\.[a-z]{2,3}(-[A-Za-z0-9]+)*", suffixes[-2]))
