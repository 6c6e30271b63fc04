"""Verifying the consent log.

``audit_log``: the operator's check, with the database and the keys. It recomputes the
whole tree from the receipts and holds it against every checkpoint it is given (copies
kept off the machine: the database may have been rewritten, so its own copies are checked
but never trusted), against the checkpoints' signatures, and every receipt against its
token.

``verify_receipt``: anyone's check, with no database and no secret: a downloaded receipt,
its inclusion proof, a signed checkpoint and the log's public key.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from pathlib import Path
from typing import Any

from . import merkle
from .checkpoint import NoteError, SignedCheckpoint, Verifier, open_note, purged_leaves, read_notes, verify_note
from .services import Services
from .storage import canonical, report_columns


def _token_problem(svc: Services, row: Any, body_json: str) -> str | None:
    verified = svc.signer.verify(row.token)
    if verified is None:
        return "its token is not genuine (a receipt the API never issued, or its key was removed)"
    if (verified[0].get("rid") != row.receipt_id
            or verified[0].get("sha") != hashlib.sha256(body_json.encode()).hexdigest()):
        return "its token was issued for other content (the receipt was edited)"
    return None


def _report_problem(row: Any, body_json: str) -> bool:
    try:
        expected = report_columns(json.loads(body_json))
    except (KeyError, TypeError):
        return True
    return any(getattr(row, name) != value for name, value in expected.items())


def audit_log(svc: Services, checkpoint_files: list[Path]) -> tuple[list[str], str]:
    """Every problem of the stored log, each naming the entry (or range) it concerns; and a summary."""
    problems: list[str] = []
    verifiers = svc.verifiers
    given: list[tuple[str, SignedCheckpoint]] = []
    purge_bodies: list[tuple[str, str]] = []
    for path in checkpoint_files:
        try:
            found, purges = read_notes(path, verifiers)
        except (NoteError, OSError, UnicodeDecodeError) as exc:
            problems.append(f"{path}: {exc}")
            continue
        given += [(f"{path}: checkpoint of size {c.checkpoint.size}", c) for c in found]
        purge_bodies += [(str(path), b) for b in purges]
    for number, note in enumerate(svc.log.purge_notes(), 1):
        try:
            purge_bodies.append((f"purge record {number}", verify_note(note, verifiers)[0]))
        except NoteError as exc:
            problems.append(f"purge record {number} in the database: {exc}")
    purged: set[int] = set()
    for where, body in purge_bodies:
        try:
            purged.update(i for a, b in purged_leaves(body) for i in range(a, b + 1))
        except NoteError as exc:
            problems.append(f"{where}: {exc}")

    stored = svc.log.leaf_hashes()
    size = len(stored)
    leaves = list(stored)
    present: dict[int, str] = {}
    for row in svc.log.rows(by_leaf=True):
        i, where = int(row.leaf_index), f"leaf {row.leaf_index} (receipt {row.receipt_id})"
        try:
            body_json = canonical(json.loads(row.body))
        except ValueError:
            problems.append(f"{where}: its body is not JSON (the row is corrupt)")
            present[i] = row.receipt_id
            continue
        if i >= size:
            problems.append(f"{where}: beyond the tree's {size} leaves (a receipt inserted into the log)")
            continue
        leaf = merkle.leaf_hash(body_json.encode())
        if leaf != stored[i]:
            problems.append(f"{where}: its content does not match its leaf hash (the receipt was edited)")
        leaves[i] = leaf
        present[i] = row.receipt_id
        if _report_problem(row, body_json):
            problems.append(f"{where}: its report columns disagree with its content (the consent report would "
                            "count it as something it is not)")
        problem = _token_problem(svc, row, body_json)
        if problem:
            problems.append(f"{where}: {problem}")
    unsealed = 0
    for row in svc.log.rows():
        if row.leaf_index is not None:
            continue
        unsealed += 1
        try:
            problem = _token_problem(svc, row, canonical(json.loads(row.body)))
        except ValueError:
            problem = "its body is not JSON (the row is corrupt)"
        if problem:
            problems.append(f"unsealed receipt {row.receipt_id}: {problem}")
    for i in range(size):
        if i not in present and i not in purged:
            problems.append(f"leaf {i}: no receipt, and no signed purge statement covers it (a receipt was deleted)")

    tree = merkle.Levels(leaves)
    for number, note in enumerate(svc.log.checkpoint_notes(), 1):
        try:
            own = open_note(note, verifiers)
        except NoteError as exc:
            problems.append(f"checkpoint record {number} in the database: {exc}")
            continue
        given.append((f"the database's checkpoint of size {own.checkpoint.size}", own))
    matched = sorted({c.checkpoint.size for _, c in given
                      if c.checkpoint.size <= size and tree.root(c.checkpoint.size) == c.checkpoint.root})
    roots: dict[int, bytes] = {}
    for where, signed in given:
        cp = signed.checkpoint
        if cp.origin != svc.log_keys[-1].name and cp.origin not in {k.name for k in svc.log_keys}:
            problems.append(f"{where}: of another log ('{cp.origin}')")
            continue
        if roots.setdefault(cp.size, cp.root) != cp.root:
            problems.append(f"{where}: two signed checkpoints of this size disagree (the log was forked)")
        if cp.size > size:
            problems.append(f"{where}: the log has only {size} leaves: leaves {size}..{cp.size - 1} are missing "
                            "(the log was truncated)")
        elif cp.size not in matched:
            low = max([m for m in matched if m < cp.size], default=0)
            ids = [present.get(i, "purged") for i in range(low, min(cp.size, low + 5))]
            problems.append(f"{where}: the log's first {cp.size} leaves do not match it: a receipt among leaves "
                            f"{low}..{cp.size - 1} (receipts {', '.join(ids)}{', ...' if cp.size - low > 5 else ''})"
                            " was edited, deleted, inserted or reordered")
    summary = (f"{size} leaves ({len(present)} receipts, {len([i for i in range(size) if i not in present])} purged), "
               f"{unsealed} receipts not sealed yet, {len(given)} checkpoints checked")
    return problems, summary


# -- offline -------------------------------------------------------------------------------


class ReceiptCheckError(Exception):
    """The receipt is not proven to be in the log; the message says why."""


def read_verifiers(path: Path) -> list[Verifier]:
    """The log's keys from ``consent-log.pub`` (one verifier key per line) or ``consent-log.json``."""
    text = path.read_text(encoding="utf-8")
    try:
        if path.suffix == ".json":
            return [Verifier.parse(k["verifier"]) for k in json.loads(text)["keys"]]
        return [Verifier.parse(line) for line in text.splitlines() if line.strip()]
    except (NoteError, ValueError, KeyError, TypeError) as exc:
        raise ReceiptCheckError(f"{path}: not a log key ({exc})") from None


