"""The receipt log: append-only, hash-chained, durable before the API answers.

Each row stores ``hash = SHA-256(prev_hash || body)``, so an edited, deleted or
reordered row breaks the chain and ``verify`` names it. One writer at a time per
database appends (SQLite's write lock; PostgreSQL an advisory lock). The API's
receipt writer (writer.py) hands ``ReceiptLog.write`` every request waiting at once:
one transaction, one flush to stable storage (SQLite WAL with ``synchronous=FULL``;
PostgreSQL's default) for the whole batch, and each request is answered only after
it. ARCHITECTURE.md explains the fast path (one statement per batch).
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    BigInteger,
    Column,
    Engine,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    bindparam,
    create_engine,
    event,
    func,
    literal,
    select,
    text,
    union_all,
)
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import Connection
from sqlalchemy.pool import PoolProxiedConnection

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
# A chain never forks: two writers that both saw the same head cannot both append after it.
chain_link = Index("consent_receipts_prev_hash_unique", receipts.c.prev_hash, unique=True)
anchors = Table(
    "consent_log_anchors", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("last_seq", BigInteger, nullable=False),
    Column("last_hash", String(64), nullable=False),
    Column("purged", BigInteger, nullable=False),
    Column("purged_at", BigInteger, nullable=False),
    Column("reason", Text, nullable=False),
)


# The writer's statements, built once (building a statement costs more than running it).
_EXISTING = select(receipts).where(receipts.c.receipt_id.in_(bindparam("ids", expanding=True)))
_HEAD = select(receipts.c.hash).order_by(receipts.c.seq.desc()).limit(1)
_ANCHOR_HEAD = select(anchors.c.last_hash).order_by(anchors.c.id.desc()).limit(1)
_INSERT = receipts.insert()
_LOCK = text("SELECT pg_advisory_xact_lock(:k)")


def _append_if_head(n: int) -> Any:
    """One statement that appends n rows, in order, only if the chain's head is still
    ``:expected_head``: the lock, the check, the insert and (in autocommit) the durable
    commit in a single call to the database."""
    rows = [
        select(literal(i, Integer).label("idx"),
               *[bindparam(f"{c}_{i}", type_=receipts.c[c].type).label(c) for c in _COLUMNS])
        for i in range(n)
    ]
    batch = (union_all(*rows) if n > 1 else rows[0]).subquery("batch")
    head_now = func.coalesce(_HEAD.scalar_subquery(), _ANCHOR_HEAD.scalar_subquery(), literal(GENESIS, String))
    source = (select(*[batch.c[c] for c in _COLUMNS])
              .where(head_now == bindparam("expected_head", type_=String))
              .order_by(batch.c.idx))
    return receipts.insert().from_select(list(_COLUMNS), source)


class _Compiled:
    """A Core statement compiled once for the engine's dialect, run on the driver's cursor:
    the writer's hot path then costs the driver's time only (see ARCHITECTURE.md)."""

    def __init__(self, statement: Any, dialect: Any) -> None:
        compiled = statement.compile(dialect=dialect)
        self.sql: str = compiled.string
        self.order: tuple[str, ...] | None = compiled.positiontup
        self.defaults: dict[str, Any] = dict(compiled.params)

    def args(self, values: dict[str, Any] | None = None) -> Any:
        merged = {**self.defaults, **values} if values else self.defaults
        return [merged[k] for k in self.order] if self.order is not None else merged


_COLUMNS = ("receipt_id", "subject_id", "created_at", "request_sha256", "body", "token", "kid",
            "prev_hash", "hash")


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
    body_json: str = ""  # the canonical text of body, as stored

    @classmethod
    def from_row(cls, row: Any) -> Stored:
        return cls(row.receipt_id, row.subject_id, row.created_at, row.request_sha256,
                   json.loads(row.body), row.token, row.kid, row.hash, row.body)


class Duplicate(Exception):
    """The receipt id is stored with other content."""

    def __init__(self, stored: Stored) -> None:
        super().__init__(stored.receipt_id)
        self.stored = stored


class ReceiptLog:
    """Appends batches of receipts (one caller at a time per process) and reads them."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.postgres = engine.dialect.name == "postgresql"
        # The writer's connections: one for checked appends (a
        # transaction under the database's append lock), one in autocommit for one-statement
        # appends; both kept open.
        self._conn: Connection | None = None
        self._raw: PoolProxiedConnection | None = None
        self._appends: dict[int, _Compiled] = {}  # the one-statement append of n rows, by n
        self._lock = _Compiled(_LOCK, engine.dialect)
        self._known_head: str | None = None  # the head after this writer's last append
        dbapi_error: type[Exception] = engine.dialect.dbapi.IntegrityError  # type: ignore[union-attr]
        self._conflict = (dbapi_error, sa_exc.IntegrityError)

    def create_schema(self) -> None:
        """Create the tables, and the chain's unique index on databases made before it existed."""
        metadata.create_all(self.engine)
        chain_link.create(self.engine, checkfirst=True)

    # -- writing -----------------------------------------------------------------------

    @contextmanager
    def _writing(self) -> Iterator[Connection]:
        """A transaction that holds the database's single append lock, on the log's own
        connection (kept open between batches; dropped and re-opened after an error)."""
        if self._conn is None:
            self._conn = self.engine.connect().execution_options(immediate=True)
        conn = self._conn
        try:
            with conn.begin():
                if self.postgres:
                    conn.execute(_LOCK, {"k": ADVISORY_LOCK})
                yield conn
        except self._conflict:
            raise  # the transaction was rolled back; the connection is fine
        except Exception:
            self._conn = None
            conn.invalidate()
            conn.close()
            raise

    def write(self, news: list[NewReceipt]) -> list[Any]:
        """Append receipts in order, durably, in one transaction per BATCH; one result each:
        ``(Stored, is_new)`` or a Duplicate. One caller at a time per process: the API's
        receipt writer (consent_api/writer.py)."""
        if len(news) > BATCH:
            return [r for i in range(0, len(news), BATCH) for r in self.write(news[i:i + BATCH])]
        # Nearly always every receipt is new and this writer knows the head: one statement
        # does it. Otherwise (a client's retry, another process appended first, the first
        # batch) the checked path reads the head and the stored ids under the append lock.
        if self._known_head is not None and len({r.receipt_id for r in news}) == len(news):
            appended = self._append_if_head(news, self._known_head)
            if appended is not None:
                return appended
        for attempt in range(5):
            try:
                return self._write_checked(news)
            except self._conflict:
                # PostgreSQL: another process's one-statement append took the head between
                # our read and our insert (the unique prev_hash refused the fork); read again.
                if attempt == 4:
                    raise
        raise AssertionError("unreachable")

    def _append_if_head(self, news: list[NewReceipt], head: str) -> list[Any] | None:
        """The one-statement append; None if the head moved or a receipt id is already stored."""
        values: dict[str, Any] = {"expected_head": head}
        results = []
        for i, receipt in enumerate(news):
            digest = chain_hash(head, receipt.body_json)
            values.update({
                f"receipt_id_{i}": receipt.receipt_id, f"subject_id_{i}": receipt.subject_id,
                f"created_at_{i}": receipt.created_at, f"request_sha256_{i}": receipt.request_sha256,
                f"body_{i}": receipt.body_json, f"token_{i}": receipt.token, f"kid_{i}": receipt.kid,
                f"prev_hash_{i}": head, f"hash_{i}": digest,
            })
            stored = Stored(receipt.receipt_id, receipt.subject_id, receipt.created_at, receipt.request_sha256,
                            receipt.body, receipt.token, receipt.kid, digest, receipt.body_json)
            results.append((stored, True))
            head = digest
        statement = self._appends.get(len(news))
        if statement is None:
            statement = self._appends[len(news)] = _Compiled(_append_if_head(len(news)), self.engine.dialect)
        if self._raw is None:
            self._raw = self.engine.raw_connection()
        cursor = self._raw.cursor()
        try:
            if self.postgres:
                # The append lock too, so that checked appends of other processes, which read
                # the head and then insert, are never overtaken (the statement then commits).
                cursor.execute(self._lock.sql, self._lock.args({"k": ADVISORY_LOCK}))
            cursor.execute(statement.sql, statement.args(values))
            appended = cursor.rowcount == len(news)
            self._raw.commit()  # SQLite: autocommit already (isolation_level None), a no-op
        except self._conflict:
            self._raw.rollback()
            appended = False
        except Exception:
            self._raw.invalidate()
            self._raw = None
            raise
        finally:
            cursor.close()
        if not appended:
            self._known_head = None
            return None
        self._known_head = head
        return results

    def _write_checked(self, news: list[NewReceipt]) -> list[Any]:
        with self._writing() as conn:
            ids = [r.receipt_id for r in news]
            existing = {
                row.receipt_id: Stored.from_row(row)
                for row in conn.execute(_EXISTING, {"ids": ids})
            }
            head = self._head(conn)
            results: list[Any] = []
            rows: list[dict[str, Any]] = []
            for receipt in news:
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
                                receipt.request_sha256, receipt.body, receipt.token, receipt.kid, digest,
                                receipt.body_json)
                existing[receipt.receipt_id] = stored
                results.append((stored, True))
                head = digest
            if rows:
                conn.execute(_INSERT, rows)  # one statement for the whole batch
        self._known_head = head  # committed
        return results

    def _head(self, conn: Connection) -> str:
        last = conn.execute(_HEAD).scalar()
        if last is not None:
            return str(last)
        anchor = conn.execute(_ANCHOR_HEAD).scalar()
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
