"""When each version file first entered the branch: a fact git knows and an editor cannot type.

``first_seen(docs_dir)`` asks git once for every commit on the first-parent history of
``HEAD`` (the branch as merged: a merge commit counts on the day it was merged) that added a
file under ``docs_dir``, and keeps the oldest per file. A version file not committed yet
enters the repository today. A file of the repository's first commit came with the
repository: its commit date says when the repository started, not when the text first
appeared, so git cannot date it. Without git history (a tarball, a shallow clone) the answer
says why it cannot tell, and the checks that need it say so instead of guessing.
"""

from __future__ import annotations

import datetime as dt
import subprocess
from dataclasses import dataclass, field
from pathlib import Path


@dataclass(frozen=True)
class Arrival:
    """The commit that first added a file to the branch, and its date (UTC)."""

    date: dt.date
    commit: str | None  # None: not committed yet (the working tree)

    def describe(self) -> str:
        if self.commit is None:
            return f"{self.date} (not committed yet: today)"
        return f"{self.date} (commit {self.commit[:10]})"


@dataclass(frozen=True)
class Provenance:
    arrivals: dict[Path, Arrival] = field(default_factory=dict)
    unavailable: str | None = None  # why git cannot tell, when it cannot
    first_commit: frozenset[Path] = frozenset()  # files the repository started with: not datable

    def arrival(self, path: Path, today: dt.date) -> Arrival | None:
        if self.unavailable is not None or path.resolve() in self.first_commit:
            return None
        return self.arrivals.get(path.resolve(), Arrival(today, None))


def _git(cwd: Path, *args: str) -> str:
    done = subprocess.run(
        ["git", "-C", str(cwd), *args], capture_output=True, text=True, check=False, timeout=60,
    )
    if done.returncode != 0:
        raise RuntimeError(done.stderr.strip() or f"git {' '.join(args)} failed")
    return done.stdout


def first_seen(docs_dir: Path) -> Provenance:
    """The arrival of every committed file under ``docs_dir`` (one git call for all)."""
    docs_dir = docs_dir.resolve()
    try:
        top = Path(_git(docs_dir, "rev-parse", "--show-toplevel").strip())
        if _git(docs_dir, "rev-parse", "--is-shallow-repository").strip() == "true":
            return Provenance(unavailable="the repository is a shallow clone (its history is cut)")
        log = _git(top, "log", "--first-parent", "--diff-filter=A", "--no-renames", "--name-only",
                   "-z", "--format=%x01%H %ct", "HEAD", "--", str(docs_dir))
        roots = set(_git(top, "rev-list", "--max-parents=0", "HEAD").split())
    except FileNotFoundError:
        return Provenance(unavailable="git is not installed")
    except (RuntimeError, subprocess.TimeoutExpired) as exc:
        return Provenance(unavailable=f"{docs_dir} is not in a git repository with history ({exc})")
    arrivals: dict[Path, Arrival] = {}
    first: set[Path] = set()
    for record in log.split("\x01")[1:]:  # newest first: older commits overwrite
        header, _, names = record.partition("\x00")
        commit, stamp = header.split()
        day = dt.datetime.fromtimestamp(int(stamp), dt.UTC).date()
        for name in names.split("\x00"):
            if name.strip():
                path = (top / name.strip()).resolve()
                arrivals[path] = Arrival(day, commit)
                if commit in roots:
                    first.add(path)
                else:
                    first.discard(path)
    return Provenance(arrivals, first_commit=frozenset(first))
