"""Verifying the consent log.

``audit_log``: the operator's check, with the database and the keys. It recomputes the
whole tree from the receipts and holds it against every checkpoint it is given (copies
kept off the machine: the database may have been rewritten, so its own copies are checked
but never trusted), against the checkpoints' signatures, and every receipt against its
token.

Anyone's check of a downloaded receipt is ``consent_log.verify``.
"""

from __future__ import annotations

from pathlib import Path

from consent_log import merkle
from consent_log.checkpoint import (
    NoteError,
    SignedCheckpoint,
    purged_leaves,
    read_notes,
    verify_note,
)

from .integrity import row_problems
from .services import Services
from .tree import check_checkpoint_row


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
    for row in svc.log.relisted():
        problems.append(f"receipt {row.receipt_id}: listed as waiting for the sealer although it is leaf "
                        f"{row.leaf_index} (an entry written outside the API)")
    for row in svc.log.unlisted():
        problems.append(f"receipt {row.receipt_id}: neither sealed, nor waiting for the sealer, nor held out of the "
                        "log (its entry in consent_log_pending was removed): it would never be sealed")
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
