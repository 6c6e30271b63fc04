"""The consent log in the database: receipts, the Merkle tree over them, its checkpoints.

A request inserts its receipt in one durable statement (SQLite WAL with
``synchronous=FULL``; PostgreSQL's default ``synchronous_commit``) and is answered after
it: no chain head, nothing shared by every receipt. The sealer (sealer.py, one at a time)
later gives unsealed receipts their leaf index, stores the tree's new nodes and a signed
checkpoint of the new size. Receipts are never updated by the API except to record their
leaf index; a retention purge deletes receipts but keeps their leaf hashes, so the tree
and every checkpoint still verify. Every checkpoint read back is checked by its signature
(``checkpoint``): whoever can write the database may have written it.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import logging
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

from consent_log import merkle
from consent_log.checkpoint import NoteError, SignedCheckpoint, Verifier, open_note

from .errors import ConfigError
from .groupcommit import GroupCommit
from .receipt import report_columns

log = logging.getLogger("consent_api.log")

CHECKPOINT_SCAN = 16  # rows read past at most when the latest checkpoint rows do not verify

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
quarantine = Table(
    "consent_log_quarantine", metadata,  # rows the sealer refused a leaf: kept, flagged, reported
    Column("seq", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=False),
    Column("reason", Text, nullable=False),
    Column("created_at", BigInteger, nullable=False),
)
_EXISTING = select(receipts).where(receipts.c.receipt_id.in_(bindparam("ids", expanding=True)))
_INSERT = receipts.insert()


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

    def __init__(self, engine: Engine, verifiers: list[Verifier]) -> None:
        self.engine = engine
        self.verifiers = verifiers  # the log's public keys: every checkpoint read back is checked with them
        self._reported: set[tuple[Any, str]] = set()
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
        with self.writing() as conn:
            for column in REPORT_COLUMNS:
                kind = receipts.c[column].type.compile(dialect=self.engine.dialect)
                conn.exec_driver_sql(f"ALTER TABLE consent_receipts ADD COLUMN {column} {kind}")
        last = 0
        while True:
            with self.writing() as conn:
                rows = conn.execute(select(receipts.c.seq, receipts.c.body).where(receipts.c.seq > last)
                                    .order_by(receipts.c.seq).limit(5000)).all()
                if not rows:
                    break
                conn.execute(receipts.update().where(receipts.c.seq == bindparam("s")),
                             [{"s": r.seq, **report_columns(json.loads(r.body))} for r in rows])
                last = rows[-1].seq
        with self.writing() as conn:
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

    # -- the tree: read by the sealer (sealer.py) and the proofs; written only by the sealer --

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

    # -- held out of the log ----------------------------------------------------------------

    def quarantined(self) -> list[Any]:
        """The rows the sealer refused a leaf (their token does not vouch for them), with why."""
        query = (select(receipts, quarantine.c.reason, quarantine.c.created_at.label("quarantined_at"))
                 .join(quarantine, quarantine.c.seq == receipts.c.seq).order_by(receipts.c.seq))
        with self.engine.connect() as conn:
            return list(conn.execute(query))

    def quarantine_count(self) -> int:
        with self.engine.connect() as conn:
            return int(conn.execute(select(func.count()).select_from(quarantine)).scalar_one())

    # -- retention ---------------------------------------------------------------------------

    def purge(self, leaves: list[int], statement: Any) -> str:
        """Delete the receipts of these sealed leaves (chosen and checked by retention.py); their
        leaf hashes stay in the tree. ``statement(leaf_ranges)`` signs what was purged; it is
        stored with the purge, in the same transaction."""
        note = str(statement(ranges(leaves)))
        with self.writing() as conn:
            conn.execute(purges.insert(), {"note": note, "created_at": int(time.time())})
            for chunk in range(0, len(leaves), 5000):
                conn.execute(receipts.delete().where(receipts.c.leaf_index.in_(leaves[chunk:chunk + 5000])))
        return note

    def purge_notes(self) -> list[str]:
        with self.engine.connect() as conn:
            return [str(n) for n in conn.execute(select(purges.c.note).order_by(purges.c.id)).scalars()]


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


def ranges(indices: list[int]) -> list[tuple[int, int]]:
    """Sorted indices as inclusive ranges: [0, 1, 2, 5] -> [(0, 2), (5, 5)]."""
    found: list[tuple[int, int]] = []
    for i in indices:
        if found and found[-1][1] == i - 1:
            found[-1] = (found[-1][0], i)
        else:
            found.append((i, i))
    return found
