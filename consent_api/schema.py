"""The consent log's tables, and the engine: durable writes on SQLite (WAL, ``synchronous=FULL``,
transactions begun IMMEDIATE when they write) or PostgreSQL."""

from __future__ import annotations

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
    create_engine,
    event,
    select,
)
from sqlalchemy.engine import Connection

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
    # What the operator's report groups by, copied from the body when the receipt is stored
    # (report_columns); not part of the leaf: `verify` checks they agree with the body.
    Column("created_day", Integer),  # created_at's UTC day (days since 1970-01-01)
    Column("method", String(16)),
    Column("gpc", Boolean),
    Column("policy_id", String(64)),
    Column("policy_version", String(64)),
    Column("config_revision", String(64)),
    Column("choices", String(512)),  # "advertising=0,analytics=1,necessary=1": categories sorted
    Column("language", String(35)),  # the language the banner and dialog were shown in
    # A seq is never given twice (SQLite would reuse the highest after a delete): the leaves and
    # pending tables name receipts by it.
    sqlite_autoincrement=True,
)
#: The report reads this index alone (a covering index): a year of receipts without their bodies,
#: in the order of its GROUP BY (by day first: SQLite groups by sorting, unless an index is in order).
report_index = Index("ix_consent_receipts_report", *(receipts.c[name] for name in (
    "created_day", "method", "gpc", "policy_id", "policy_version", "config_revision", "choices", "language",
    "subject_id", "seq")))
REPORT_COLUMNS = ("created_day", "method", "gpc", "policy_id", "policy_version", "config_revision", "choices",
                  "language")
SEQ = BigInteger().with_variant(Integer, "sqlite")
#: A receipt's place in the tree, written once by the sealer: a row of its own, so that sealing
#: inserts two small index entries instead of rewriting the receipt's row and its six indexes.
leaves = Table(
    "consent_log_leaves", metadata,
    Column("leaf_index", BigInteger, primary_key=True, autoincrement=False),
    Column("seq", SEQ, nullable=False, unique=True),
)
#: Receipts stored and not sealed yet: inserted with the receipt, deleted when the sealer gives
#: it a leaf (or holds it out of the log). A receipt neither here, nor a leaf, nor held was
#: taken out of the sealer's way: ``verify`` names it.
pending = Table(
    "consent_log_pending", metadata,
    Column("seq", SEQ, primary_key=True, autoincrement=False),
)
#: A receipt row with its leaf index (None until sealed).
WITH_LEAF = (select(*receipts.c, leaves.c.leaf_index)
             .select_from(receipts.outerjoin(leaves, leaves.c.seq == receipts.c.seq)))
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
    Column("seq", SEQ, primary_key=True, autoincrement=False),
    Column("reason", Text, nullable=False),
    Column("created_at", BigInteger, nullable=False),
)
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
    # No ping per checkout (a round trip on every request): a connection the server dropped
    # fails its request with a 503 (the widget retries it) and SQLAlchemy then replaces every
    # connection of the pool; pool_recycle retires them before a firewall would drop them idle.
    engine = create_engine(url, pool_size=20, max_overflow=10, pool_recycle=1800)

    @event.listens_for(engine, "connect")
    def _postgres_connect(dbapi: Any, _record: Any) -> None:
        # Lists (storage's one array per column) go in PostgreSQL's binary format: the text
        # format escapes every quote of every receipt body, in Python and again in the server.
        from psycopg.types.array import ListBinaryDumper

        dbapi.adapters.register_dumper(list, ListBinaryDumper)

    return engine
