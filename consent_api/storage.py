"""The consent log in the database: receipts, the Merkle tree over them, its checkpoints.

A request inserts its receipt in one durable statement (SQLite WAL with
``synchronous=FULL``; PostgreSQL's default ``synchronous_commit``) and is answered after
it: no chain head, nothing shared by every receipt. The sealer (sealer.py, one at a time)
later gives unsealed receipts their leaf index, stores the tree's new nodes and a signed
checkpoint of the new size (tree.py reads them back). Receipts are never updated by the
API except to record their leaf index; a retention purge deletes receipts but keeps their
leaf hashes, so the tree and every checkpoint still verify.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, bindparam, exists, func, select, text
from sqlalchemy import exc as sa_exc
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Connection

from consent_log.checkpoint import Verifier

from .groupcommit import GroupCommit
from .migrations import create_schema
from .schema import WITH_LEAF, leaves, pending, purges, quarantine, receipts
from .tree import LogTree

_EXISTING = WITH_LEAF.where(receipts.c.receipt_id.in_(bindparam("ids", expanding=True)))
_INSERT = receipts.insert()


@dataclass(frozen=True)
class NewReceipt:
    receipt_id: str
    subject_id: str
    created_at: int
    request_sha256: str
    body_json: str  # canonical(receipt)
    token: str
    kid: str
    report: dict[str, Any]  # report_columns(receipt), computed where the receipt is built


@dataclass(frozen=True)
class Stored:
    receipt_id: str
    subject_id: str
    created_at: int
    request_sha256: str
    body_json: str
    token: str
    kid: str
    leaf_index: int | None
    seq: int = 0  # the row's place in insertion order (a history page's cursor); 0 before it is read back

    @property
    def body(self) -> dict[str, Any]:
        found: dict[str, Any] = json.loads(self.body_json)
        return found

    @classmethod
    def from_row(cls, row: Any) -> Stored:
        return cls(row.receipt_id, row.subject_id, row.created_at, row.request_sha256, row.body, row.token,
                   row.kid, row.leaf_index, row.seq)


class Duplicate(Exception):
    """The receipt id is stored with other content."""

    def __init__(self, stored: Stored) -> None:
        super().__init__(stored.receipt_id)
        self.stored = stored


class ReceiptLog(LogTree):
    """Inserts and reads receipts (the tree they are sealed into, its checkpoints and proofs:
    ``LogTree``)."""

    def __init__(self, engine: Engine, verifiers: list[Verifier]) -> None:
        super().__init__(engine, verifiers)
        self.postgres = engine.dialect.name == "postgresql"
        database = engine.url.database if engine.dialect.name == "sqlite" else None
        # SQLite has one writer at a time. Its busy handler sleeps and polls (1, 2, 5... ms),
        # which under load gave a p99 over a second; an exclusive file lock around each write
        # queues the writers of every process and thread of this machine instead.
        self._lock_path = Path(f"{database}.write-lock") if database and database != ":memory:" else None
        # The receipts a process's request threads store at the same moment share one transaction
        # (groupcommit.py), on SQLite under the machine's write lock. On PostgreSQL too: its WAL
        # flush serves concurrent commits together, but each request's own round trips (begin,
        # select, insert, commit) under one GIL held one process to 115-153 receipts/s and two
        # to 188-209; shared, 168-219 and 357-430 (bench/bench_api.py).
        self._group: GroupCommit[NewReceipt, tuple[Stored, bool] | Exception] = GroupCommit(
            self._store_batch, self._machine_lock)

    def create_schema(self) -> None:
        """Create the tables (safe to run again), bringing an earlier version's database up to date."""
        create_schema(self)

    @contextmanager
    def _machine_lock(self) -> Iterator[None]:
        """SQLite: the exclusive file lock every writer of this machine takes (nothing on PostgreSQL)."""
        if self._lock_path is None:
            yield
            return
        with self._lock_path.open("a") as lock:  # one open file each: excludes threads too
            fcntl.flock(lock, fcntl.LOCK_EX)
            yield

    @contextmanager
    def writing(self, *, locked: bool = False) -> Iterator[Connection]:
        """A write transaction (SQLite: begun IMMEDIATE, under the machine lock unless ``locked``)."""
        with contextlib.ExitStack() as stack:
            if not locked:
                stack.enter_context(self._machine_lock())
            conn = stack.enter_context(self.engine.connect().execution_options(immediate=True))
            stack.enter_context(conn.begin())
            yield conn

    # -- the request path ----------------------------------------------------------------

    def insert(self, new: NewReceipt) -> tuple[Stored, bool]:
        """Store a receipt durably: (stored, True); a retry of a stored one: (stored, False);
        the same id with other content: Duplicate. Concurrent receipts of this process share
        one commit (groupcommit.py)."""
        result = self._group.submit(new)
        if isinstance(result, Exception):
            raise result
        return result

    def _store_batch(self, batch: list[NewReceipt]) -> list[tuple[Stored, bool] | Exception]:
        """The batch in one transaction. If the database is down, every receipt of it fails (503
        each); if anything else fails (another process stored one of these receipts since the
        SELECT, or the database refused one), each is stored alone: a failure is only its own."""
        try:
            return list(self._store(batch, locked=True))
        except sa_exc.OperationalError:
            raise
        except Exception:
            return [self._store_alone(new) for new in batch]

    def _store_alone(self, new: NewReceipt) -> tuple[Stored, bool] | Exception:
        try:
            [result] = self._store([new], locked=True)
            return result
        except Exception as exc:  # answered to its own request (a 500 or 503), not to the batch
            return exc

    def _store(self, batch: list[NewReceipt], *, locked: bool = False) -> list[tuple[Stored, bool] | Duplicate]:
        """Insert the receipts not stored yet, in one durable transaction; one result each."""
        with self.writing(locked=locked) as conn:
            stored = {row.receipt_id: Stored.from_row(row)
                      for row in conn.execute(_EXISTING, {"ids": list({n.receipt_id for n in batch})})}
            rows, results = [], []
            for new in batch:
                found = stored.get(new.receipt_id)
                if found is not None:
                    results.append((found, False) if found.request_sha256 == new.request_sha256 else Duplicate(found))
                    continue
                rows.append({"receipt_id": new.receipt_id, "subject_id": new.subject_id,
                             "created_at": new.created_at, "request_sha256": new.request_sha256,
                             "body": new.body_json, "token": new.token, "kid": new.kid, **new.report})
                stored[new.receipt_id] = Stored(new.receipt_id, new.subject_id, new.created_at, new.request_sha256,
                                                new.body_json, new.token, new.kid, None)
                results.append((stored[new.receipt_id], True))
            if rows:
                self._insert(conn, rows)
        return results

    def _insert(self, conn: Connection, rows: list[dict[str, Any]]) -> None:
        """Insert the receipts and list them as pending for the sealer. PostgreSQL in one
        statement (one round trip: the receipts' insert is a CTE whose new seqs go to pending);
        SQLite, on this machine, in two. A pending entry already there for the seq (an insider's,
        or left by a deleted row whose seq SQLite gives again) stands for the new row: it is
        kept, not a reason to refuse the receipt."""
        if self.postgres:
            new = receipts.insert().values(rows).returning(receipts.c.seq).cte("new")
            conn.execute(pg_insert(pending).from_select(["seq"], select(new.c.seq)).add_cte(new)
                         .on_conflict_do_nothing())
        else:
            seqs = conn.execute(_INSERT.returning(receipts.c.seq), rows).scalars().all()
            conn.execute(sqlite_insert(pending).on_conflict_do_nothing(), [{"seq": seq} for seq in seqs])

    # -- reading ---------------------------------------------------------------------------

    def get(self, receipt_id: str) -> Stored | None:
        with self.engine.connect() as conn:
            row = conn.execute(WITH_LEAF.where(receipts.c.receipt_id == receipt_id)).first()
        return Stored.from_row(row) if row is not None else None

    def for_subject(self, subject_id: str, *, after: int = 0, limit: int | None = None) -> list[Stored]:
        query = WITH_LEAF.where(receipts.c.subject_id == subject_id, receipts.c.seq > after).order_by(receipts.c.seq)
        if limit is not None:
            query = query.limit(limit)
        with self.engine.connect() as conn:
            return [Stored.from_row(r) for r in conn.execute(query)]

    def ping(self) -> None:
        """Raise if the database does not answer."""
        with self.engine.connect() as conn:
            conn.execute(text("SELECT 1"))

    def rows(self, since: int | None = None, until: int | None = None, *, by_leaf: bool = False) -> Iterator[Any]:
        """Receipts as rows, by insertion (or, sealed ones only, by leaf index)."""
        query = WITH_LEAF
        if by_leaf:
            query = query.where(leaves.c.leaf_index.is_not(None)).order_by(leaves.c.leaf_index)
        else:
            query = query.order_by(receipts.c.seq)
        if since is not None:
            query = query.where(receipts.c.created_at >= since)
        if until is not None:
            query = query.where(receipts.c.created_at < until)
        with self.engine.connect() as conn:
            yield from conn.execution_options(yield_per=1000).execute(query)

    # -- held out of the log ----------------------------------------------------------------

    def quarantined(self) -> list[Any]:
        """The rows the sealer refused a leaf (their token does not vouch for them), with why."""
        query = (WITH_LEAF.add_columns(quarantine.c.reason, quarantine.c.created_at.label("quarantined_at"))
                 .join(quarantine, quarantine.c.seq == receipts.c.seq).order_by(receipts.c.seq))
        with self.engine.connect() as conn:
            return list(conn.execute(query))

    def unlisted(self) -> list[Any]:
        """Receipts neither sealed, nor pending, nor held: taken out of the sealer's way (for ``verify``)."""
        query = WITH_LEAF.where(leaves.c.leaf_index.is_(None), ~exists().where(pending.c.seq == receipts.c.seq),
                                ~exists().where(quarantine.c.seq == receipts.c.seq)).order_by(receipts.c.seq)
        with self.engine.connect() as conn:
            return list(conn.execute(query))

    def quarantine_count(self) -> int:
        with self.engine.connect() as conn:
            return int(conn.execute(select(func.count()).select_from(quarantine)).scalar_one())

    # -- retention ---------------------------------------------------------------------------

    def purge(self, indexes: list[int], statement: Any) -> str:
        """Delete the receipts of these sealed leaves (chosen and checked by retention.py); their
        leaf hashes stay in the tree. ``statement(leaf_ranges)`` signs what was purged; it is
        stored with the purge, in the same transaction."""
        note = str(statement(ranges(indexes)))
        with self.writing() as conn:
            conn.execute(purges.insert(), {"note": note, "created_at": int(time.time())})
            for chunk in range(0, len(indexes), 5000):
                sealed = select(leaves.c.seq).where(leaves.c.leaf_index.in_(indexes[chunk:chunk + 5000]))
                conn.execute(receipts.delete().where(receipts.c.seq.in_(sealed)))
        return note

    def purge_notes(self) -> list[str]:
        with self.engine.connect() as conn:
            return [str(n) for n in conn.execute(select(purges.c.note).order_by(purges.c.id)).scalars()]


def ranges(indices: list[int]) -> list[tuple[int, int]]:
    """Sorted indices as inclusive ranges: [0, 1, 2, 5] -> [(0, 2), (5, 5)]."""
    found: list[tuple[int, int]] = []
    for i in indices:
        if found and found[-1][1] == i - 1:
            found[-1] = (found[-1][0], i)
        else:
            found.append((i, i))
    return found
