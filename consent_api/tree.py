"""The Merkle tree as the database holds it, read back through its checks: checkpoints by their
signatures (whoever can write the database may have written them), nodes for proofs. Only
the sealer (sealer.py) writes it."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

from sqlalchemy import Engine, select, tuple_
from sqlalchemy.engine import Connection

from consent_log import merkle
from consent_log.checkpoint import NoteError, SignedCheckpoint, Verifier, open_note

from .schema import checkpoints, nodes

log = logging.getLogger("consent_api.log")

CHECKPOINT_SCAN = 16  # rows read past at most when the latest checkpoint rows do not verify


class LogTree:
    """The tree's checkpoints and nodes, and the proofs built from them."""

    def __init__(self, engine: Engine, verifiers: list[Verifier]) -> None:
        self.engine = engine
        self.verifiers = verifiers  # the log's public keys: every checkpoint read back is checked with them
        self._reported: set[tuple[Any, str]] = set()


    def tree_size(self) -> int:
        """The size of the latest checkpoint that verifies (0 before the first)."""
        latest = self.checkpoint()
        return latest.checkpoint.size if latest is not None else 0

    def checkpoint(self, size: int | None = None) -> SignedCheckpoint | None:
        """The signed checkpoint of that size (default: the latest), read back through its
        signature check: a row that fails (malformed, another key, a size column that is not its
        note's) is reported and skipped, never served or built on."""
        query = select(checkpoints.c.tree_size, checkpoints.c.note)
        query = (query.where(checkpoints.c.tree_size == size) if size is not None
                 else query.order_by(checkpoints.c.tree_size.desc()).limit(CHECKPOINT_SCAN))
        with self.engine.connect() as conn:
            rows = conn.execute(query).all()
        for row in rows:
            found = self.open_checkpoint(row.tree_size, row.note)
            if found is not None:
                return found
        return None

    def open_checkpoint(self, tree_size: Any, note: Any) -> SignedCheckpoint | None:
        """A checkpoint row, verified; None (and an error in the log) when it does not verify."""
        problem = check_checkpoint_row(tree_size, note, self.verifiers)
        if isinstance(problem, SignedCheckpoint):
            return problem
        if (tree_size, problem) not in self._reported:
            self._reported.add((tree_size, problem))
            log.error("consent log: the database's checkpoint row of size %s is skipped: %s", tree_size, problem)
        return None

    def checkpoint_rows(self) -> list[tuple[Any, Any]]:
        """Every checkpoint row as stored (size column, note), unchecked: for ``verify``."""
        with self.engine.connect() as conn:
            return [(r.tree_size, r.note) for r in conn.execute(select(checkpoints).order_by(checkpoints.c.tree_size))]

    def inclusion_proof(self, leaf_index: int, size: int) -> list[bytes]:
        return self._prove(lambda get: merkle.inclusion_proof(get, leaf_index, size))

    def consistency_proof(self, old: int, new: int, conn: Connection | None = None) -> list[bytes]:
        return self._prove(lambda get: merkle.consistency_proof(get, old, new), conn)

    def nodes(self) -> Iterator[tuple[int, int, bytes]]:
        """Every stored node (level, index, hash), leaves first, each level in order."""
        with self.engine.connect() as conn:
            for r in conn.execution_options(yield_per=5000).execute(select(nodes).order_by(nodes.c.level, nodes.c.idx)):
                yield int(r.level), int(r.idx), bytes(r.hash)

    def leaf_hashes(self) -> list[bytes]:
        with self.engine.connect() as conn:
            return [bytes(h) for h in conn.execute(select(nodes.c.hash).where(nodes.c.level == 0)
                                                   .order_by(nodes.c.idx)).scalars()]

    def _prove(self, proof: Any, conn: Connection | None = None) -> list[bytes]:
        """Run a proof twice: once to learn which stored nodes it reads, once on them, fetched
        in one query (a proof reads a few dozen nodes; one query each would be as many trips)."""
        wanted: list[tuple[int, int]] = []

        def record(level: int, index: int) -> bytes:
            wanted.append((level, index))
            return b"\x00" * 32

        proof(record)
        if conn is None:
            with self.engine.connect() as own:
                known = fetch_nodes(own, wanted)
        else:
            known = fetch_nodes(conn, wanted)
        found: list[bytes] = proof(lambda level, index: known[level, index])
        return found


def fetch_nodes(conn: Connection, keys: list[tuple[int, int]]) -> dict[tuple[int, int], bytes]:
    """The stored nodes at these (level, index) positions; LookupError names any missing."""
    if not keys:
        return {}
    rows = conn.execute(select(nodes).where(tuple_(nodes.c.level, nodes.c.idx).in_(keys)))
    found = {(r.level, r.idx): bytes(r.hash) for r in rows}
    missing = [k for k in keys if k not in found]
    if missing:
        raise LookupError(f"the log's tree is missing node(s) {missing[:5]} (level, index)")
    return found


def check_checkpoint_row(tree_size: Any, note: Any, verifiers: list[Verifier]) -> SignedCheckpoint | str:
    """A checkpoint row's signed checkpoint, or what is wrong with it."""
    if not isinstance(note, str):
        return "its note is not text"
    try:
        signed = open_note(note, verifiers)
    except NoteError as exc:
        return str(exc)
    if signed.checkpoint.size != tree_size:
        return f"its note is of size {signed.checkpoint.size}, its row says {tree_size} (a row copied or moved)"
    return signed
