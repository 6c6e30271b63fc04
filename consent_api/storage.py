"""The receipt log: append-only, hash-chained, durable before the API answers.

Each row stores ``hash = SHA-256(prev_hash || body)``, so an edited, deleted or
reordered row breaks the chain and ``verify`` names it. One writer at a time per
database appends (SQLite ``BEGIN IMMEDIATE``; PostgreSQL an advisory lock), and
each process batches concurrent appends into one transaction: one flush to
stable storage (SQLite WAL with ``synchronous=FULL``; PostgreSQL's default)
covers the whole batch, and every request in it is answered only after it.
"""

from __future__ import annotations

import hashlib
import json
import queue
import threading
import time
from collections.abc import Iterator
from concurrent.futures import Future
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    BigInteger,
    Column,
    Engine,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    create_engine,
    event,
    func,
    select,
    text,
)
from sqlalchemy.engine import Connection

GENESIS = "0" * 64
ADVISORY_LOCK = 7_240_531  # any constant: the PostgreSQL lock that serialises appends
BATCH = 256

metadata = MetaData()
receipts = Table(
    "consent_receipts", metadata,
    Column("seq", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
    Column("receipt_id", String(36), nullable=False, unique=True),
    Column("subject_id", String(36), nullable=False, index=True),
    Column("created_at", BigInteger, nullable=False, index=True),
    Column("request_sha256", String(64), nullable=False),
    Column("body", Text, nullable=False),
    Column("token", Text, nullable=False),
    Column("kid", String(64), nullable=False),
    Column("prev_hash", String(64), nullable=False),
    Column("hash", String(64), nullable=False),
)
anchors = Table(
    "consent_log_anchors", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("last_seq", BigInteger, nullable=False),
    Column("last_hash", String(64), nullable=False),
    Column("purged", BigInteger, nullable=False),
    Column("purged_at", BigInteger, nullable=False),
    Column("reason", Text, nullable=False),
)


def canonical(data: Any) -> str:
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def chain_hash(prev_hash: str, body: str) -> str:
    return hashlib.sha256((prev_hash + body).encode()).hexdigest()


def engine_for(url: str) -> Engine:
    """An engine configured for durable appends on SQLite or PostgreSQL."""
    if url.startswith("postgresql://") or url.startswith("postgres://"):
        url = "postgresql+psycopg://" + url.split("://", 1)[1]
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})

        @event.listens_for(engine, "connect")
        def _sqlite_connect(dbapi: Any, _record: Any) -> None:
            dbapi.isolation_level = None  # transactions are begun below, as IMMEDIATE
            cursor = dbapi.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=FULL")
            cursor.execute("PRAGMA busy_timeout=30000")
            cursor.close()

        @event.listens_for(engine, "begin")
        def _sqlite_begin(conn: Connection) -> None:
            immediate = conn.get_execution_options().get("immediate")
            conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

        return engine
    return create_engine(url, pool_size=10, max_overflow=10, pool_pre_ping=True)


@dataclass(frozen=True)
class NewReceipt:
    receipt_id: str
    subject_id: str
    created_at: int
    request_sha256: str
    body: dict[str, Any]
    body_json: str  # canonical(body), computed once by the caller
    token: str
    kid: str


@dataclass(frozen=True)
class Stored:
    receipt_id: str
    subject_id: str
    created_at: int
    request_sha256: str
    body: dict[str, Any]
    token: str
    kid: str
    hash: str

    @classmethod
    def from_row(cls, row: Any) -> Stored:
        return cls(row.receipt_id, row.subject_id, row.created_at, row.request_sha256,
                   json.loads(row.body), row.token, row.kid, row.hash)


class Duplicate(Exception):
    """The receipt id is stored with other content."""

    def __init__(self, stored: Stored) -> None:
        super().__init__(stored.receipt_id)
        self.stored = stored


