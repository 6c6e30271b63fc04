"""Signed checkpoints of the consent log: C2SP tlog-checkpoint bodies in C2SP signed notes,
signed with Ed25519 log keys (separate from the receipt token keys).

Nothing here needs the database or a secret to verify: a checkpoint note and the log's
verifier key (``<name>+<key id hex>+<base64(0x01 || public key)>``) are enough.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import fcntl
import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

ED25519 = b"\x01"  # the signature type byte of signed-note Ed25519 keys
DASH = "\u2014 "  # a signature line starts with an em dash and a space


class NoteError(ValueError):
    """A note or checkpoint that is malformed, or whose signature does not verify."""


class KeyFileError(ValueError):
    """A log key list (or a new key's name) that is malformed; the message names its source."""


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def _unb64(text: str, what: str) -> bytes:
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise NoteError(f"{what} is not base64: {text[:40]!r}") from None


def _key_id(name: str, public: bytes) -> bytes:
    return hashlib.sha256(name.encode() + b"\n" + ED25519 + public).digest()[:4]


@dataclass(frozen=True)
class Verifier:
    """A log key's public half: what anyone needs to check a checkpoint."""

    name: str
    public: bytes

    @property
    def key_id(self) -> bytes:
        return _key_id(self.name, self.public)

    def text(self) -> str:
        return f"{self.name}+{self.key_id.hex()}+{_b64(ED25519 + self.public)}"

    @classmethod
    def parse(cls, text: str) -> Verifier:
        parts = text.strip().split("+", 2)
        if len(parts) != 3 or not parts[0] or len(parts[1]) != 8:
            raise NoteError(f"not a verifier key (name+keyid+key): {text.strip()[:80]!r}")
        name, key_hex, key_b64 = parts
        raw = _unb64(key_b64, "the verifier key")
        if len(raw) != 33 or raw[:1] != ED25519:
            raise NoteError("the verifier key is not an Ed25519 key")
        verifier = cls(name, raw[1:])
        if verifier.key_id.hex() != key_hex.lower():
            raise NoteError(f"the verifier key's id {key_hex} does not match its name and key")
        return verifier

    def verify(self, message: bytes, signature: bytes) -> bool:
        try:
            Ed25519PublicKey.from_public_bytes(self.public).verify(signature, message)
        except InvalidSignature:
            return False
        return True


@dataclass(frozen=True)
class LogKey:
    """A log signing key: its name (the log's origin), its secret seed, when it was created."""

    name: str
    seed: bytes
    created: str

    @property
    def verifier(self) -> Verifier:
        public = Ed25519PrivateKey.from_private_bytes(self.seed).public_key()
        return Verifier(self.name, public.public_bytes(Encoding.Raw, PublicFormat.Raw))

    def sign_note(self, body: str) -> str:
        """The signed note: the body, an empty line, this key's signature line."""
        if not body.endswith("\n"):
            raise NoteError("a note body ends with a newline")
        signature = Ed25519PrivateKey.from_private_bytes(self.seed).sign(body.encode())
        return f"{body}\n{DASH}{self.name} {_b64(self.verifier.key_id + signature)}\n"


def new_log_key(name: str) -> LogKey:
    if not name or any(c.isspace() or c == "+" for c in name):
        raise KeyFileError(f"'{name}': a log key name has no spaces and no '+' (for example legal.example/consent-log)")
    now = dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")
    return LogKey(name, os.urandom(32), now)


def parse_log_keys(text: str, source: str) -> list[LogKey]:
    """Log keys from JSON ``[{"name", "seed" (base64), "created"}, ...]``, oldest first."""
    try:
        keys = [LogKey(str(k["name"]), base64.b64decode(k["seed"], validate=True), str(k["created"]))
                for k in json.loads(text)]
    except (ValueError, KeyError, TypeError, binascii.Error) as exc:
        raise KeyFileError(f"{source}: log keys must be a JSON list of {{name, seed, created}} ({exc})") from exc
    if not keys:
        raise KeyFileError(f"{source}: no log key")
    if any(len(k.seed) != 32 for k in keys):
        raise KeyFileError(f"{source}: a log key's seed is not 32 bytes")
    return keys


def log_keys_json(keys: list[LogKey]) -> str:
    return json.dumps([{"name": k.name, "seed": _b64(k.seed), "created": k.created} for k in keys], indent=2) + "\n"


def published_keys(keys: list[LogKey]) -> dict[str, object]:
    """``/.well-known/consent-log.json``: every verifier key and when it signed checkpoints."""
    return {"keys": [{
        "name": k.name, "key_id": k.verifier.key_id.hex(), "verifier": k.verifier.text(),
        "signs_from": k.created, "signs_until": keys[i + 1].created if i + 1 < len(keys) else None,
    } for i, k in enumerate(keys)]}


@dataclass(frozen=True)
class Checkpoint:
    origin: str
    size: int
    root: bytes

    def body(self) -> str:
        return f"{self.origin}\n{self.size}\n{_b64(self.root)}\n"

    @classmethod
    def parse(cls, body: str) -> Checkpoint:
        lines = body.split("\n")
        if len(lines) < 4 or lines[-1] != "" or not lines[0]:
            raise NoteError("a checkpoint is an origin, a tree size and a root hash, one per line")
        origin, size, root = lines[0], lines[1], lines[2]
        if not size.isascii() or not size.isdigit() or (size != "0" and size.startswith("0")):
            raise NoteError(f"the checkpoint's tree size is not a number: {size!r}")
        digest = _unb64(root, "the checkpoint's root hash")
        if len(digest) != 32:
            raise NoteError("the checkpoint's root hash is not 32 bytes")
        return cls(origin, int(size), digest)


@dataclass(frozen=True)
class SignedCheckpoint:
    checkpoint: Checkpoint
    note: str
    key_name: str


def split_notes(text: str) -> list[str]:
    """The notes in a checkpoints file (each a body, an empty line, signature lines; notes
    separated by an empty line)."""
    notes: list[str] = []
    current: list[str] = []
    in_signatures = False
    for line in text.splitlines(keepends=True):
        if line == "\n":
            if in_signatures:
                notes.append("".join(current))
                current, in_signatures = [], False
            elif current:
                current.append(line)
                in_signatures = True
            continue
        current.append(line)
    if current:
        notes.append("".join(current))
    return notes


def verify_note(note: str, verifiers: list[Verifier]) -> tuple[str, str]:
    """The body of a signed note and the name of the known key that signed it; raises
    NoteError saying what is wrong otherwise."""
    body, sep, signatures = note.partition("\n\n")
    if not sep:
        raise NoteError("not a signed note (no empty line between its text and its signatures)")
    body += "\n"
    by_id = {(v.name, v.key_id): v for v in verifiers}
    seen = False
    for line in signatures.splitlines():
        if not line.startswith(DASH):
            raise NoteError(f"not a signature line: {line[:60]!r}")
        name, _, sig = line[len(DASH):].rpartition(" ")
        raw = _unb64(sig, "a signature")
        verifier = by_id.get((name, raw[:4]))
        seen = True
        if verifier is None:
            continue  # a key we do not know (a witness's cosignature, say)
        if len(raw) != 68 or not verifier.verify(body.encode(), raw[4:]):
            raise NoteError(f"the signature by {name} does not verify: the note was altered or forged")
        return body, name
    raise NoteError("no signature by a known log key" if seen else "the note has no signature")


def open_note(note: str, verifiers: list[Verifier]) -> SignedCheckpoint:
    """The checkpoint of a signed note, if a known key signed it for its own log."""
    body, name = verify_note(note, verifiers)
    checkpoint = Checkpoint.parse(body)
    if checkpoint.origin != name:
        raise NoteError(f"the checkpoint is of log '{checkpoint.origin}', signed by the key of '{name}'")
    return SignedCheckpoint(checkpoint, note, name)


def purge_body(origin: str, leaf_ranges: list[tuple[int, int]], reason: str) -> str:
    """A purge statement: which leaves' receipts were deleted, and why (signed like a checkpoint)."""
    ranges_text = ",".join(f"{a}-{b}" for a, b in leaf_ranges)
    return f"{origin}\npurge\n{ranges_text}\n{' '.join(reason.split()) or '-'}\n"


def purged_leaves(body: str) -> list[tuple[int, int]]:
    lines = body.split("\n")
    if len(lines) < 4 or lines[1] != "purge":
        raise NoteError("not a purge statement")
    try:
        return [(int(a), int(b)) for a, b in (part.split("-") for part in lines[2].split(","))]
    except ValueError:
        raise NoteError(f"a purge statement's leaf ranges are malformed: {lines[2][:60]!r}") from None


def is_purge(note: str) -> bool:
    return note.split("\n", 2)[1:2] == ["purge"]


def read_notes(path: Path, verifiers: list[Verifier]) -> tuple[list[SignedCheckpoint], list[str], list[str]]:
    """The checkpoints and the purge statements (their bodies) of a checkpoints file, each
    verified, and a problem naming each note that is not (read on past it: one bad note
    does not hide the rest of the file)."""
    found, purged, problems = [], [], []
    for number, note in enumerate(split_notes(path.read_text(encoding="utf-8", errors="replace")), 1):
        try:
            if is_purge(note):
                purged.append(verify_note(note, verifiers)[0])
            else:
                found.append(open_note(note, verifiers))
        except NoteError as exc:
            problems.append(f"{path}: note {number}: {exc}")
    return found, purged, problems


def last_checkpoint(path: Path, verifiers: list[Verifier], tail: int = 64 * 1024) -> SignedCheckpoint | None:
    """The last checkpoint of a checkpoints file that verifies, reading only as much of its
    end as it takes (the file grows by a note a second, for years)."""
    with path.open("rb") as file:
        end = file.seek(0, 2)
        while True:
            start = max(0, end - tail)
            file.seek(start)
            text = file.read(end - start).decode("utf-8", errors="replace")
            if start > 0:  # begin after the first note's end seen: a signature line, then an empty line
                first = text.find(f"\n{DASH}")
                boundary = text.find("\n\n", first + 1) if first >= 0 else -1
                text = text[boundary + 2:] if boundary >= 0 else ""
            notes = split_notes(text)
            for note in reversed(notes):
                if is_purge(note):
                    continue
                try:
                    return open_note(note, verifiers)
                except NoteError:
                    continue
            if start == 0:
                return None
            tail *= 4


def append_note(path: Path, note: str) -> None:
    """Append a signed note and an empty line to an append-only file, durably."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_NOFOLLOW, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        os.write(fd, (note + "\n").encode())
        os.fsync(fd)
    finally:
        os.close(fd)
