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
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, bindparam, exists, func, select, text
from sqlalchemy import exc as sa_exc
from sqlalchemy.dialects import postgresql
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Connection

from consent_log.checkpoint import Verifier

from .groupcommit import GroupCommit
from .migrations import create_schema
from .receipt import Duplicate, NewReceipt, Stored
from .schema import WITH_LEAF, leaves, pending, purges, quarantine, receipts
from .tree import LogTree

_EXISTING = WITH_LEAF.where(receipts.c.receipt_id.in_(bindparam("ids", expanding=True)))
_INSERT = receipts.insert()
_PG_COLUMNS = [c.name for c in receipts.columns if c.name != "seq"]
_PG_STORE = text(  # the receipts given as one array per column; the names and types are the table's
    "WITH new AS (INSERT INTO consent_receipts ({names}) SELECT * FROM unnest({arrays}) "
    "ON CONFLICT (receipt_id) DO NOTHING RETURNING seq, receipt_id), "
    "listed AS (INSERT INTO consent_log_pending (seq) SELECT seq FROM new ON CONFLICT DO NOTHING) "
    "SELECT receipt_id FROM new".format(
        names=", ".join(_PG_COLUMNS),
        arrays=", ".join(f"CAST(:{c} AS {receipts.c[c].type.compile(dialect=postgresql.dialect())}[])"  # type: ignore[no-untyped-call]
                         for c in _PG_COLUMNS)))


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
        """Insert the receipts not stored yet, durably; one result each. SQLite: read which are
        stored, insert the others and list them as pending for the sealer, in one transaction.
        PostgreSQL: ``_store_at_once``."""
        if self.postgres:
            return self._store_at_once(batch)
        with self.writing(locked=locked) as conn:
            stored = {row.receipt_id: Stored.from_row(row)
                      for row in conn.execute(_EXISTING, {"ids": list({n.receipt_id for n in batch})})}
            new = [n for n in _first_of_each(batch) if n.receipt_id not in stored]
            if new:
                seqs = conn.execute(_INSERT.returning(receipts.c.seq), [_row(n) for n in new]).scalars().all()
                # A pending entry already there for the seq (an insider's) stands for the new row.
                conn.execute(sqlite_insert(pending).on_conflict_do_nothing(), [{"seq": seq} for seq in seqs])
        return _results(batch, {n.receipt_id for n in new}, stored)

    def _store_at_once(self, batch: list[NewReceipt]) -> list[tuple[Stored, bool] | Duplicate]:
        """PostgreSQL, in one statement and one round trip (autocommit: durable when it returns):
        insert the receipts whose id is new, list them as pending, return their ids; only when
        some id was stored already, a second statement reads those (a retry, or a Duplicate).
        The rows go as one array per column (``unnest``): one statement text for every batch
        size, prepared once. Measured (bench_api, PostgreSQL 1x16, one API process, which is
        CPU-bound): SELECT, INSERT, BEGIN and COMMIT of a transaction gave 328 receipts/s
        against SQLite's 521; one statement with a VALUES list per batch, compiled by SQLAlchemy
        every time (15% of the process's time), 411 against 666."""
        rows = [_row(n) for n in _first_of_each(batch)]
        with self.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            inserted = set(conn.execute(_PG_STORE, {c: [r[c] for r in rows] for c in _PG_COLUMNS}).scalars())
            others = list({n.receipt_id for n in batch} - inserted)
            stored = ({row.receipt_id: Stored.from_row(row) for row in conn.execute(_EXISTING, {"ids": others})}
                      if others else {})
        return _results(batch, inserted, stored)

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

    def relisted(self) -> list[Any]:
        """Receipts listed as pending although they have their leaf (an entry written outside the API)."""
        query = (WITH_LEAF.where(leaves.c.leaf_index.is_not(None), exists().where(pending.c.seq == receipts.c.seq))
                 .order_by(receipts.c.seq))
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


def _row(new: NewReceipt) -> dict[str, Any]:
    return {"receipt_id": new.receipt_id, "subject_id": new.subject_id, "created_at": new.created_at,
            "request_sha256": new.request_sha256, "body": new.body_json, "token": new.token, "kid": new.kid,
            **new.report}


def _first_of_each(batch: list[NewReceipt]) -> list[NewReceipt]:
    """The batch with one receipt per id (the first): two requests of one id in a batch are a
    receipt and its retry, or a conflict."""
    return list({n.receipt_id: n for n in reversed(batch)}.values())[::-1]


def _results(batch: list[NewReceipt], inserted: set[str],
             stored: dict[str, Stored]) -> list[tuple[Stored, bool] | Duplicate]:
    """Each request's answer: its receipt just stored (True), the stored one it repeats (False),
    or Duplicate when the stored receipt of its id has other content."""
    stored = dict(stored)
    results: list[tuple[Stored, bool] | Duplicate] = []
    for new in batch:
        found = stored.get(new.receipt_id)
        if found is None and new.receipt_id in inserted:
            stored[new.receipt_id] = Stored(new.receipt_id, new.subject_id, new.created_at, new.request_sha256,
                                            new.body_json, new.token, new.kid, None)
            results.append((stored[new.receipt_id], True))
        elif found is None:  # refused and not stored: the batch falls back to one receipt at a time
            raise LookupError(f"receipt {new.receipt_id} was neither inserted nor found")
        else:
            results.append((found, False) if found.request_sha256 == new.request_sha256 else Duplicate(found))
    return results


def ranges(indices: list[int]) -> list[tuple[int, int]]:
    """Sorted indices as inclusive ranges: [0, 1, 2, 5] -> [(0, 2), (5, 5)]."""
    found: list[tuple[int, int]] = []
    for i in indices:
        if found and found[-1][1] == i - 1:
            found[-1] = (found[-1][0], i)
        else:
            found.append((i, i))
    return found
