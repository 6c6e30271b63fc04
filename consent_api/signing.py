"""Signed receipt tokens. The only module that imports itsdangerous.

HMAC-SHA256 (not itsdangerous's SHA-1 default), one salt per purpose, and a key id
in every payload. Keys are a list, oldest first: new tokens are signed with the
newest key and tokens signed by any listed key still verify, so keys rotate
without invalidating old receipts. Dropping a key invalidates what it signed.
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from itsdangerous import BadSignature, Signer, URLSafeSerializer
from itsdangerous.encoding import base64_encode

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


def write_keys(path: Path, keys: list[Key]) -> None:
    tmp = path.with_suffix(".tmp")
    text = json.dumps([{"kid": k.kid, "secret": k.secret} for k in keys], indent=2) + "\n"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)  # never readable by others
    with os.fdopen(fd, "w") as out:
        out.write(text)
    tmp.replace(path)


class ReceiptSigner:
    """Signs and verifies receipt tokens."""

    def __init__(self, keys: list[Key]) -> None:
        if not keys:
            raise ConfigError("no signing key")
        self.keys = {k.kid: k for k in keys}
        self.newest = keys[-1]
        self._signer: Signer = _serializer(self.newest.secret, RECEIPT_SALT).make_signer(RECEIPT_SALT)

    def sign(self, payload: dict[str, Any]) -> str:
        """The token ``URLSafeSerializer.dumps`` makes, without trying compression (a receipt's
        payload is too small to gain from it): about a third of the time."""
        body = json.dumps(dict(payload, kid=self.newest.kid), separators=(",", ":")).encode()
        return self._signer.sign(base64_encode(body)).decode()

    def verify(self, token: str) -> tuple[dict[str, Any], str] | None:
        """The payload and the id of the key that signed it; None if not genuine."""
        try:
            unverified = URLSafeSerializer("").loads_unsafe(token)[1]
        except Exception:
            return None
        kid = unverified.get("kid") if isinstance(unverified, dict) else None
        key = self.keys.get(kid) if isinstance(kid, str) else None
        if key is None:
            return None
        serializer = _serializer(key.secret, RECEIPT_SALT)
        try:
            payload = serializer.loads(token)
        except BadSignature:
            return None
        # base64 leaves spare bits in the signature's last character: a token that differs
        # there decodes to the same signature. Only the exact token signed is genuine.
        value = token.rsplit(".", 1)[0].encode()
        if serializer.make_signer(RECEIPT_SALT).sign(value).decode() != token:
            return None
        return (payload, key.kid) if isinstance(payload, dict) else None
