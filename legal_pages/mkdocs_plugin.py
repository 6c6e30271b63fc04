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
from pathlib import Path
from typing import Any

import markdown
from mkdocs.config import config_options as c
from mkdocs.config.base import Config
from mkdocs.config.defaults import MkDocsConfig
from mkdocs.exceptions import PluginError
from mkdocs.plugins import BasePlugin
from mkdocs.structure.files import File, Files
from mkdocs.structure.pages import Page

from . import redline
from .errors import LegalPagesError
from .lint import DEFAULT_NOTICE_DAYS, check, refusals
from .model import VERSIONS_DIR, Version, load_policies, parse_build_date
from .paths import long_date, page_url, source_file
from .site import Output, PolicyView, SitePlan, plan_site, split_body

POLICY_LIST_MARKER = "<!-- legal:policies -->"
HEADING_ANCHORS = re.compile(r'<a class="headerlink"[^>]*>[^<]*</a>')
TRUE_WORDS = {"1", "true", "yes", "on"}
log = logging.getLogger("mkdocs.plugins.legal_pages")


class LegalPagesConfig(Config):  # type: ignore[no-untyped-call]
    build_date = c.Optional(c.Type(str))
    preview = c.Type(bool, default=False)
    lock = c.Optional(c.Type(str))  # default: policies.lock beside the docs folder
    notice_days = c.Optional(c.Type(int))  # default: LEGAL_NOTICE_DAYS or 30


class LegalPagesPlugin(BasePlugin[LegalPagesConfig]):  # type: ignore[no-untyped-call]
    """Versioned legal pages: current, archive, redlines, history, feed, manifest."""

    plan: SitePlan
    slugs: set[str]
    versions: dict[tuple[str, str], Version]
    rendered: dict[str, str]
    pending: dict[str, Output]

    def on_config(self, config: MkDocsConfig) -> MkDocsConfig:
        if not config.use_directory_urls:
            raise PluginError("legal-pages needs 'use_directory_urls: true' (permanent URLs end in /)")
        if not config.site_url:
            raise PluginError("legal-pages needs 'site_url': feed, manifest and receipts use absolute URLs")
        site_url = config.site_url if config.site_url.endswith("/") else config.site_url + "/"
        preview = self.config.preview or os.environ.get("LEGAL_PREVIEW", "").lower() in TRUE_WORDS
        docs_dir = Path(config.docs_dir)
        try:
            as_of = parse_build_date(self.config.build_date or os.environ.get("LEGAL_BUILD_DATE"))
            self._gate(config, docs_dir, as_of, preview)
            policies = load_policies(docs_dir)
            self.rendered: dict[str, str] = {}
            render = _renderer(config)
            self.plan = plan_site(
                policies, as_of=as_of, site_url=site_url, preview=preview, site_name=config.site_name,
                render_html=lambda body: self.rendered.get(body) or render(body),
            )
        except LegalPagesError as exc:
            raise PluginError(str(exc)) from exc
        self.slugs = {p.slug for p in policies}
        self.versions = {(p.slug, v.id): v for p in policies for v in p.versions}
        self.pending = {o.path: o for o in self.plan.outputs if o.fragments}
        if config.nav is None:
            config.nav = _auto_nav(docs_dir, self.plan, self.slugs)
        config.extra["legal"] = {
            "policies": {view.slug: _policy_facts(view, site_url) for view in self.plan.views},
            "build_date": as_of.isoformat(),
            "preview": preview,
            "announcements": [
                {"policy_title": a.policy_title, "effective": a.effective.isoformat(),
                 "effective_text": f"{a.effective:%B} {a.effective.day}, {a.effective.year}",
                 "url": a.url, "changes_url": a.changes_url}
                for a in self.plan.announcements
            ],
        }
        return config

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

    def on_files(self, files: Files, *, config: MkDocsConfig) -> Files:
        for file in list(files):
            parts = file.src_uri.split("/")
            if len(parts) >= 3 and parts[0] in self.slugs and parts[1] == VERSIONS_DIR:
                files.remove(file)
        for output in self.plan.outputs:
            existing = files.get_file_from_path(output.path)
            if existing is not None:
                raise PluginError(
                    f"docs/{output.path} is generated from the policy versions: "
                    "remove the hand-written file"
                )
            files.append(File.generated(config, output.path, content=output.content))
        return files

    def on_page_content(
        self, html: str, *, page: Page, config: MkDocsConfig, files: Files
    ) -> str:
        """Keep each version's rendered body, so its redline reuses it."""
        html, body = split_body(html)
        meta = page.meta.get("legal") or {}
        version = self.versions.get((str(meta.get("policy")), str(meta.get("version"))))
        if version is not None and body is not None:
            self.rendered[version.body] = HEADING_ANCHORS.sub("", body)  # headings keep their ids
        return html

    def on_post_build(self, *, config: MkDocsConfig) -> None:
        """Each version's exact source file (the bytes its sha256 is of), and its blocks for
        the page that compares any two in the browser."""
        render = _renderer(config)
        for view in self.plan.views:
            for v in view.versions:
                target = Path(config.site_dir) / source_file(view.slug, v.id)
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(v.path.read_bytes())
            compare = view.compare_src()
            if compare is None:
                continue
            folder = Path(config.site_dir) / page_url(compare)
            folder.mkdir(parents=True, exist_ok=True)
            for v in view.versions:
                body = self.rendered.get(v.body) or render(v.body)
                (folder / f"{v.id}.json").write_text(
                    json.dumps(redline.export(body), separators=(",", ":")), encoding="utf-8")

    def on_post_page(self, output: str, *, page: Page, config: MkDocsConfig) -> str:
        pending = self.pending.get(page.file.src_uri)
        return pending.fill(output) if pending is not None else output

    def on_page_markdown(
        self, markdown_text: str, *, page: Page, config: MkDocsConfig, files: Files
    ) -> str:
        if POLICY_LIST_MARKER in markdown_text:
            return markdown_text.replace(POLICY_LIST_MARKER, self.plan.policy_list(page.file.src_uri))
        return markdown_text


def _policy_facts(view: PolicyView, site_url: str) -> dict[str, Any]:
    """What other plugins (the consent widget) need to know of a policy."""
    current, anchor = view.current, view.material_anchor()
    if current is None or anchor is None:  # no version in effect yet: nothing to agree to
        first = view.upcoming[0] if view.upcoming else None
        return {"title": view.title, "current": None, "anchor": None,
                "opens": long_date(first.effective) if first else None}
    changes = view.changes_src(anchor)
    return {
        "title": view.title,
        "current": current.id,
        "url": site_url + page_url(view.version_src(current)),
        "anchor": anchor.id,
        "anchor_date": long_date(anchor.effective),
        "anchor_changes_url": page_url(changes) if changes else None,
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


def _auto_nav(docs_dir: Path, plan: SitePlan, slugs: set[str]) -> list[Any]:
    """Home, each policy once, then the other pages: no per-version entries."""
    nav: list[Any] = []
    if (docs_dir / "index.md").exists():
        nav.append("index.md")
    nav.extend(plan.nav)
    for path in sorted(docs_dir.rglob("*.md")):
        src = path.relative_to(docs_dir).as_posix()
        if src != "index.md" and src.split("/")[0] not in slugs:
            nav.append(src)
    return nav
