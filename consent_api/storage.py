"""The consent log in the database: receipts, the Merkle tree over them, its checkpoints.

A request inserts its receipt in one durable statement (SQLite WAL with
``synchronous=FULL``; PostgreSQL's default ``synchronous_commit``) and is answered after
it: no chain head, nothing shared by every receipt. The sealer (``seal``, one at a time)
later gives unsealed receipts their leaf index, stores the tree's new nodes and a signed
checkpoint of the new size. Receipts are never updated by the API except to record their
leaf index; a retention purge deletes receipts but keeps their leaf hashes, so the tree
and every checkpoint still verify.
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

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Engine,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    bindparam,
    create_engine,
    event,
    func,
    inspect,
    select,
    text,
    tuple_,
)
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import Connection

from . import merkle
from .checkpoint import Checkpoint, LogKey
from .errors import ConfigError
from .groupcommit import GroupCommit

SEALER_LOCK = 7_240_532  # any constant: the PostgreSQL advisory lock that makes one sealer at a time
SEAL_BATCH = 20_000  # receipts sealed in one transaction at most

metadata = MetaData()
receipts = Table(
    "consent_receipts", metadata,
    Column("seq", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
    Column("receipt_id", String(36), nullable=False, unique=True),
    Column("subject_id", String(36), nullable=False, index=True),
    Column("created_at", BigInteger, nullable=False, index=True),
    Column("request_sha256", String(64), nullable=False),
    Column("body", Text, nullable=False),  # the receipt in canonical JSON: the Merkle leaf
    Column("token", Text, nullable=False),
    Column("kid", String(64), nullable=False),
    Column("leaf_index", BigInteger, nullable=True, unique=True),  # set once, when sealed
    # What the operator's report groups by, copied from the body when the receipt is stored
    # (report_columns); not part of the leaf: `verify` checks they agree with the body.
    Column("created_day", Integer),  # created_at's UTC day (days since 1970-01-01)
    Column("method", String(16)),
    Column("gpc", Boolean),
    Column("policy_id", String(64)),
    Column("policy_version", String(64)),
    Column("config_revision", String(64)),
    Column("choices", String(512)),  # "advertising=0,analytics=1,necessary=1": categories sorted
)
#: The report reads this index alone (a covering index): a year of receipts without their bodies,
#: in the order of its GROUP BY (by day first: SQLite groups by sorting, unless an index is in order).
report_index = Index("ix_consent_receipts_report", *(receipts.c[name] for name in (
    "created_day", "method", "gpc", "policy_id", "policy_version", "config_revision", "choices", "subject_id", "seq")))
REPORT_COLUMNS = ("created_day", "method", "gpc", "policy_id", "policy_version", "config_revision", "choices")
nodes = Table(
    "consent_log_nodes", metadata,  # every complete subtree's hash; level 0 are the leaves
    Column("level", Integer, primary_key=True, autoincrement=False),
    Column("idx", BigInteger, primary_key=True, autoincrement=False),
    Column("hash", LargeBinary(32), nullable=False),
)
checkpoints = Table(
    "consent_log_checkpoints", metadata,
    Column("tree_size", BigInteger, primary_key=True, autoincrement=False),
    Column("note", Text, nullable=False),
    Column("created_at", BigInteger, nullable=False),
)
purges = Table(
    "consent_log_purges", metadata,  # each a statement signed with the log key
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("note", Text, nullable=False),
    Column("created_at", BigInteger, nullable=False),
)
_EXISTING = select(receipts).where(receipts.c.receipt_id.in_(bindparam("ids", expanding=True)))
_INSERT = receipts.insert()
_UNSEALED = select(receipts.c.seq, receipts.c.body).where(receipts.c.leaf_index.is_(None))
_SIZE = select(func.coalesce(func.max(checkpoints.c.tree_size), 0))  # every seal signs a checkpoint


def canonical(data: Any) -> str:
    """RFC 8785 canonical JSON for receipts (ASCII keys, no floats): sorted keys, no spaces."""
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def report_columns(body: dict[str, Any]) -> dict[str, Any]:
    """The receipt's fields the operator's report groups by, from its body."""
    return {"created_day": body["consentTimestamp"] // 86_400, "method": body["collectionMethod"],
            "gpc": bool(body["gpc"]), "policy_id": body["policy"]["id"],
            "policy_version": body["policy"]["version"], "config_revision": body["configRevision"],
            "choices": ",".join(f"{k}={int(bool(v))}" for k, v in sorted(body["choices"].items()))}


def engine_for(url: str) -> Engine:
    """An engine configured for durable writes on SQLite or PostgreSQL."""
    if url.startswith("postgresql://") or url.startswith("postgres://"):
        url = "postgresql+psycopg://" + url.split("://", 1)[1]
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})

        @event.listens_for(engine, "connect")
        def _sqlite_connect(dbapi: Any, _record: Any) -> None:
            dbapi.isolation_level = None  # transactions are begun below
            cursor = dbapi.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=FULL")
            cursor.execute("PRAGMA busy_timeout=30000")
            # Large sorts (the consent report's GROUP BY and window) may use helper threads:
            # the year's report on 1,000,000 receipts took 7.3-9.4 s without, 6.8-7.8 s with (2 cores).
            cursor.execute("PRAGMA threads=2")
            cursor.close()

        @event.listens_for(engine, "begin")
        def _sqlite_begin(conn: Connection) -> None:
            immediate = conn.get_execution_options().get("immediate")
            conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

        return engine
    return create_engine(url, pool_size=20, max_overflow=10, pool_pre_ping=True)


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


class ReceiptLog:
    """Inserts and reads receipts; seals them into the tree; proves inclusion and consistency."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
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
        """Create the tables (safe to run again); refuses a database of the earlier hash-chained log."""
        receipts_table = inspect(self.engine).has_table("consent_receipts") and inspect(self.engine).get_columns(
            "consent_receipts")
        if receipts_table and "leaf_index" not in {c["name"] for c in receipts_table}:
            raise ConfigError("the database holds a receipt log of an earlier version (a hash chain, without "
                              "leaf_index): export it ('flask --app consent_api export' of that version) and start "
                              "this version on a new database")
        metadata.create_all(self.engine)
        if receipts_table and "choices" not in {c["name"] for c in receipts_table}:
            self._add_report_columns()

    def _add_report_columns(self) -> None:
        """A database of the version before the report: add its columns, fill them from the
        bodies (a batch per transaction), then index them."""
        with self._writing() as conn:
            for column in REPORT_COLUMNS:
                kind = receipts.c[column].type.compile(dialect=self.engine.dialect)
                conn.exec_driver_sql(f"ALTER TABLE consent_receipts ADD COLUMN {column} {kind}")
        last = 0
        while True:
            with self._writing() as conn:
                rows = conn.execute(select(receipts.c.seq, receipts.c.body).where(receipts.c.seq > last)
                                    .order_by(receipts.c.seq).limit(5000)).all()
                if not rows:
                    break
                conn.execute(receipts.update().where(receipts.c.seq == bindparam("s")),
                             [{"s": r.seq, **report_columns(json.loads(r.body))} for r in rows])
                last = rows[-1].seq
        with self._writing() as conn:
            report_index.create(conn, checkfirst=True)

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
    def _writing(self, *, locked: bool = False) -> Iterator[Connection]:
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
        with self._writing(locked=locked) as conn:
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
                conn.execute(_INSERT, rows)
        return results

    # -- reading ---------------------------------------------------------------------------

    def get(self, receipt_id: str) -> Stored | None:
        with self.engine.connect() as conn:
            row = conn.execute(select(receipts).where(receipts.c.receipt_id == receipt_id)).first()
        return Stored.from_row(row) if row is not None else None

    def for_subject(self, subject_id: str, *, after: int = 0, limit: int | None = None) -> list[Stored]:
        query = (select(receipts).where(receipts.c.subject_id == subject_id, receipts.c.seq > after)
                 .order_by(receipts.c.seq))
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
        query = select(receipts)
        if by_leaf:
            query = query.where(receipts.c.leaf_index.is_not(None)).order_by(receipts.c.leaf_index)
        else:
            query = query.order_by(receipts.c.seq)
        if since is not None:
            query = query.where(receipts.c.created_at >= since)
        if until is not None:
            query = query.where(receipts.c.created_at < until)
        with self.engine.connect() as conn:
            yield from conn.execution_options(yield_per=1000).execute(query)

    # -- the tree ------------------------------------------------------------------------------

    def seal(self, key: LogKey, *, batch: int = SEAL_BATCH) -> str | None:
        """Give every unsealed receipt (up to ``batch``) its leaf, and sign a checkpoint of the
        new tree: the checkpoint's note, or None when nothing was sealed or another sealer is
        at work (PostgreSQL: across every process and machine)."""
        with self.engine.connect() as conn:  # most turns find nothing: no write lock for those
            if conn.execute(_UNSEALED.limit(1)).first() is None:
                return None
        with self._writing() as conn:
            if self.postgres and not conn.execute(text("SELECT pg_try_advisory_xact_lock(:k)"),
                                                  {"k": SEALER_LOCK}).scalar():
                return None
            pending = conn.execute(_UNSEALED.order_by(receipts.c.seq).limit(batch)).all()
            if not pending:
                return None
            size = int(conn.execute(_SIZE).scalar_one())
            # The right edge of the tree: the only stored nodes new leaves combine with.
            edge = [(level, (size >> level) - 1) for level in range(size.bit_length()) if size >> level & 1]
            known = self._fetch(conn, edge)
            added: list[dict[str, Any]] = []
            for offset, row in enumerate(pending):
                for level, index, digest in merkle.append(lambda lv, ix: known[lv, ix], size + offset,
                                                          merkle.leaf_hash(row.body.encode())):
                    known[level, index] = digest
                    added.append({"level": level, "idx": index, "hash": digest})
            conn.execute(nodes.insert(), added)
            conn.execute(receipts.update().where(receipts.c.seq == bindparam("s")).values(leaf_index=bindparam("i")),
                         [{"s": row.seq, "i": size + offset} for offset, row in enumerate(pending)])
            new_size = size + len(pending)
            body = Checkpoint(key.name, new_size, merkle.root(lambda lv, ix: known[lv, ix], new_size)).body()
            note = key.sign_note(body)
            conn.execute(checkpoints.insert(), {"tree_size": new_size, "note": note, "created_at": int(time.time())})
        return note

    def tree_size(self) -> int:
        with self.engine.connect() as conn:
            return int(conn.execute(_SIZE).scalar_one())

    def checkpoint(self, size: int | None = None) -> str | None:
        """The signed checkpoint note of that size (default: the latest)."""
        query = select(checkpoints.c.note)
        query = (query.where(checkpoints.c.tree_size == size) if size is not None
                 else query.order_by(checkpoints.c.tree_size.desc()).limit(1))
        with self.engine.connect() as conn:
            note = conn.execute(query).scalar()
        return str(note) if note is not None else None

    def checkpoint_notes(self) -> list[str]:
        with self.engine.connect() as conn:
            return [str(n) for n in conn.execute(select(checkpoints.c.note).order_by(checkpoints.c.tree_size))
                    .scalars()]

    def inclusion_proof(self, leaf_index: int, size: int) -> list[bytes]:
        return self._prove(lambda get: merkle.inclusion_proof(get, leaf_index, size))

    def consistency_proof(self, old: int, new: int) -> list[bytes]:
        return self._prove(lambda get: merkle.consistency_proof(get, old, new))

    def leaf_hashes(self) -> list[bytes]:
        with self.engine.connect() as conn:
            return [bytes(h) for h in conn.execute(select(nodes.c.hash).where(nodes.c.level == 0)
                                                   .order_by(nodes.c.idx)).scalars()]

    def _prove(self, proof: Any) -> list[bytes]:
        """Run a proof twice: once to learn which stored nodes it reads, once on them, fetched
        in one query (a proof reads a few dozen nodes; one query each would be as many trips)."""
        wanted: list[tuple[int, int]] = []

        def record(level: int, index: int) -> bytes:
            wanted.append((level, index))
            return b"\x00" * 32

        proof(record)
        with self.engine.connect() as conn:
            known = self._fetch(conn, wanted)
        found: list[bytes] = proof(lambda level, index: known[level, index])
        return found

    @staticmethod
    def _fetch(conn: Connection, keys: list[tuple[int, int]]) -> dict[tuple[int, int], bytes]:
        if not keys:
            return {}
        rows = conn.execute(select(nodes).where(tuple_(nodes.c.level, nodes.c.idx).in_(keys)))
        found = {(r.level, r.idx): bytes(r.hash) for r in rows}
        missing = [k for k in keys if k not in found]
        if missing:
            raise LookupError(f"the log's tree is missing node(s) {missing[:5]} (level, index)")
        return found

    # -- retention ---------------------------------------------------------------------------

    def purge_before(self, cutoff: int, statement: Any) -> tuple[int, str | None]:
        """Delete sealed receipts created before ``cutoff``; their leaf hashes stay in the tree.
        ``statement(leaf_ranges)`` signs what was purged; it is stored with the purge."""
        with self._writing() as conn:
            where = (receipts.c.created_at < cutoff) & receipts.c.leaf_index.is_not(None)
            leaves = sorted(int(i) for i in conn.execute(select(receipts.c.leaf_index).where(where)).scalars())
            if not leaves:
                return 0, None
            note = str(statement(ranges(leaves)))
            conn.execute(purges.insert(), {"note": note, "created_at": int(time.time())})
            conn.execute(receipts.delete().where(where))
        return len(leaves), note

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
