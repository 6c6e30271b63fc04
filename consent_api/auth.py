"""Who is asking: the operator (its token, in the Authorization header only), the holder of a
receipt's token, or a visitor starting a new subject."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import uuid
from typing import Any

from flask import request

from .errors import Forbidden, Unauthorized
from .web import services


def subject_for(claimed: str, receipt_id: str) -> str:
    """The subject a new receipt belongs to. The one it names only with proof of holding it: a
    genuine, unexpired token issued to that subject, as 'Authorization: Bearer' (a subject id
    alone shows in the cookie dialog). Without proof it starts a new subject, derived from its
    receipt id with a server secret: a retry lands in the same one, and no database read is
    needed to decide (measured: a read per receipt cost 40% of SQLite's receipts/s)."""
    bearer = bearer_token()
    verified = services().signer.verify(bearer) if bearer else None
    if verified is not None and verified[0].get("sid") == claimed and not expired(verified[0]):
        return claimed
    return derived_subject(receipt_id)


def derived_subject(receipt_id: str) -> str:
    oldest = next(iter(services().signer.keys.values()))  # a newer key does not move old subjects
    digest = bytearray(hmac.new(oldest.secret.encode(), f"subject:{receipt_id}".encode(),
                                hashlib.sha256).digest()[:16])
    digest[6] = (digest[6] & 0x0F) | 0x40  # a version-4 UUID, like every subject id
    digest[8] = (digest[8] & 0x3F) | 0x80
    return str(uuid.UUID(bytes=bytes(digest)))


def bearer_token() -> str | None:
    header = request.headers.get("Authorization", "")
    return header[len("Bearer "):].strip() if header.startswith("Bearer ") else None


def is_operator(credential: str) -> bool:
    expected = services().settings.operator_token
    return bool(expected) and hmac.compare_digest(credential.encode(), str(expected).encode())


def claims() -> dict[str, Any] | None:
    """The operator (by the Authorization header only): None; a visitor's genuine receipt token
    (the header, or the receipt page's POSTed form; never the URL, which logs and Referers keep):
    its payload; anything else: an error."""
    bearer = bearer_token()
    if bearer and is_operator(bearer):
        return None
    credential = bearer or (request.form.get("token") if request.method == "POST" else None)
    if not credential:
        raise Unauthorized("send the receipt's token (Authorization: Bearer <token>)")
    verified = services().signer.verify(credential)
    if verified is None:
        raise Forbidden("the token is not genuine")
    if expired(verified[0]):
        raise Forbidden(f"this token expired on {when(int(verified[0]['exp']))}: it no longer reads the "
                        "receipt; the receipt itself stays provable with its proof from the consent log "
                        "(consent-verify)")
    return verified[0]


def expired(payload: dict[str, Any]) -> bool:
    """Past the expiry the operator set (CONSENT_TOKEN_DAYS); tokens signed before expiries
    existed carry none."""
    exp = payload.get("exp")
    return isinstance(exp, int) and exp < int(dt.datetime.now(dt.UTC).timestamp())


def when(timestamp: int) -> str:
    return dt.datetime.fromtimestamp(timestamp, dt.UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


