"""A folder of build results that are a pure function of their inputs, kept between builds.

A published version never changes (the check refuses it), so neither do its rendered page,
its redline against the version before, or the blocks the compare page fetches; a rebuild
after one new version recomputes only what the new version touches. Each entry is named by
the SHA-256 of everything it was made from: its inputs and the engine's fingerprint (this
package's code, templates and texts, and the versions of the libraries that render HTML).
The cache is invalid as a whole when the fingerprint changes (an upgrade, an edited
template): it is then emptied, so old entries do not pile up. An entry whose content does not
match its own hash, or that was written for another key, is ignored and rebuilt, never
published.

The folder is as trusted as the build machine's disk: it protects against corruption and
mix-ups, not against someone who can write the build machine's files.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import sys
import tempfile
from collections import Counter
from collections.abc import Callable, Iterable
from functools import lru_cache
from importlib import metadata
from pathlib import Path

log = logging.getLogger("mkdocs.plugins.legal_pages.cache")
FORMAT = 1
FINGERPRINT_FILE = "ENGINE"
#: The libraries whose versions change the HTML the engine makes.
RENDERERS = ("markdown", "mkdocs", "mkdocs-material", "pymdown-extensions", "lxml")
#: What is kept, one folder each: a generated page's rendered HTML, a redline, a compare page's blocks.
KINDS = frozenset({"page", "redline", "blocks"})


@lru_cache(maxsize=1)
def engine_fingerprint() -> str:
    """SHA-256 of what shapes the engine's output besides its inputs."""
    digest = hashlib.sha256(f"format {FORMAT}\n{sys.version}\n".encode())
    for name in RENDERERS:
        try:
            digest.update(f"{name} {metadata.version(name)}\n".encode())
        except metadata.PackageNotFoundError:
            digest.update(f"{name} -\n".encode())
    package = Path(__file__).resolve().parent
    for path in sorted(p for p in package.rglob("*") if p.is_file() and "__pycache__" not in p.parts):
        digest.update(path.relative_to(package).as_posix().encode() + b"\0")
        digest.update(hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


class BuildCache:
    """``remember(kind, inputs, make)``: ``make()``'s text, from the folder when it was made
    before from the same inputs. ``folder=None``: no cache (everything is made). ``read=False``
    (``--no-cache``): everything is made again and the entries rewritten."""

    def __init__(self, folder: Path | None, *, read: bool = True) -> None:
        self.folder = folder
        self.read = read
        self.stats: Counter[str] = Counter()
        self._fingerprint = engine_fingerprint()
        if folder is not None:
            self._open(folder)

    def _open(self, folder: Path) -> None:
        marker = folder / FINGERPRINT_FILE
        try:
            written = marker.read_text(encoding="ascii").strip()
        except (OSError, UnicodeDecodeError):
            written = None
        if written == self._fingerprint:
            return
        if written is not None:
            log.info("legal-pages: the engine changed since the cache in %s was written: emptied", folder)
        for entry in folder.iterdir() if folder.is_dir() else ():
            if entry.is_dir() and entry.name in KINDS:  # the cache's own folders, never anything else
                shutil.rmtree(entry, ignore_errors=True)
        folder.mkdir(parents=True, exist_ok=True)
        _write_atomic(marker, self._fingerprint + "\n")

    def key(self, kind: str, inputs: Iterable[str]) -> str:
        assert kind in KINDS, kind
        digest = hashlib.sha256(f"{self._fingerprint}\0{kind}".encode())
        for part in inputs:
            digest.update(b"\0" + _sha256(part).encode())
        return digest.hexdigest()

    def _path(self, kind: str, key: str) -> Path:
        assert self.folder is not None
        return self.folder / kind / f"{key}.json"

    def get(self, kind: str, key: str) -> str | None:
        if self.folder is None or not self.read:
            return None
        path = self._path(kind, key)
        try:
            raw = path.read_bytes()
        except FileNotFoundError:
            return None
        except OSError as exc:
            self._reject(path, f"unreadable: {exc}")
            return None
        try:
            entry = json.loads(raw)
            content = entry["content"]
            problem = ("not an entry of this cache" if entry.get("format") != FORMAT or not isinstance(content, str)
                       else "written for another key" if entry.get("key") != key
                       else "its content does not match its hash" if entry.get("sha256") != _sha256(content)
                       else None)
        except (ValueError, TypeError, KeyError, AttributeError) as exc:
            content, problem = None, f"not JSON of an entry ({exc.__class__.__name__})"
        if problem is not None:
            self._reject(path, problem)
            return None
        self.stats["hit"] += 1
        return str(content)

    def _reject(self, path: Path, why: str) -> None:
        self.stats["rejected"] += 1
        log.info("legal-pages: ignored the cache entry %s (%s); made again", path, why)
        try:
            path.unlink(missing_ok=True)
        except OSError as exc:  # the next write replaces it, or fails and says so
            log.info("legal-pages: could not remove the cache entry %s: %s", path, exc)

    def put(self, kind: str, key: str, content: str) -> None:
        if self.folder is None:
            return
        entry = {"format": FORMAT, "key": key, "sha256": _sha256(content), "content": content}
        try:
            _write_atomic(self._path(kind, key), json.dumps(entry, separators=(",", ":")))
        except OSError as exc:  # a full or read-only disk slows the next build, it does not stop this one
            log.info("legal-pages: could not write the cache entry %s: %s", self._path(kind, key), exc)

    def remember(self, kind: str, inputs: Iterable[str], make: Callable[[], str]) -> str:
        if self.folder is None:
            return make()
        key = self.key(kind, inputs)
        cached = self.get(kind, key)
        if cached is not None:
            return cached
        self.stats["made"] += 1
        made = make()
        self.put(kind, key, made)
        return made


def _write_atomic(path: Path, text: str) -> None:
    """Readers (another build running at the same time) see the old file or the new one."""
    if not path.parent.is_dir():
        path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
