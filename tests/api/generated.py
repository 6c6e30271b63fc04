"""Receipts made in bulk, spread over time, for the report's tests and benchmark.

Each receipt is what the API would store: the body comes from the API's own
``build_receipt`` (with the site's categories and policy versions), written with the
same report columns, straight into the database with a ``created_at`` in the past (the
API itself only stores the present). Tokens are a placeholder of a real token's length:
the report never reads them, and signing a million would only slow the benchmark.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from itertools import islice
from pathlib import Path
from typing import Any

from sqlalchemy import Engine

from consent_api.config import DEFAULTS
from consent_api.receipt import build_receipt, request_digest
from consent_api.storage import canonical, receipts, report_columns

PAGE = "http://127.0.0.1:8000/privacy/"


@dataclass(frozen=True)
class Choice:
    """One receipt to make: when, under what, and what was chosen."""

    when: dt.datetime
    choices: dict[str, bool]
    version: str = "2026-11-22"
    revision: str = "0123456789abcdef"
    method: str = "banner"
    gpc: bool = False
    subject: str = ""  # empty: a new subject of its own


class Maker:
    """Turns Choices into stored rows, with the site's categories and versions."""

    def __init__(self, site_dir: Path) -> None:
        self.policies = json.loads((site_dir / "policies.json").read_text())
        self.categories = json.loads((site_dir / "consent.json").read_text())["categories"]
        self.settings = dict(DEFAULTS)

    def row(self, c: Choice) -> dict[str, Any]:
        version = next(v for v in self.policies["policies"]["privacy"]["versions"] if v["id"] == c.version)
        subject = c.subject or str(uuid.uuid4())
        request = {"receipt_id": str(uuid.uuid4()), "subject_id": subject, "config_revision": c.revision,
                   "policy": {"id": "privacy", "version": c.version}, "choices": c.choices, "method": c.method,
                   "gpc": c.gpc, "language": "en", "page": PAGE, "consented_at": c.when.isoformat(),
                   "policy_version": version}
        stamp = int(c.when.timestamp())
        body = build_receipt(request, now=stamp, sec_gpc=c.gpc, settings=self.settings, categories=self.categories)
        return {"receipt_id": request["receipt_id"], "subject_id": subject, "created_at": stamp,
                "request_sha256": request_digest(request), "body": canonical(body), "token": "t" * 420,
                "kid": "k1", **report_columns(body)}


def store(engine: Engine, site_dir: Path, choices: Iterable[Choice], *, batch: int = 5000) -> int:
    """Insert the receipts in transactions of ``batch``; returns how many."""
    maker, done = Maker(site_dir), 0
    items: Iterator[Choice] = iter(choices)
    while chunk := [maker.row(c) for c in islice(items, batch)]:
        with engine.begin() as conn:
            conn.execute(receipts.insert(), chunk)
        done += len(chunk)
    return done


def at(day: str, second: int = 0) -> dt.datetime:
    """Noon UTC of a day, plus some seconds: receipts of one day keep their order."""
    return dt.datetime.fromisoformat(day).replace(hour=12, tzinfo=dt.UTC) + dt.timedelta(seconds=second)
