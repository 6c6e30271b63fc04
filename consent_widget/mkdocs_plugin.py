"""The site glue: puts the widget, its config and the cookie policy page into the build.

From the one consent inventory it derives the widget config (inlined in every
page), ``/consent.json`` (what the consent API validates against), and the
``/cookies/`` page. Needs the legal-pages plugin listed before it.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from mkdocs.config import config_options as c
from mkdocs.config.base import Config
from mkdocs.config.defaults import MkDocsConfig
from mkdocs.exceptions import PluginError
from mkdocs.plugins import BasePlugin, event_priority
from mkdocs.structure.files import File, Files, InclusionLevel

from consent_log.checkpoint import Verifier, last_checkpoint
from legal_pages.i18n import CatalogueError, SiteLanguages, catalogue, direction, site_languages

from . import csp
from .build import Assets, BundleError, build_assets
from .inventory import Inventory, InventoryError, load_inventory
from .pages import cookie_page

ASSET_DIR = "assets/consent"
from . import LOCALES  # noqa: E402

AFTER_I18N = -110  # legal-pages' reason: mkdocs-static-i18n rebuilds the file list of each language


class ConsentConfig(Config):  # type: ignore[no-untyped-call]
    inventory = c.Type(str, default="cookies/inventory.yml")
    api_url = c.Type(str, default="/api/v1/receipts")
    log_dir = c.Type(str, default="var/consent-log")  # the consent API's LOG_DIR (LEGAL_CONSENT_LOG_DIR)


class ConsentPlugin(BasePlugin[ConsentConfig]):  # type: ignore[no-untyped-call]
    """The consent widget, configured by data from the inventory."""

    inventory: Inventory
    assets: Assets
    manifest: dict[str, Any]
    api_url: str
    languages: SiteLanguages
    texts: dict[str, str]

    def on_config(self, config: MkDocsConfig) -> MkDocsConfig:
        """Runs once per language of the site (mkdocs-static-i18n builds each in turn). Every
        language built must have every text: the widget's in its catalogue, the operator's in
        the inventory; the first one missing stops the build, named."""
        path = Path(config.docs_dir) / self.config.inventory
        languages = self.languages = site_languages(config)
        try:
            self.inventory = load_inventory(path)
            for lang in languages.built:
                self.inventory.require(lang)
            catalogues = {lang: catalogue(LOCALES, lang).texts for lang in languages.built}
        except (InventoryError, CatalogueError) as exc:
            raise PluginError(str(exc)) from exc
        legal = config.extra.get("legal") or {}
        policy = (legal.get("policies") or {}).get(self.inventory.policy)
        if policy is None:
            raise PluginError(
                f"{path}: 'policy: {self.inventory.policy}' names no policy of the site "
                "(list the legal-pages plugin before consent)"
            )
        language = languages.current
        api = self.api_url = os.environ.get("LEGAL_CONSENT_API_URL") or self.config.api_url
        revisions = {lang: self.inventory.revision(policy.get("anchor"), lang) for lang in languages.built}
        revision = revisions[language]
        try:
            self.assets = build_assets()
        except BundleError as exc:
            raise PluginError(str(exc)) from exc
        runtime = {
            "rev": revision,
            # a choice made on a page of another language is held to that language's texts:
            # one choice per site, asked again only when what its visitor read changed
            "revs": revisions,
            "days": self.inventory.expiry_days,
            "api": api,
            "receipt": api.rstrip("/") + "/",
            "lang": language,
            "policy": {"id": self.inventory.policy, "version": policy.get("current"),
                       "anchor": policy.get("anchor")},
            "cats": [
                {k: v for k, v in {
                    "id": cat.id, "req": cat.required or None, "gpc": cat.sale_or_sharing or None,
                    "cm": list(cat.consent_mode) or None, "set": cat.gtag_set or None,
                    "cookies": [k.name for k in cat.cookies] or None,
                }.items() if v is not None}
                for cat in self.inventory.categories
            ],
        }
        texts = self.texts = self.inventory.texts_for(language, catalogues[language])
        config.extra["consent_widget"] = {
            "runtime": json.dumps(runtime, separators=(",", ":")),
            "js": f"{ASSET_DIR}/{self.assets.js.hashed_name}",
            "css": self.assets.css.text,
            "boot": self.assets.boot,
            "texts": texts,
            "policy": policy,
            "lang": language,
            "dir": direction(language),
            "prefix": languages.prefix,
            "categories": [
                {"id": cat.id, "required": cat.required, "sale_or_sharing": cat.sale_or_sharing,
                 "name": cat.name[language], "description": cat.description[language]}
                for cat in self.inventory.categories
            ],
        }
        self.manifest = {
            "schema_version": 1,
            "revision": revisions[languages.default],
            "revisions": revisions,  # per language: the revision of the texts a visitor of it reads
            "policy": runtime["policy"],
            # false before the privacy policy's first version takes effect: no choice is asked
            # or recorded, and no optional category is granted (README: before the first version)
            "accepting_choices": policy.get("current") is not None,
            "expiry_days": self.inventory.expiry_days,
            "categories": [
                {"id": cat.id, "required": cat.required, "sale_or_sharing": cat.sale_or_sharing,
                 "consent_mode": list(cat.consent_mode), "cookies": [k.name for k in cat.cookies]}
                for cat in self.inventory.categories
            ],
        }
        return config

    @event_priority(AFTER_I18N)
    def on_files(self, files: Files, *, config: MkDocsConfig) -> Files:
        for source in list(files):
            if source.src_uri == self.config.inventory:
                files.remove(source)
        language, prefix = self.languages.current, self.languages.prefix
        page_path = str(Path(self.config.inventory).parent / "index.md")
        if not prefix and files.get_file_from_path(page_path) is not None:
            raise PluginError(f"docs/{page_path} is generated from the consent inventory: remove it")
        generated = {prefix + page_path: cookie_page(self.inventory, language, self.texts)}
        if not prefix:  # once per site, at its root: the same for every language
            generated.update({
                "consent.json": json.dumps(self.manifest, indent=2) + "\n",
                f"{ASSET_DIR}/{self.assets.js.hashed_name}": self.assets.js.text,
                ".well-known/gpc.json": json.dumps(self.gpc_statement()) + "\n",
            })
            generated.update(self.consent_log_files())
        for path, content in generated.items():
            # INCLUDED: MkDocs leaves out dot folders such as .well-known unless told otherwise.
            files.append(File.generated(config, path, content=content, inclusion=InclusionLevel.INCLUDED))
        return files

    def consent_log_files(self) -> dict[str, str]:
        """The consent log's public keys and its latest checkpoint, published with the site so
        that anyone can verify a receipt, and so that every build leaves a copy of the log's
        state that the operator no longer controls (DESIGN.md §5.1). Nothing when the API's
        log directory is not on this machine."""
        log_dir = Path(os.environ.get("LEGAL_CONSENT_LOG_DIR") or self.config.log_dir)
        found: dict[str, str] = {}
        for name in ("consent-log.pub", "consent-log.json"):
            if (log_dir / name).is_file():
                found[f".well-known/{name}"] = (log_dir / name).read_text(encoding="utf-8")
        checkpoints = log_dir / "checkpoints"
        if checkpoints.is_file() and ".well-known/consent-log.json" in found:
            # Only a checkpoint that verifies with the published keys is published.
            keys = json.loads(found[".well-known/consent-log.json"]).get("keys", [])
            latest = last_checkpoint(checkpoints, [Verifier.parse(k["verifier"]) for k in keys])
            if latest is not None:
                found[".well-known/consent-log-checkpoint"] = latest.note
        return found

    def gpc_statement(self) -> dict[str, Any]:
        """``/.well-known/gpc.json`` (W3C GPC): this site honours Global Privacy Control."""
        statement: dict[str, Any] = {"gpc": True}
        if self.inventory.gpc_last_update is not None:
            statement["lastUpdate"] = self.inventory.gpc_last_update.isoformat()
        return statement

    @event_priority(-200)  # after mkdocs-static-i18n (-100) has built the other languages
    def on_post_build(self, *, config: MkDocsConfig) -> None:
        i18n = config.plugins.get("i18n")
        if i18n is not None and getattr(i18n, "building", False):
            return  # one language of several: the policy is computed once, over every page
        csp.apply(Path(config.site_dir), third_party=self.inventory.third_party_origins,
                  api_url=self.api_url, site_url=config.site_url or "")
