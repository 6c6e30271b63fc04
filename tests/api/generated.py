"""Receipts made in bulk, spread over time, for the report's tests and benchmark.

Each receipt is what the API would store: the body comes from the API's own
``build_receipt`` (with the site's categories and policy versions), written with the
same report columns, straight into the database with a ``created_at`` in the past (the
API itself only stores the present). Tokens are a placeholder of a real token's length:
the report never reads them, and signing a million would only slow the benchmark.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from itertools import islice
from pathlib import Path
from typing import Any

from sqlalchemy import Engine

from consent_api.receipt import build_receipt, report_columns, request_digest
from consent_api.schema import pending, receipts
from consent_api.settings import Settings
from consent_api.signing import ReceiptSigner
from consent_log.leaf import canonical

PAGE = "http://127.0.0.1:8000/privacy/"
SENTINEL_ID = "ffffffff-ffff-4fff-bfff-ffffffffffff"
SENTINEL_TIME = 1_999_999_999
SENTINEL_WHEN = dt.datetime.fromtimestamp(SENTINEL_TIME, dt.UTC).isoformat()


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
    language: str = "en"  # the language the banner and dialog were shown in


class Maker:
    """Turns Choices into stored rows, with the site's categories and versions."""

    def __init__(self, site_dir: Path, signer: ReceiptSigner | None = None) -> None:
        self.signer = signer  # signs each row's token as the API does (else a placeholder: not sealable)
        self.policies = json.loads((site_dir / "policies.json").read_text())
        self.categories = json.loads((site_dir / "consent.json").read_text())["categories"]
        self.settings = Settings()
        self.templates: dict[Any, tuple[str, str]] = {}

    def body(self, c: Choice, receipt_id: str, subject: str, stamp: int) -> tuple[dict[str, Any], str]:
        """What build_receipt makes of this choice: the request and the receipt."""
        version = next(v for v in self.policies["policies"]["privacy"]["versions"] if v["id"] == c.version)
        request = {"receipt_id": receipt_id, "subject_id": subject, "config_revision": c.revision,
                   "policy": {"id": "privacy", "version": c.version}, "choices": c.choices, "method": c.method,
                   "gpc": c.gpc, "language": c.language, "page": PAGE,
                   "consented_at": dt.datetime.fromtimestamp(stamp, dt.UTC).isoformat(), "policy_version": version}
        receipt = build_receipt(request, now=stamp, sec_gpc=c.gpc, settings=self.settings,
                                categories=self.categories)
        return request, canonical(receipt)

    def row(self, c: Choice) -> dict[str, Any]:
        """The stored row. Receipts of the same kind differ only in ids and times: their body
        is built once (checked against build_receipt the first time) and the rest filled in
        (a million receipts in seconds instead of minutes)."""
        receipt_id, subject, stamp = str(uuid.uuid4()), c.subject or str(uuid.uuid4()), int(c.when.timestamp())
        kind = (tuple(sorted(c.choices.items())), c.version, c.revision, c.method, c.gpc, c.language)
        if kind not in self.templates:
            request, template = self.body(c, SENTINEL_ID, SENTINEL_ID, SENTINEL_TIME)
            self.templates[kind] = (template, request_digest(request))
            assert self.fill(template, receipt_id, subject, stamp) == self.body(c, receipt_id, subject, stamp)[1]
        template, digest = self.templates[kind]
        body = self.fill(template, receipt_id, subject, stamp)
        token = (self.signer.sign({"rid": receipt_id, "sid": subject, "sha": hashlib.sha256(body.encode()).hexdigest()})
                 if self.signer else "t" * 420)
        return {"receipt_id": receipt_id, "subject_id": subject, "created_at": stamp,
                "request_sha256": hashlib.sha256(f"{digest}{receipt_id}{stamp}".encode()).hexdigest(),
                "body": body, "token": token, "kid": self.signer.newest.kid if self.signer else "k1",
                **report_columns(json.loads(body))}

    @staticmethod
    def fill(template: str, receipt_id: str, subject: str, stamp: int) -> str:
        when = dt.datetime.fromtimestamp(stamp, dt.UTC).isoformat()
        return (template.replace(f'"consentReceiptID":"{SENTINEL_ID}"', f'"consentReceiptID":"{receipt_id}"')
                .replace(f'"piiPrincipalId":"{SENTINEL_ID}"', f'"piiPrincipalId":"{subject}"')
                .replace(f'"consentTimestamp":{SENTINEL_TIME}', f'"consentTimestamp":{stamp}')
                .replace(f'"clientConsentedAt":"{SENTINEL_WHEN}"', f'"clientConsentedAt":"{when}"'))


def store(engine: Engine, site_dir: Path, choices: Iterable[Choice], *, batch: int = 5000,
          signer: ReceiptSigner | None = None) -> int:
    """Insert the receipts in transactions of ``batch``; returns how many. With ``signer``, each
    has the token the API would have issued (the sealer seals only such rows)."""
    maker, done = Maker(site_dir, signer), 0
    items: Iterator[Choice] = iter(choices)
    while chunk := [maker.row(c) for c in islice(items, batch)]:
        with engine.begin() as conn:
            if signer is None:
                conn.execute(receipts.insert(), chunk)
            else:  # listed for the sealer, as the API lists what it stores
                seqs = conn.execute(receipts.insert().returning(receipts.c.seq), chunk).scalars().all()
                conn.execute(pending.insert(), [{"seq": seq} for seq in seqs])
        done += len(chunk)
    return done


def at(day: str, second: int = 0) -> dt.datetime:
    """Noon UTC of a day, plus some seconds: receipts of one day keep their order."""
    return dt.datetime.fromisoformat(day).replace(hour=12, tzinfo=dt.UTC) + dt.timedelta(seconds=second)
