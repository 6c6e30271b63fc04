"""The MkDocs adapter: adds the engine's generated pages to a MkDocs build.

Everything the site says about versions is decided by the engine (``site.py``);
this module only translates between MkDocs and it, so the site can move to
another generator by writing another adapter of this size.
"""

from __future__ import annotations

import os
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

from .errors import LegalPagesError
from .model import VERSIONS_DIR, load_policies, parse_build_date
from .site import SitePlan, plan_site

POLICY_LIST_MARKER = "<!-- legal:policies -->"
TRUE_WORDS = {"1", "true", "yes", "on"}


class LegalPagesConfig(Config):  # type: ignore[no-untyped-call]
    build_date = c.Optional(c.Type(str))
    preview = c.Type(bool, default=False)


class LegalPagesPlugin(BasePlugin[LegalPagesConfig]):  # type: ignore[no-untyped-call]
    """Versioned legal pages: current, archive, redlines, history, feed, manifest."""

    plan: SitePlan
    slugs: set[str]

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
            policies = load_policies(docs_dir)
            self.plan = plan_site(
                policies, as_of=as_of, site_url=site_url, preview=preview,
                render_html=_renderer(config), site_name=config.site_name,
            )
        except LegalPagesError as exc:
            raise PluginError(str(exc)) from exc
        self.slugs = {p.slug for p in policies}
        if config.nav is None:
            config.nav = _auto_nav(docs_dir, self.plan, self.slugs)
        config.extra["legal"] = {
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

    def on_page_markdown(
        self, markdown_text: str, *, page: Page, config: MkDocsConfig, files: Files
    ) -> str:
        if POLICY_LIST_MARKER in markdown_text:
            return markdown_text.replace(POLICY_LIST_MARKER, self.plan.policy_list(page.file.src_uri))
        return markdown_text


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
