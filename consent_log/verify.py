"""Anyone's check of a downloaded receipt, with no database and no secret: its inclusion
proof, a signed checkpoint, the log's public key, and (optionally) consistency proofs
between every checkpoint given.
"""

from __future__ import annotations

import base64
import binascii
import itertools
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from . import merkle
from .checkpoint import NoteError, SignedCheckpoint, Verifier, open_note
from .leaf import canonical


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


Consistency = Callable[[int, int], list[bytes]]  # a consistency proof between two sizes, fetched


def _agreeing(signed: list[tuple[str, SignedCheckpoint]], consistency: Consistency | None) -> list[str]:
    """Check every pair of checkpoints: equal sizes have equal roots, and each size is
    consistent with the next (RFC 9162 consistency proofs, fetched with ``consistency``);
    ReceiptCheckError names both checkpoints of any disagreement. The pairs left unchecked
    (no way to fetch their proof)."""
    by_size: dict[int, tuple[str, SignedCheckpoint]] = {}
    for where, found in signed:
        first = by_size.setdefault(found.checkpoint.size, (where, found))
        if first[1].checkpoint.root != found.checkpoint.root:
            raise ReceiptCheckError(f"{first[0]} and {where} are two signed checkpoints of size "
                                    f"{found.checkpoint.size} that disagree: the log was forked")
    unchecked = []
    sizes = sorted(by_size)
    for old, new in itertools.pairwise(sizes):
        (old_where, old_cp), (new_where, new_cp) = by_size[old], by_size[new]
        if consistency is None:
            unchecked.append(f"{old}->{new}")
            continue
        try:
            proof = consistency(old, new)
        except (OSError, ValueError, KeyError, TypeError, binascii.Error) as exc:
            raise ReceiptCheckError(f"the consistency proof from size {old} to {new} could not be fetched ({exc})"
                                    ) from None
        if not merkle.verify_consistency(old, new, old_cp.checkpoint.root, new_cp.checkpoint.root, proof):
            raise ReceiptCheckError(f"{old_where} and {new_where} are not consistent: the log of {new} receipts "
                                    f"does not extend the log of {old} (it was forked or rewritten)")
    return unchecked


def verify_receipt(download: dict[str, Any], verifiers: list[Verifier], checkpoint_notes: list[str] | None = None,
                   consistency: Consistency | None = None) -> str:
    """Check a downloaded receipt's inclusion proof against a signed checkpoint of its tree size
    (the one the download carries, or one of ``checkpoint_notes``), after checking that every
    checkpoint given agrees with every other; a sentence saying what was proven, or
    ReceiptCheckError saying what failed."""
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
    candidates = [("the download's checkpoint", str(proof["checkpoint"]))] if proof.get("checkpoint") else []
    candidates += [(f"checkpoint {n} of the checkpoints given", note)
                   for n, note in enumerate(checkpoint_notes or [], 1)]
    signed, bad = [], []
    for where, note in candidates:
        try:
            signed.append((where, open_note(note, verifiers)))
        except NoteError as exc:
            bad.append(f"{where}: {exc}")
    unchecked = _agreeing(signed, consistency)
    chosen = next((c for _, c in signed if c.checkpoint.size == size), None)
    if chosen is None:
        sizes = ", ".join(map(str, sorted({c.checkpoint.size for _, c in signed})[-5:])) or "none"
        reasons = "; " + "; ".join(bad[:3]) if bad else ""
        raise ReceiptCheckError(f"no signed checkpoint of tree size {size} (sizes {sizes}{reasons}); download the "
                                "receipt's proof against one of them (/api/v1/log/proof/inclusion?tree_size=)")
    leaf = merkle.leaf_hash(canonical(receipt).encode("utf-8", "surrogatepass"))
    if not merkle.verify_inclusion(leaf, index, size, hashes, chosen.checkpoint.root):
        raise ReceiptCheckError(f"the receipt is NOT leaf {index} of the checkpoint of size {size}: the receipt "
                                "or its proof was altered")
    said = (f"receipt {receipt.get('consentReceiptID')} is leaf {index} of the log {chosen.checkpoint.origin}, "
            f"in its checkpoint of {size} receipts signed by {chosen.key_name}")
    if len(signed) > 1:
        said += f"; the {len(signed)} checkpoints given agree"
    if unchecked:
        said += (f" (consistency between sizes {', '.join(unchecked)} not checked: pass --api with the site's URL to "
                 "fetch the proofs)")
    if bad:
        said += f"; {len(bad)} note(s) skipped, not verified: {'; '.join(bad[:3])}"
    return said


def fetch_consistency(base_url: str) -> Consistency:
    """Consistency proofs from the API at ``base_url`` (the site's URL, whose /api/ serves them)."""
    import urllib.parse
    import urllib.request

    def fetch(old: int, new: int) -> list[bytes]:
        query = urllib.parse.urlencode({"from": old, "to": new})
        with urllib.request.urlopen(f"{base_url.rstrip('/')}/api/v1/log/proof/consistency?{query}",
                                    timeout=30) as answer:
            data = json.loads(answer.read(1 << 20))
        if data.get("from") != old or data.get("to") != new:
            raise ValueError(f"the API answered a proof of {data.get('from')}->{data.get('to')}")
        return [base64.b64decode(h, validate=True) for h in data["hashes"]]

    return fetch
