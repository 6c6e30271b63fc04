"""Signed receipt tokens. The only module that imports itsdangerous.

HMAC-SHA256 (not itsdangerous's SHA-1 default), one salt per purpose, and a key id
in every payload. Keys are a list, oldest first: new tokens are signed with the
newest key and tokens signed by any listed key still verify, so keys rotate
without invalidating old receipts. Dropping a key invalidates what it signed.
"""

from __future__ import annotations

import hashlib
import json
import re
import secrets
from dataclasses import dataclass
from typing import Any

from itsdangerous import BadData, Signer, URLSafeSerializer
from itsdangerous.encoding import base64_decode, base64_encode

from .errors import ConfigError

RECEIPT_SALT = "imarouter.consent.receipt.v1"


@dataclass(frozen=True)
class Key:
    kid: str
    secret: str


def _serializer(secret: str, salt: str) -> URLSafeSerializer:
    return URLSafeSerializer(secret, salt=salt, signer_kwargs={"digest_method": hashlib.sha256})


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
    """Signs and verifies receipt tokens."""

    def __init__(self, keys: list[Key]) -> None:
        if not keys:
            raise ConfigError("no signing key")
        self.keys = {k.kid: k for k in keys}
        self.newest = keys[-1]
        # Newest first: a token is most likely signed by a recent key.
        self._signers = [(k.kid, _serializer(k.secret, RECEIPT_SALT).make_signer(RECEIPT_SALT)) for k in keys[::-1]]
        self._signer: Signer = self._signers[0][1]

    def sign(self, payload: dict[str, Any]) -> str:
        """The token ``URLSafeSerializer.dumps`` makes, without trying compression (a receipt's
        payload is too small to gain from it): about a third of the time."""
        body = json.dumps(dict(payload, kid=self.newest.kid), separators=(",", ":")).encode()
        return self._signer.sign(base64_encode(body)).decode()

    def verify(self, token: str) -> tuple[dict[str, Any], str] | None:
        """The payload and the id of the key that signed it; None if not genuine. The signature
        is checked first: nothing in a token is decoded before it is known to be genuine."""
        if not isinstance(token, str) or not TOKEN.fullmatch(token):
            return None
        raw = token.encode()
        # validate() compares in constant time; the exact re-signing also refuses a token that
        # differs only in base64's spare bits of the signature's last character.
        kid = next((kid for kid, signer in self._signers
                    if signer.validate(raw) and signer.sign(raw.rsplit(b".", 1)[0]) == raw), None)
        if kid is None:
            return None
        try:
            payload = json.loads(base64_decode(raw.split(b".", 1)[0]))
        except (ValueError, BadData):
            return None
        if not isinstance(payload, dict) or payload.get("kid") != kid:
            return None
        return payload, kid
