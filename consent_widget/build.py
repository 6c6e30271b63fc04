"""The widget's shipped files: its ES modules bundled and minified by esbuild, committed in
``dist/`` so that building the site needs no Node.js (as Material for MkDocs ships its own
bundled scripts in its Python package).

``boot.js`` is inlined in every page's <head> (Consent Mode defaults, the decision to ask,
the banner mounted for the first paint); ``consent.js`` is loaded deferred (everything
else) and takes the functions boot.js already defined from it (``src/booted.js``) rather
than carrying a second copy; the stylesheet is inlined too, so nothing of the widget blocks
the page's first paint.

esbuild bundles real ES modules: each module is its own scope, an import of a name a module
does not export is an error, and two modules may define functions of the same name.

    python -m consent_widget.build          # (make bundle) after changing anything in src/
    python -m consent_widget.build --check  # is dist/ what src/ builds? (the suite runs it)

``dist/SOURCES.json`` records the SHA-256 of every source and every output: the site build
refuses a ``dist/`` that is stale (a source changed since the bundle was built) or edited
by hand, naming the file, instead of shipping something else than the sources say.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

PACKAGE = Path(__file__).parent
SRC = PACKAGE / "src"
DIST = PACKAGE / "dist"
#: The bundles and their entry modules; the stylesheet is minified on its own.
ENTRIES = {"boot.js": "boot.js", "consent.js": "main.js"}
STYLESHEET = "consent.css"
OUTPUTS = (*ENTRIES, STYLESHEET)
MANIFEST = "SOURCES.json"
ESBUILD_FLAGS = (
    "--minify", "--target=es2020", "--charset=utf8", "--legal-comments=none", "--log-level=warning",
)


class BundleError(Exception):
    """dist/ cannot be used or built; the message says which file and what to run."""


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


@dataclass(frozen=True)
class Assets:
    js: Asset  # loaded deferred
    css: Asset  # inlined in <head>
    boot: str  # inlined in <head>, before any tag


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def sources(src: Path = SRC) -> dict[str, str]:
    """Every file under ``src`` (an editor's dotfiles aside), by its path there."""
    return {p.relative_to(src).as_posix(): sha256(p) for p in sorted(src.rglob("*"))
            if p.is_file() and not any(part.startswith(".") for part in p.relative_to(src).parts)}


def esbuild_binary() -> Path:
    """esbuild from the project's node_modules (``npm ci``, run by ``make bundle`` and ``make test``), or
    ``$ESBUILD_BINARY_PATH``, or the one on ``PATH``."""
    for candidate in (os.environ.get("ESBUILD_BINARY_PATH"), PACKAGE.parent / "node_modules" / ".bin" / "esbuild",
                      shutil.which("esbuild")):
        if candidate and Path(candidate).is_file():
            return Path(candidate)
    raise BundleError("esbuild is not installed: run `npm ci` in the project folder (make bundle and make test do)")


def bundle(src: Path = SRC, out: Path = DIST) -> dict[str, str]:
    """Build every output from ``src`` into ``out`` and write its manifest; returns the sizes."""
    esbuild = esbuild_binary()
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        commands = [[str(esbuild), str(src / entry), "--bundle", "--format=iife", '--banner:js="use strict";',
                     *ESBUILD_FLAGS, f"--outfile={tmp / name}"] for name, entry in ENTRIES.items()]
        commands.append([str(esbuild), str(src / STYLESHEET), *ESBUILD_FLAGS, f"--outfile={tmp / STYLESHEET}"])
        for command in commands:
            result = subprocess.run(command, capture_output=True, text=True, check=False)
            if result.returncode != 0 or result.stderr.strip():
                raise BundleError(f"esbuild refused {command[1]}:\n{result.stderr.strip()}")
        for name in OUTPUTS:
            text = (tmp / name).read_text(encoding="utf-8").rstrip("\n") + "\n"
            if "</" in text:  # it would end the inline <script> or <style> early
                raise BundleError(f"{src}: the bundle {name} holds '</': write it another way")
            (out / name).write_text(text, encoding="utf-8")
    version = subprocess.run([str(esbuild), "--version"], capture_output=True, text=True, check=True).stdout.strip()
    manifest = {"esbuild": version, "sources": sources(src), "outputs": {n: sha256(out / n) for n in OUTPUTS}}
    (out / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    return {name: str((out / name).stat().st_size) for name in OUTPUTS}


def read_dist(src: Path = SRC, dist: Path = DIST) -> dict[str, str]:
    """The outputs, once checked against the manifest and the sources."""
    try:
        manifest = json.loads((dist / MANIFEST).read_text(encoding="utf-8"))
        recorded, outputs = manifest["sources"], manifest["outputs"]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise BundleError(f"{dist / MANIFEST}: missing or not a bundle manifest ({exc}): run `make bundle`") from exc
    now = sources(src)
    for name in sorted(set(recorded) | set(now)):
        if recorded.get(name) != now.get(name):
            state = "is new" if name not in recorded else "was removed" if name not in now else "changed"
            raise BundleError(f"{src / name} {state} since {dist} was built: run `make bundle` and commit dist/")
    texts = {}
    for name in OUTPUTS:
        path = dist / name
        if not path.is_file() or outputs.get(name) != sha256(path):
            raise BundleError(f"{path} is not the file esbuild wrote (edited or missing): run `make bundle`")
        texts[name] = path.read_text(encoding="utf-8")
    return texts


def build_assets(src: Path = SRC, dist: Path = DIST) -> Assets:
    """The shipped scripts and stylesheet."""
    texts = read_dist(src, dist)
    return Assets(Asset("consent.js", texts["consent.js"]), Asset("consent.css", texts[STYLESHEET].strip()),
                  texts["boot.js"].strip())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m consent_widget.build", description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="fail unless dist/ is exactly what src/ builds")
    args = parser.parse_args(argv)
    try:
        if args.check:
            read_dist()  # the manifest matches the sources and the outputs
            with tempfile.TemporaryDirectory() as tmp:
                bundle(SRC, Path(tmp))
                for name in OUTPUTS:
                    if Path(tmp, name).read_bytes() != (DIST / name).read_bytes():
                        raise BundleError(f"{DIST / name} is not what {SRC} builds: run `make bundle` and commit dist/")
            print(f"{DIST}: up to date with {SRC}")
        else:
            sizes = bundle()
            print(", ".join(f"{name} {size} B" for name, size in sizes.items()))
    except BundleError as exc:
        print(f"consent_widget.build: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
