"""``policies.lock``: the content hash of every version file, checked in CI.

A version whose effective date has passed may never change, nor may a translation of it
(``2026-11-22.de.md``: what readers of that language were shown); the lock file is
how the check knows what its text was. ``imarouter-legal lock`` records every
version and refuses to record a changed hash for a version already in effect.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from pathlib import Path

from .errors import LegalPagesError
from .model import TRANSLATION_NAME_RE, policy_dirs, read_source, translation_files, version_files

LOCK_VERSION = 1


@dataclass(frozen=True)
class LockEntry:
    sha256: str
    effective: str


def file_sha256(path: Path) -> str:
    """The SHA-256 of the file's bytes, from the one read that also parses it for the build."""
    return read_source(path).sha256


def key_of(docs_dir: Path, path: Path) -> str:
    """How the lock names a version file: its path under ``docs/``."""
    return path.relative_to(docs_dir).as_posix()


def read_lock(path: Path) -> dict[str, LockEntry]:
    """The recorded hashes; an absent lock file records nothing."""
    if not path.exists():
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        entries = data["versions"]
        return {
            str(key): LockEntry(str(value["sha256"]), str(value["effective"]))
            for key, value in entries.items()
        }
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise LegalPagesError(
            f"{path}: the lock file is damaged ({exc!s}); restore it from git, do not edit it by hand"
        ) from exc


def write_lock(path: Path, entries: dict[str, LockEntry]) -> None:
    data = {
        "lock_version": LOCK_VERSION,
        "about": "SHA-256 of every policy version file. Written by 'imarouter-legal lock'; do not edit.",
        "versions": {
            key: {"effective": e.effective, "sha256": e.sha256} for key, e in sorted(entries.items())
        },
    }
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
    tmp.replace(path)


def current_entries(docs_dir: Path) -> dict[str, tuple[Path, LockEntry]]:
    """Every version file and translation on disk with its hash (the effective date is the
    file name's, a translation's that of the version it translates)."""
    found = {}
    for folder in policy_dirs(docs_dir):
        for path in [*version_files(folder), *translation_files(folder)]:
            named = TRANSLATION_NAME_RE.match(path.name)  # a translation takes effect with its version
            found[key_of(docs_dir, path)] = (path, LockEntry(file_sha256(path), named.group(1) if named else path.stem))
    return found


def is_in_effect(entry: LockEntry, today: dt.date) -> bool:
    try:
        return dt.date.fromisoformat(entry.effective) <= today
    except ValueError:
        return False


def update_lock(docs_dir: Path, lock_path: Path, today: dt.date) -> tuple[list[str], list[str]]:
    """Record every version; returns (recorded keys, refused keys).

    A version in effect whose text differs from its recorded hash is refused,
    and the lock file is then left as it was.
    """
    old = read_lock(lock_path)
    now = current_entries(docs_dir)
    refused = [
        key for key, (_, entry) in now.items()
        if key in old and old[key].sha256 != entry.sha256 and is_in_effect(old[key], today)
    ]
    refused += [key for key, entry in old.items() if key not in now and is_in_effect(entry, today)]
    if refused:
        return [], sorted(refused)
    new = {key: entry for key, (_, entry) in now.items()}
    changed = sorted(key for key in new if old.get(key) != new[key])
    if changed or set(old) != set(new) or not lock_path.exists():
        write_lock(lock_path, new)
    return changed, []
