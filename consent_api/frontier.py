"""What the sealer checks before it extends the tree: that the database's tree is the one of the
last checkpoint it trusts (the verified frontier), and that nothing was written outside it."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import bindparam, or_, select

from consent_log import merkle
from consent_log.checkpoint import SignedCheckpoint

from .schema import checkpoints, leaves, nodes
from .storage import ReceiptLog
from .tree import fetch_nodes, log

CHECKPOINT_BATCH = 1000  # checkpoint rows that fail their check, removed in one turn at most
_BEYOND = select(leaves.c.leaf_index, leaves.c.seq).where(leaves.c.leaf_index >= bindparam("size")).limit(1)


class LogTampered(Exception):
    """The database disagrees with what the sealer has checked: it must sign nothing more."""


@dataclass(frozen=True)
class Frontier:
    """A verified state of the tree: a checkpoint signed with the log key, and the stored
    right-edge nodes that reproduce its root (all that new leaves combine with)."""

    signed: SignedCheckpoint | None  # None: the empty tree
    edge: dict[tuple[int, int], bytes]

    @property
    def size(self) -> int:
        return self.signed.checkpoint.size if self.signed else 0


def edge_of(size: int) -> list[tuple[int, int]]:
    """The complete subtrees along the right edge of a tree of ``size`` leaves, as (level, index)."""
    return [(level, (size >> level) - 1) for level in range(size.bit_length()) if size >> level & 1]


def latest_in_db(conn: Any, log_: ReceiptLog, mine: SignedCheckpoint | None) -> SignedCheckpoint | None:
    """The database's latest checkpoint that verifies. Rows above it that do not (garbage, a
    note copied to another size, another key's) are logged and removed: they are no
    checkpoint, and left in place one would take the next size's row."""
    bad: list[Any] = []
    found: SignedCheckpoint | None = None
    query = select(checkpoints.c.tree_size, checkpoints.c.note).order_by(checkpoints.c.tree_size.desc())
    for row in conn.execute(query.limit(CHECKPOINT_BATCH)):
        if mine is not None and row.note == mine.note and row.tree_size == mine.checkpoint.size:
            found = mine  # the very note this sealer signed or checked: no signature to check again
            break
        found = log_.open_checkpoint(row.tree_size, row.note)
        if found is not None:
            break
        bad.append(row.tree_size)
    if bad:
        log.error("consent log: removing %d checkpoint row(s) that do not verify, above the latest that does "
                  "(sizes %s)", len(bad), bad[:10])
        conn.execute(checkpoints.delete().where(checkpoints.c.tree_size.in_(bad)))
    if found is None and len(bad) == CHECKPOINT_BATCH:
        raise LogTampered(f"the database's latest {CHECKPOINT_BATCH} checkpoint rows do not verify")
    return found

def checked_frontier(conn: Any, log_: ReceiptLog, trusted: SignedCheckpoint | None, current: Frontier | None,
                 checkpoints_file: Path) -> Frontier:
    """The tree to extend, proven to be the one of ``trusted`` (the last checkpoint the
    sealer trusts); ``current`` (the sealer's own frontier) when nothing changed since;
    LogTampered when the database says otherwise."""
    latest = latest_in_db(conn, log_, current.signed if current else None)
    size = latest.checkpoint.size if latest else 0
    if trusted is not None:
        old = trusted.checkpoint
        if latest is None or size < old.size:
            raise LogTampered(f"the database's latest checkpoint is of size {size}, but a checkpoint of size "
                              f"{old.size} was signed: checkpoints or leaves were removed (a rollback; or, if "
                              f"this database replaced the log's on purpose, {checkpoints_file} is the "
                              "old log's: move it aside)")
        if size == old.size and latest.checkpoint.root != old.root:
            raise LogTampered(f"the database's checkpoint of size {size} is not the one signed (a fork)")
        if size > old.size:
            try:
                proof = log_.consistency_proof(old.size, size, conn)
            except LookupError as exc:
                raise LogTampered(f"no consistency proof from size {old.size} to {size}: {exc}") from None
            if not merkle.verify_consistency(old.size, size, old.root, latest.checkpoint.root, proof):
                raise LogTampered(f"the database's checkpoint of size {size} is not consistent with the "
                                  f"checkpoint of size {old.size} (the log was forked or rewritten)")
    if current is not None and current.size == size and current.signed == latest:
        # The edge this sealer computed itself, in the tree it signed last: nothing to read back.
        # A row or node an insider wrote outside that tree since collides with what this turn
        # writes (a unique key), which halts sealing then (_turn); none is signed.
        return current
    try:
        edge = fetch_nodes(conn, edge_of(size))
    except LookupError as exc:
        raise LogTampered(f"the tree of size {size} cannot be extended: {exc}") from None
    root = merkle.root(lambda lv, ix: edge[lv, ix], size) if size else merkle.EMPTY_ROOT
    if latest is not None and root != latest.checkpoint.root:
        raise LogTampered(f"the stored nodes of the tree's right edge {sorted(edge)} do not reproduce the "
                          f"signed root of size {size}: a node of the tree was edited")
    frontier = Frontier(latest, edge)
    beyond = conn.execute(_BEYOND, {"size": size}).first()
    if beyond is not None:
        raise LogTampered(f"receipt row {beyond.seq} is given leaf {beyond.leaf_index}, beyond the signed tree of "
                          f"size {size}: a receipt was given a leaf outside the sealer (or a checkpoint was removed)")
    levels = size.bit_length()
    outside = or_(nodes.c.level >= levels, nodes.c.level < 0,
                  *((nodes.c.level == level) & (nodes.c.idx >= size >> level) for level in range(levels)))
    node = conn.execute(select(nodes.c.level, nodes.c.idx).where(outside).limit(1)).first()
    if node is not None:
        raise LogTampered(f"the database holds node (level {node.level}, index {node.idx}), which is not in the "
                          f"signed tree of size {size}: a node was written outside the sealer (or a checkpoint "
                          "was removed)")
    return frontier
