"""Bundle the widget's ES modules into two small scripts, and minify its stylesheet.

``boot`` is inlined in every page's <head> (Consent Mode defaults, the decision to ask, the
banner mounted for the first paint); ``consent.js`` is loaded deferred (everything else);
the stylesheet is inlined too, so nothing of the widget blocks the page's first paint.

The modules follow one rule so this stays simple: they import and export named
top-level functions and constants only, with unique names across modules. The
bundle concatenates them in dependency order inside one function scope.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

import rcssmin
import rjsmin

SRC = Path(__file__).parent / "src"
#: Dependency order: each module only imports from modules before it.
MODULES = ("choice.js", "store.js", "consentmode.js", "gate.js", "receipts.js", "banner.js", "ui.js", "main.js")
BOOT_MODULES = ("choice.js", "consentmode.js", "banner.js", "boot.js")
IMPORT_RE = re.compile(r"^import\s+\{[^}]*\}\s+from\s+\"\./[a-z]+\.js\";\s*$", re.M)
EXPORT_RE = re.compile(r"^export\s+(?=(?:async\s+)?function|const|let)", re.M)


@dataclass(frozen=True)
class Asset:
    name: str
    text: str

    @property
    def hashed_name(self) -> str:
        """The file name with a content hash, so it can be cached for a year."""
        digest = hashlib.sha256(self.text.encode()).hexdigest()[:10]
        stem, ext = self.name.rsplit(".", 1)
        return f"{stem}.{digest}.{ext}"


def bundle_js(src: Path = SRC, modules: tuple[str, ...] = MODULES) -> str:
    parts = []
    for name in modules:
        text = (src / name).read_text(encoding="utf-8")
        text = EXPORT_RE.sub("", IMPORT_RE.sub("", text))
        if re.search(r"^\s*(import|export)\b", text, re.M):
            raise ValueError(f"{src / name}: an import or export the bundler cannot flatten")
        parts.append(text)
    text = str(rjsmin.jsmin('(function(){"use strict";' + "\n".join(parts) + "})();\n"))
    if "</" in text:
        raise ValueError("the bundle holds '</', which would end an inline <script> early")
    return text


@dataclass(frozen=True)
class Assets:
    js: Asset  # loaded deferred
    css: Asset  # inlined in <head>
    boot: str  # inlined in <head>, before any tag


def build_assets(src: Path = SRC) -> Assets:
    """The shipped scripts and stylesheet."""
    css = str(rcssmin.cssmin((src / "consent.css").read_text(encoding="utf-8")))
    if "</" in css:
        raise ValueError("the stylesheet holds '</', which would end an inline <style> early")
    return Assets(Asset("consent.js", bundle_js(src)), Asset("consent.css", css), bundle_js(src, BOOT_MODULES))