def verify_receipt(download: dict[str, Any], verifiers: list[Verifier],
                   checkpoint_notes: list[str] | None = None) -> str:
    """Check a downloaded receipt's inclusion proof against a signed checkpoint of its tree size
    (from ``checkpoint_notes``, else the one the download carries); a sentence saying what was
    proven, or ReceiptCheckError saying what failed."""
    receipt, proof = download.get("receipt"), download.get("proof")
    if not isinstance(receipt, dict):
        raise ReceiptCheckError("the file has no 'receipt' object: is it a receipt downloaded from the receipt page?")
    if not isinstance(proof, dict):
        raise ReceiptCheckError("the receipt has no proof yet (it is sealed within seconds: download it again)")
    try:
        index, size = int(proof["leaf_index"]), int(proof["tree_size"])
        hashes = [base64.b64decode(h, validate=True) for h in proof["hashes"]]
    except (KeyError, TypeError, ValueError, binascii.Error) as exc:
        raise ReceiptCheckError(f"the proof is malformed ({exc})") from None
    notes = checkpoint_notes if checkpoint_notes is not None else [str(proof.get("checkpoint", ""))]
    sizes = []
    signed = None
    for note in notes:
        try:
            candidate = open_note(note, verifiers)
        except NoteError as exc:
            if checkpoint_notes is None or len(notes) == 1:
                raise ReceiptCheckError(f"the checkpoint: {exc}") from None
            continue
        sizes.append(candidate.checkpoint.size)
        if candidate.checkpoint.size == size:
            signed = candidate
    if signed is None:
        raise ReceiptCheckError(f"no signed checkpoint of tree size {size} among the checkpoints given "
                                f"(sizes {', '.join(map(str, sizes[-5:])) or 'none'}); download the receipt's "
                                "proof against one of them (/api/v1/log/proof/inclusion?tree_size=)")
    leaf = merkle.leaf_hash(canonical(receipt).encode())
    if not merkle.verify_inclusion(leaf, index, size, hashes, signed.checkpoint.root):
        raise ReceiptCheckError(f"the receipt is NOT leaf {index} of the checkpoint of size {size}: the receipt "
                                "or its proof was altered")
    return (f"receipt {receipt.get('consentReceiptID')} is leaf {index} of the log {signed.checkpoint.origin}, "
            f"in its checkpoint of {size} receipts signed by {signed.key_name}")
