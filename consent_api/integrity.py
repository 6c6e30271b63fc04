"""What a stored receipt row must satisfy before anything trusts it: its own token.

Whoever can write the database is a suspect. A row is the API's only if the token stored
with it is genuine (the HMAC only the API's token keys make), was issued for this receipt id
and subject, and names the SHA-256 of exactly this body; and every column copied from the
body (for lookups, purges and the report) agrees with the body. The sealer gives a leaf
only to a row that passes (``row_problems``), ``verify`` names each failure, and the API
serves no receipt that fails.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from consent_log.leaf import canonical

from .receipt import Stored, report_columns
from .signing import ReceiptSigner

#: Columns copied from the body: (column, what it is in the body), for the messages.
COPIED = {
    "receipt_id": "consentReceiptID", "subject_id": "piiPrincipalId", "created_at": "consentTimestamp",
    "created_day": "consentTimestamp's day", "method": "collectionMethod", "gpc": "gpc",
    "policy_id": "policy.id", "policy_version": "policy.version", "config_revision": "configRevision",
    "language": "language",
    "choices": "choices",
}


def copied_columns(body: dict[str, Any]) -> dict[str, Any]:
    """Every column of a receipt row that is copied from its body, as the body says it."""
    return {"receipt_id": body["consentReceiptID"], "subject_id": body["piiPrincipalId"],
            "created_at": body["consentTimestamp"], **report_columns(body)}


def body_text(row: Any) -> Any:
    """The stored body's text, of a database row or of a storage.Stored."""
    return row.body_json if isinstance(row, Stored) else row.body  # (hasattr on a Row raises inside)


def body_of(row: Any) -> tuple[dict[str, Any] | None, str | None]:
    """The row's body as an object, or why it is not one (not JSON, not canonical)."""
    text = body_text(row)
    try:
        body = json.loads(text)
    except (ValueError, TypeError, RecursionError):
        return None, "its body is not JSON (the row is corrupt)"
    if not isinstance(body, dict):
        return None, "its body is not a receipt object (the row is corrupt)"
    try:
        if canonical(body) != text:
            return None, "its body is not in canonical JSON (it was rewritten outside the API)"
    except (TypeError, ValueError, UnicodeEncodeError):
        return None, "its body is not a receipt the API writes (the row is corrupt)"
    return body, None


def token_problem(signer: ReceiptSigner, row: Any) -> str | None:
    """Why the row's token does not vouch for the row (None when it does)."""
    verified = signer.verify(row.token) if isinstance(row.token, str) else None
    if verified is None:
        return "its token is not genuine (a receipt the API never issued, or its key was removed)"
    payload, kid = verified
    if payload.get("rid") != row.receipt_id:
        return f"its token was issued for another receipt ({str(payload.get('rid'))[:36]})"
    if payload.get("sid") != row.subject_id:
        return "its token was issued for another subject (the receipt was moved to another visitor)"
    text = body_text(row)
    if not isinstance(text, str) or payload.get("sha") != hashlib.sha256(text.encode(
            "utf-8", "surrogatepass")).hexdigest():
        return "its token was issued for other content (the receipt was edited)"
    if getattr(row, "kid", kid) != kid:
        return f"its kid column says {row.kid}, its token was signed by {kid}"
    return None


def row_problems(signer: ReceiptSigner, row: Any) -> list[str]:
    """Every reason not to trust the row, each a phrase naming what is wrong; empty if none."""
    problem = token_problem(signer, row)
    if problem is None:  # the body is byte for byte the one the API issued (and wrote canonical)
        body: dict[str, Any] | None = json.loads(body_text(row))
        problems = []
    else:
        body, bad_body = body_of(row)
        problems = [p for p in (problem, bad_body) if p]
    if not isinstance(body, dict):
        return problems or ["its body is not a receipt object (the row is corrupt)"]
    try:
        expected = copied_columns(body)
    except (KeyError, TypeError, AttributeError):
        return [*problems, "its body lacks a receipt's fields (the row is corrupt)"]
    for column, value in expected.items():
        if hasattr(row, column) and getattr(row, column) != value:
            problems.append(f"its {column} column ({str(getattr(row, column))[:40]}) disagrees with the receipt's "
                            f"{COPIED[column]} ({str(value)[:40]})")
    return problems
