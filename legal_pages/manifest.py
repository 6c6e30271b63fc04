"""``policies.json``: the machine-readable list of policies and versions.

Its schema is ``schemas/policies.schema.json``; the widget takes its config
revision from it and the consent API validates policy versions against it.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from .paths import page_url, source_file

if TYPE_CHECKING:
    from .site import PolicyView

SCHEMA_VERSION = 1


def build(views: Sequence[PolicyView], site_url: str) -> dict[str, Any]:
    """The manifest as a JSON-ready mapping."""
    policies: dict[str, Any] = {}
    build_date = views[0].as_of.isoformat() if views else None
    for view in views:
        versions = []
        for v in view.versions:
            path = "/" + page_url(view.version_src(v))
            changes = view.changes_src(v)
            shown = view.shown(v)
            versions.append({
                "id": v.id,
                "title": shown.title,
                "effective": v.effective.isoformat(),
                "published": v.published.isoformat(),
                "material": v.material,
                "status": view.status(v),
                "summary": list(shown.summary),
                "sha256": v.sha256,
                "source": f"{view.slug}/versions/{v.path.name}",
                "source_url": site_url + source_file(view.slug, v.id),
                # the text this language's readers are shown: legal's translation, or the source
                "language": shown.language,
                "translation": {
                    "language": shown.translation.language,
                    "sha256": shown.translation.sha256,
                    "translates": shown.translation.translates,
                    "source": f"{view.slug}/versions/{shown.translation.path.name}",
                    "source_url": site_url + view.source_file(v),
                } if shown.translation else None,
                "path": path,
                "url": site_url + path.lstrip("/"),
                "changes_url": site_url + page_url(changes) if changes else None,
            })
        policies[view.slug] = {
            "title": view.title,
            "url": site_url + page_url(view.index_src()),
            "history_url": site_url + page_url(view.history_src()),
            "binding_language": view.binding,
            "current": view.current.id if view.current else None,
            "upcoming": [v.id for v in view.upcoming],
            "versions": versions,
        }
    return {
        "schema_version": SCHEMA_VERSION,
        "build_date": build_date,
        "site_url": site_url,
        "language": views[0].language if views else None,
        "policies": policies,
    }


def dumps(views: Sequence[PolicyView], site_url: str) -> str:
    return json.dumps(build(views, site_url), indent=2, ensure_ascii=False) + "\n"
