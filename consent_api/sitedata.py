"""What the site published: policies (``policies.json``) and consent categories
(``consent.json``). The API validates receipts against them and re-reads them when a
rebuild changes them, so the daily rebuild needs no restart."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path
from typing import Any

from .errors import ConfigError


class SiteData:
    def __init__(self, site_dir: Path) -> None:
        self.site_dir = site_dir
        self._lock = threading.Lock()
        self._stamp: tuple[float, float] | None = None
        self._checked = 0.0
        self.policies: dict[str, Any] = {}
        self.consent: dict[str, Any] = {}
        self.refresh()

    def refresh(self) -> None:
        """Re-read the files if a rebuild changed them (looked at most once a second)."""
        now = time.monotonic()
        if self._stamp is not None and now - self._checked < 1.0:
            return
        self._checked = now
        paths = (self.site_dir / "policies.json", self.site_dir / "consent.json")
        try:
            stamp = (paths[0].stat().st_mtime, paths[1].stat().st_mtime)
        except OSError as exc:
            raise ConfigError(
                f"{exc.filename}: not found; build the site first (imarouter-legal build) "
                "or point CONSENT_SITE_DIR at it"
            ) from exc
        if stamp == self._stamp:
            return
        with self._lock:
            try:
                self.policies = json.loads(paths[0].read_text())
                self.consent = json.loads(paths[1].read_text())
            except ValueError as exc:
                raise ConfigError(f"{self.site_dir}: policies.json or consent.json is not valid JSON") from exc
            self._stamp = stamp

    def version(self, policy_id: str, version_id: str) -> dict[str, Any] | None:
        policy = self.policies.get("policies", {}).get(policy_id)
        if policy is None:
            return None
        for v in policy["versions"]:
            if v["id"] == version_id:
                return dict(v)
        return None

    @property
    def site_url(self) -> str:
        return str(self.policies.get("site_url", ""))

    @property
    def categories(self) -> list[dict[str, Any]]:
        return list(self.consent.get("categories", []))
