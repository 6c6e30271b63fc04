"""Bundle the widget's ES modules into one small script, and minify its stylesheet.

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
MODULES = ("store.js", "consentmode.js", "gate.js", "receipts.js", "ui.js", "main.js")
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


def bundle_js(src: Path = SRC) -> str:
    parts = []
    for name in MODULES:
        text = (src / name).read_text(encoding="utf-8")
        text = EXPORT_RE.sub("", IMPORT_RE.sub("", text))
        if re.search(r"^\s*(import|export)\b", text, re.M):
            raise ValueError(f"{src / name}: an import or export the bundler cannot flatten")
        parts.append(text)
    return str(rjsmin.jsmin('(function(){"use strict";' + "\n".join(parts) + "})();\n"))


def build_assets(src: Path = SRC) -> tuple[Asset, Asset]:
    """The shipped script and stylesheet."""
    css = str(rcssmin.cssmin((src / "consent.css").read_text(encoding="utf-8")))
    return Asset("consent.js", bundle_js(src)), Asset("consent.css", css)