class ReceiptLog:
    """Appends (group-committed) and reads receipts."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.postgres = engine.dialect.name == "postgresql"
        self._queue: queue.Queue[tuple[NewReceipt, Future[tuple[Stored, bool]]]] = queue.Queue()
        self._writer: threading.Thread | None = None
        self._start = threading.Lock()

    def create_schema(self) -> None:
        metadata.create_all(self.engine)

    # -- writing -----------------------------------------------------------------------

    def append(self, receipt: NewReceipt, timeout: float = 30.0) -> tuple[Stored, bool]:
        """Store ``receipt`` durably; returns it and whether it is new. Raises Duplicate."""
        self._ensure_writer()
        done: Future[tuple[Stored, bool]] = Future()
        self._queue.put((receipt, done))
        return done.result(timeout)

    def _ensure_writer(self) -> None:
        if self._writer is not None and self._writer.is_alive():
            return
        with self._start:
            if self._writer is None or not self._writer.is_alive():
                self._writer = threading.Thread(target=self._run, name="receipt-writer", daemon=True)
                self._writer.start()

    def _run(self) -> None:
        while True:
            batch = [self._queue.get()]
            while len(batch) < BATCH:
                try:
                    batch.append(self._queue.get_nowait())
                except queue.Empty:
                    break
            try:
                results = self._write(batch)
            except Exception as exc:
                for _, done in batch:
                    done.set_exception(exc)
                continue
            for (_, done), result in zip(batch, results, strict=True):
                if isinstance(result, Exception):
                    done.set_exception(result)
                else:
                    done.set_result(result)

    @contextmanager
    def _writing(self) -> Iterator[Connection]:
        """A transaction that holds the database's single append lock."""
        with self.engine.connect() as conn:
            conn.execution_options(immediate=True)
            with conn.begin():
                if self.postgres:
                    conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": ADVISORY_LOCK})
                yield conn

    def _write(self, batch: list[tuple[NewReceipt, Future[tuple[Stored, bool]]]]) -> list[Any]:
        with self._writing() as conn:
            ids = [r.receipt_id for r, _ in batch]
            existing = {
                row.receipt_id: Stored.from_row(row)
                for row in conn.execute(select(receipts).where(receipts.c.receipt_id.in_(ids)))
            }
            head = self._head(conn)
            results: list[Any] = []
            rows: list[dict[str, Any]] = []
            for receipt, _ in batch:
                found = existing.get(receipt.receipt_id)
                if found is not None:
                    same = found.request_sha256 == receipt.request_sha256
                    results.append((found, False) if same else Duplicate(found))
                    continue
                digest = chain_hash(head, receipt.body_json)
                rows.append({
                    "receipt_id": receipt.receipt_id, "subject_id": receipt.subject_id,
                    "created_at": receipt.created_at, "request_sha256": receipt.request_sha256,
                    "body": receipt.body_json, "token": receipt.token, "kid": receipt.kid,
                    "prev_hash": head, "hash": digest,
                })
                stored = Stored(receipt.receipt_id, receipt.subject_id, receipt.created_at,
                                receipt.request_sha256, receipt.body, receipt.token, receipt.kid, digest)
                existing[receipt.receipt_id] = stored
                results.append((stored, True))
                head = digest
            if rows:
                conn.execute(receipts.insert(), rows)  # one statement for the whole batch
            return results

    def _head(self, conn: Connection) -> str:
        last = conn.execute(select(receipts.c.hash).order_by(receipts.c.seq.desc()).limit(1)).scalar()
        if last is not None:
            return str(last)
        anchor = conn.execute(select(anchors.c.last_hash).order_by(anchors.c.id.desc()).limit(1)).scalar()
        return str(anchor) if anchor is not None else GENESIS

    # -- reading -----------------------------------------------------------------------

    def get(self, receipt_id: str) -> Stored | None:
        with self.engine.connect() as conn:
            row = conn.execute(select(receipts).where(receipts.c.receipt_id == receipt_id)).first()
        return Stored.from_row(row) if row is not None else None

    def for_subject(self, subject_id: str) -> list[Stored]:
        with self.engine.connect() as conn:
            rows = conn.execute(select(receipts).where(receipts.c.subject_id == subject_id)
                                .order_by(receipts.c.seq))
            return [Stored.from_row(r) for r in rows]

    def count(self) -> int:
        with self.engine.connect() as conn:
            return int(conn.execute(select(func.count()).select_from(receipts)).scalar_one())

    def rows(self, since: int | None = None, until: int | None = None) -> Iterator[Any]:
        query = select(receipts).order_by(receipts.c.seq)
        if since is not None:
            query = query.where(receipts.c.created_at >= since)
        if until is not None:
            query = query.where(receipts.c.created_at < until)
        with self.engine.connect() as conn:
            yield from conn.execution_options(yield_per=500).execute(query)

    def anchor(self) -> tuple[int, str]:
        """Where the chain starts: after the last purged row, or at genesis."""
        with self.engine.connect() as conn:
            row = conn.execute(select(anchors).order_by(anchors.c.id.desc()).limit(1)).first()
        return (int(row.last_seq), str(row.last_hash)) if row is not None else (0, GENESIS)

    def purge_before(self, cutoff: int, reason: str) -> int:
        """Delete the oldest receipts created before ``cutoff``, as a prefix of the chain, and
        record where the remaining chain now starts (so it still verifies)."""
        with self._writing() as conn:
            first_kept = conn.execute(
                select(func.min(receipts.c.seq)).where(receipts.c.created_at >= cutoff)
            ).scalar()
            bound = receipts.c.seq < first_kept if first_kept is not None else receipts.c.seq >= 0
            last = conn.execute(select(receipts.c.seq, receipts.c.hash).where(bound)
                                .order_by(receipts.c.seq.desc()).limit(1)).first()
            if last is None:
                return 0
            count = conn.execute(select(func.count()).select_from(receipts).where(bound)).scalar_one()
            conn.execute(anchors.insert().values(last_seq=last.seq, last_hash=last.hash, purged=count,
                                                 purged_at=int(time.time()), reason=reason))
            conn.execute(receipts.delete().where(bound))
            return int(count)
