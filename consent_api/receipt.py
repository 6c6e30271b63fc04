"""Build the stored receipt: the Kantara Consent Receipt v1.1 fields, plus what
DESIGN.md §5 adds (config revision, the policy version's hash and permanent URL,
collection method, GPC). No IP address, raw or truncated, is stored."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

from consent_log.leaf import canonical

from .settings import Settings


def report_columns(body: dict[str, Any]) -> dict[str, Any]:
    """The receipt's fields the operator's report groups by, from its body."""
    return {"created_day": body["consentTimestamp"] // 86_400, "method": body["collectionMethod"],
            "gpc": bool(body["gpc"]), "policy_id": body["policy"]["id"],
            "policy_version": body["policy"]["version"], "config_revision": body["configRevision"],
            "choices": ",".join(f"{k}={int(bool(v))}" for k, v in sorted(body["choices"].items())),
            "language": body.get("language")}


def request_digest(request: dict[str, Any]) -> str:
    """Identifies a request's content, for idempotency on its receipt id."""
    data = {k: v for k, v in request.items() if k != "policy_version"}
    return hashlib.sha256(canonical(data).encode()).hexdigest()


def build_receipt(request: dict[str, Any], *, now: int, sec_gpc: bool, settings: Settings,
                  categories: list[dict[str, Any]]) -> dict[str, Any]:
    version = request["policy_version"]
    granted = [c for c in categories if request["choices"][c["id"]]]
    return {
        "version": "KI-CR-v1.1.0",
        "jurisdiction": settings.jurisdiction,
        "consentTimestamp": now,
        "collectionMethod": request["method"],
        "consentReceiptID": request["receipt_id"],
        "language": request["language"],
        "piiPrincipalId": request["subject_id"],
        "piiControllers": [dict(settings.controller)],
        "policyUrl": version["url"],
        "services": [{
            "service": settings.service_name,
            "purposes": [{
                "purpose": c["id"],
                "purposeCategory": [c["id"]],
                "consentType": "NOT_REQUIRED" if c["required"] else "EXPLICIT",
                "piiCategory": ["online identifiers (cookies)"],
                "primaryPurpose": bool(c["required"]),
                "termination": f"{settings.expiry_days} days, or when withdrawn",
                "thirdPartyDisclosure": bool(c.get("consent_mode")),
                "thirdPartyName": "Google" if c.get("consent_mode") else "",
            } for c in granted],
        }],
        "sensitive": False,
        "spiCat": [],
        "choices": dict(request["choices"]),
        "policy": {"id": request["policy"]["id"], "version": version["id"], "url": version["url"],
                   "sha256": version["sha256"]},
        "configRevision": request["config_revision"],
        "gpc": bool(request["gpc"] or sec_gpc),
        "secGpcHeader": sec_gpc,
        "page": request["page"],
        "clientConsentedAt": request["consented_at"],
    }


@dataclass(frozen=True)
class NewReceipt:
    receipt_id: str
    subject_id: str
    created_at: int
    request_sha256: str
    body_json: str  # canonical(receipt)
    token: str
    kid: str
    report: dict[str, Any]  # report_columns(receipt), computed where the receipt is built


@dataclass(frozen=True)
class Stored:
    receipt_id: str
    subject_id: str
    created_at: int
    request_sha256: str
    body_json: str
    token: str
    kid: str
    leaf_index: int | None
    seq: int = 0  # the row's place in insertion order (a history page's cursor); 0 before it is read back

    @property
    def body(self) -> dict[str, Any]:
        found: dict[str, Any] = json.loads(self.body_json)
        return found

    @classmethod
    def from_row(cls, row: Any) -> Stored:
        return cls(row.receipt_id, row.subject_id, row.created_at, row.request_sha256, row.body, row.token,
                   row.kid, row.leaf_index, row.seq)


class Duplicate(Exception):
    """The receipt id is stored with other content."""

    def __init__(self, stored: Stored) -> None:
        super().__init__(stored.receipt_id)
        self.stored = stored
