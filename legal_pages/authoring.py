"""Legal's commands: start a new version of a policy, and record versions in the lock."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import yaml

from .errors import LegalPagesError
from .lock import LockEntry, file_sha256, key_of, read_lock, write_lock
from .model import VERSIONS_DIR, load_policies
from .paths import long_date

#: The summary ``new-version`` writes, which legal must replace with what changed.
PLACEHOLDER_SUMMARY = "New version of the {title}, effective {date}."
_PLACEHOLDER_RE = re.compile(r"New version of the .+, effective .+\.")


def is_placeholder_summary(line: str) -> bool:
    return _PLACEHOLDER_RE.fullmatch(" ".join(line.split())) is not None


#: Acknowledgements about the text travel with it into a new version; date findings do not.
TEXT_RULES = {"section-numbering", "empty-section", "heading-order", "placeholder", "broken-link"}


def new_version(
    docs_dir: Path,
    slug: str,
    *,
    effective: dt.date,
    today: dt.date,
    material: bool,
    lock_path: Path,
) -> Path:
    """Create ``docs/<slug>/versions/<effective>.md`` from the newest version's text."""
    policies = {p.slug: p for p in load_policies(docs_dir)}
    if slug not in policies:
        known = ", ".join(sorted(policies)) or "none"
        raise LegalPagesError(f"there is no policy '{slug}' under {docs_dir} (policies: {known})")
    policy = policies[slug]
    if effective <= today:
        raise LegalPagesError(
            f"the effective date {effective} must be after today ({today}): "
            "a version in effect can no longer be edited"
        )
    target = docs_dir / slug / VERSIONS_DIR / f"{effective.isoformat()}.md"
    if target.exists():
        raise LegalPagesError(f"{target} already exists")
    if not policy.versions:
        raise LegalPagesError(f"the policy '{slug}' has no version to start from")
    source = policy.versions[-1]
    meta: dict[str, object] = {
        "title": source.title,
        "effective": effective,
        "published": today,
        "material": material,
        "summary": [PLACEHOLDER_SUMMARY.format(title=source.title, date=long_date(effective))],
    }
    carried = [  # the text's findings travel with it; each needs approving again for this version
        {k: v for k, v in (("rule", a.rule), ("match", a.match), ("reason", a.reason)) if v is not None}
        for a in source.acknowledged if a.rule in TEXT_RULES
    ]
    if carried:
        meta["acknowledged"] = carried
    front = yaml.safe_dump(meta, sort_keys=False, allow_unicode=True, width=100)
    body = source.body if source.body.startswith("\n") else "\n" + source.body
    target.write_text(f"---\n{front}---\n{body}", encoding="utf-8")
    entries = read_lock(lock_path)
    entries[key_of(docs_dir, target)] = LockEntry(file_sha256(target), effective.isoformat())
    write_lock(lock_path, entries)
    return target
