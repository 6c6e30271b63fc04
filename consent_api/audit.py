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
import itertools
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from . import merkle
from .checkpoint import NoteError, SignedCheckpoint, Verifier, open_note, purged_leaves, read_notes, verify_note
from .integrity import row_problems
from .receipt import canonical
from .services import Services
from .storage import check_checkpoint_row


def _given_checkpoints(svc: Services, files: list[Path], problems: list[str]
                       ) -> tuple[list[tuple[str, SignedCheckpoint]], list[tuple[str, str]]]:
    """The checkpoints and purge statements of the witness files and the database, each checked;
    every one that fails is a problem, and the rest are still read."""
    verifiers = svc.verifiers
    given: list[tuple[str, SignedCheckpoint]] = []
    purge_bodies: list[tuple[str, str]] = []
    for path in files:
        try:
            found, purges, bad = read_notes(path, verifiers)
        except (OSError, UnicodeDecodeError) as exc:
            problems.append(f"{path}: {exc}")
            continue
        problems.extend(bad)
        given += [(f"{path}: checkpoint of size {c.checkpoint.size}", c) for c in found]
        purge_bodies += [(str(path), b) for b in purges]
    for tree_size, note in svc.log.checkpoint_rows():
        checked = check_checkpoint_row(tree_size, note, verifiers)
        if isinstance(checked, str):
            problems.append(f"the database's checkpoint row of size {tree_size}: {checked}")
        else:
            given.append((f"the database's checkpoint of size {tree_size}", checked))
    for number, note in enumerate(svc.log.purge_notes(), 1):
        try:
            purge_bodies.append((f"purge record {number}", verify_note(note, verifiers)[0]))
        except NoteError as exc:
            problems.append(f"purge record {number} in the database: {exc}")
    return given, purge_bodies


def _check_nodes(svc: Services, tree: merkle.Levels, signed_size: int, problems: list[str]) -> None:
    """Every stored node against the tree recomputed from the receipts: a forged interior node
    is named as such, not blamed on the receipts under it."""
    for level, index, digest in svc.log.nodes():
        if level == 0:
            if index >= signed_size:
                problems.append(f"leaf {index}: stored beyond the latest signed checkpoint (size {signed_size}): "
                                "a leaf written outside the sealer")
            continue
        first, last = index << level, ((index + 1) << level) - 1
        if level >= len(tree.levels) or index >= len(tree.levels[level]):
            problems.append(f"node (level {level}, index {index}) of leaves {first}..{last}: the log has only "
                            f"{tree.size} leaves (a node written outside the sealer)")
        elif tree.get(level, index) != digest:
            problems.append(f"node (level {level}, index {index}): not the hash of leaves {first}..{last} (the "
                            "tree was edited)")


def audit_log(svc: Services, checkpoint_files: list[Path]) -> tuple[list[str], str]:
    """Every problem of the stored log, each naming the entry (or range) it concerns; and a summary."""
    problems: list[str] = []
    given, purge_bodies = _given_checkpoints(svc, checkpoint_files, problems)
    purged: set[int] = set()
    for where, body in purge_bodies:
        try:
            purged.update(i for a, b in purged_leaves(body) for i in range(a, b + 1))
        except NoteError as exc:
            problems.append(f"{where}: {exc}")
    signed_size = max((c.checkpoint.size for _, c in given), default=0)

    stored = svc.log.leaf_hashes()
    size = len(stored)
    leaves = list(stored)
    present: dict[int, str] = {}
    for row in svc.log.rows(by_leaf=True):
        i, where = int(row.leaf_index), f"leaf {row.leaf_index} (receipt {row.receipt_id})"
        present[i] = row.receipt_id
        found = row_problems(svc.signer, row)
        problems.extend(f"{where}: {p}" for p in found)
        if i >= signed_size:
            problems.append(f"{where}: sealed beyond the latest signed checkpoint (size {signed_size}): a leaf "
                            "given outside the sealer")
        if i >= size:
            problems.append(f"{where}: beyond the tree's {size} leaves (a receipt inserted into the log)")
            continue
        if isinstance(row.body, str):
            leaf = merkle.leaf_hash(row.body.encode("utf-8", "surrogatepass"))
            if leaf != stored[i]:
                problems.append(f"{where}: its content does not match its leaf hash (the receipt was edited)" if found
                                else f"{where}: the stored hash of this leaf is not its receipt's, which passes "
                                "its token (a node was edited)")
            leaves[i] = leaf
    held = {row.seq: row for row in svc.log.quarantined()}
    unsealed = 0
    for row in svc.log.rows():
        if row.leaf_index is not None:
            continue
        unsealed += 1
        found = row_problems(svc.signer, row)
        if row.seq in held:
            if found:
                problems.append(f"receipt row {row.seq} ({str(row.receipt_id)[:36]}): held out of the log, as it "
                                f"fails its own token: {'; '.join(found)}")
            else:
                problems.append(f"receipt {row.receipt_id}: held out of the log as failing its token ("
                                f"{held[row.seq].reason[:80]}), but it passes: an honest receipt was held back")
        else:
            problems.extend(f"unsealed receipt {row.receipt_id}: {p}" for p in found)
    for i in range(size):
        if i not in present and i not in purged:
            problems.append(f"leaf {i}: no receipt, and no signed purge statement covers it (a receipt was deleted)")

    tree = merkle.Levels(leaves)
    _check_nodes(svc, tree, signed_size, problems)
    matched = sorted({c.checkpoint.size for _, c in given
                      if c.checkpoint.size <= size and tree.root(c.checkpoint.size) == c.checkpoint.root})
    roots: dict[int, tuple[str, bytes]] = {}
    for where, signed in given:
        cp = signed.checkpoint
        if cp.origin not in {k.name for k in svc.log_keys}:
            problems.append(f"{where}: of another log ('{cp.origin}')")
            continue
        first = roots.setdefault(cp.size, (where, cp.root))
        if first[1] != cp.root:
            problems.append(f"{where} and {first[0]}: two signed checkpoints of this size disagree (the log was "
                            "forked)")
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
               f"{unsealed} receipts not sealed yet ({len(held)} held out of the log), {len(given)} checkpoints "
               "checked")
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
