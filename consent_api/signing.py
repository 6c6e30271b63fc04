"""Signed receipt tokens. The only module that imports itsdangerous.

HMAC-SHA256 (not itsdangerous's SHA-1 default), one salt per purpose, and a key id
in every payload. Keys are a list, oldest first: new tokens are signed with the
newest key and tokens signed by any listed key still verify, so keys rotate
without invalidating old receipts. Dropping a key invalidates what it signed.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import re
import secrets
from dataclasses import dataclass
from typing import Any

from itsdangerous import BadSignature, Signer

from .errors import ConfigError

RECEIPT_SALT = "imarouter.consent.receipt.v1"


@dataclass(frozen=True)
class Key:
    kid: str
    secret: str


def parse_keys(text: str, source: str) -> list[Key]:
    """Keys from JSON: ``[{"kid": "...", "secret": "..."}, ...]``, oldest first."""
    try:
        raw = json.loads(text)
        keys = [Key(str(k["kid"]), str(k["secret"])) for k in raw]
    except (ValueError, KeyError, TypeError) as exc:
        raise ConfigError(f"{source}: signing keys must be a JSON list of {{kid, secret}} ({exc})") from exc
    if not keys:
        raise ConfigError(f"{source}: no signing key")
    weak = [k.kid for k in keys if len(k.secret) < 32]
    if weak:
        raise ConfigError(f"{source}: key(s) {', '.join(weak)} shorter than 32 characters")
    if len({k.kid for k in keys}) != len(keys):
        raise ConfigError(f"{source}: two keys share a kid")
    return keys


def new_key(existing: list[Key]) -> Key:
    """A fresh random key with the next kid."""
    return Key(f"k{len(existing) + 1}-{secrets.token_hex(3)}", secrets.token_urlsafe(48))


def keys_json(keys: list[Key]) -> str:
    return json.dumps([{"kid": k.kid, "secret": k.secret} for k in keys], indent=2) + "\n"


#: A token as this module signs it: base64url payload, a dot, base64url signature. itsdangerous'
#: compressed form (a leading dot) and anything longer are refused before any decoding.
TOKEN = re.compile(r"[A-Za-z0-9_-]{1,1024}\.[A-Za-z0-9_-]{20,100}")


class ReceiptSigner:
    """Signs and verifies receipt tokens: base64url(JSON payload), a dot, base64url(HMAC-SHA256),
    made by itsdangerous's ``Signer`` with the key list (it signs with the newest and verifies
    with each). Not ``URLSafeSerializer``: it would zlib-compress a payload of hex digits, and a
    compressed token (a leading dot) is one that ``TOKEN`` refuses unread."""

    def __init__(self, keys: list[Key]) -> None:
        if not keys:
            raise ConfigError("no signing key")
        self.keys = {k.kid: k for k in keys}
        self.newest = keys[-1]
        self._signer = Signer([k.secret for k in keys], salt=RECEIPT_SALT, digest_method=hashlib.sha256)

    def sign(self, payload: dict[str, Any]) -> str:
        body = json.dumps(dict(payload, kid=self.newest.kid), separators=(",", ":")).encode()
        return self._signer.sign(base64.urlsafe_b64encode(body).rstrip(b"=")).decode()

    def verify(self, token: str) -> tuple[dict[str, Any], str] | None:
        """The payload and the id of the key that signed it; None if not genuine. The signature
        is checked first: nothing in a token is decoded before it is known to be genuine."""
        if not isinstance(token, str) or not TOKEN.fullmatch(token):
            return None
        value, signature = token.encode().rsplit(b".", 1)
        try:
            self._signer.unsign(token)
            # One spelling per token: base64's spare bits in the signature's last character
            # do not make another token of the same signature.
            if _b64encode(_b64decode(signature)) != signature:
                return None
            payload = json.loads(_b64decode(value))
        except (BadSignature, ValueError, binascii.Error):
            return None
        # Every listed key is ours and signs the newest kid into its payload: the kid names the key.
        if not isinstance(payload, dict) or payload.get("kid") not in self.keys:
            return None
        return payload, str(payload["kid"])


def _b64decode(data: bytes) -> bytes:
    return base64.urlsafe_b64decode(data + b"=" * (-len(data) % 4))


def _b64encode(data: bytes) -> bytes:
    return base64.urlsafe_b64encode(data).rstrip(b"=")
