"""Creating the consent log's tables, and bringing a database of an earlier version up to this
one (run by ``flask --app consent_api init-db``, and at start in development)."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from sqlalchemy import bindparam, inspect, or_, select

from .errors import ConfigError
from .receipt import report_columns
from .schema import REPORT_COLUMNS, metadata, receipts, report_index

if TYPE_CHECKING:
    from .storage import ReceiptLog


def create_schema(log: ReceiptLog) -> None:
    """Create the tables (safe to run again); refuses a database of the earlier hash-chained log."""
    found = inspect(log.engine)
    receipts_table = found.has_table("consent_receipts") and found.get_columns("consent_receipts")
    columns = {c["name"] for c in receipts_table or []}
    had_leaves = found.has_table("consent_log_leaves")
    if receipts_table and "leaf_index" not in columns and not had_leaves:
        raise ConfigError("the database holds a receipt log of an earlier version (a hash chain, without "
                          "leaf_index): export it ('flask --app consent_api export' of that version) and start "
                          "this version on a new database")
    metadata.create_all(log.engine)
    if receipts_table:
        _add_report_columns(log, [c for c in REPORT_COLUMNS if c not in columns])
    if receipts_table and not had_leaves:
        _move_leaf_indexes(log)

def _move_leaf_indexes(log: ReceiptLog) -> None:
    """A database of the version that kept each receipt's leaf index in its row: copy them
    to the leaves table, and list the unsealed receipts as pending (the old column stays,
    unused: SQLite cannot drop a unique column)."""
    with log.writing() as conn:
        conn.exec_driver_sql("INSERT INTO consent_log_leaves (leaf_index, seq) SELECT leaf_index, seq FROM "
                             "consent_receipts WHERE leaf_index IS NOT NULL")
        conn.exec_driver_sql("INSERT INTO consent_log_pending (seq) SELECT r.seq FROM consent_receipts r WHERE "
                             "r.leaf_index IS NULL AND NOT EXISTS (SELECT 1 FROM consent_log_quarantine q WHERE "
                             "q.seq = r.seq)")

def _add_report_columns(log: ReceiptLog, missing: list[str]) -> None:
    """A database of a version before the report, or before one of its columns (``language``):
    add what is missing, fill every row whose report columns are not all filled from its body
    (a batch per transaction), then index the report's columns as this version does.

    Each step checks the database, not what the last run did: an ``init-db`` stopped halfway,
    or rows written meanwhile by a process of the earlier version, are finished by the next
    run (a row left unfilled would fail the sealer's check of its columns and be held)."""
    with log.writing() as conn:
        for column in missing:
            kind = receipts.c[column].type.compile(dialect=log.engine.dialect)
            conn.exec_driver_sql(f"ALTER TABLE consent_receipts ADD COLUMN {column} {kind}")
    unfilled = or_(*(receipts.c[c].is_(None) for c in REPORT_COLUMNS))
    last = 0
    while True:
        with log.writing() as conn:
            rows = conn.execute(select(receipts.c.seq, receipts.c.body).where(unfilled & (receipts.c.seq > last))
                                .order_by(receipts.c.seq).limit(5000)).all()
            if not rows:
                break
            filled = [{"s": r.seq, **columns} for r in rows if (columns := _report_columns_of(r.body))]
            if filled:
                conn.execute(receipts.update().where(receipts.c.seq == bindparam("s")), filled)
            last = rows[-1].seq
    _index_report_columns(log)


def _report_columns_of(body: str) -> dict[str, Any] | None:
    """The report's columns from a stored body; None for a body that is not a receipt (a row
    written outside the API: left as it is, for the sealer to hold and ``verify`` to name)."""
    try:
        return report_columns(json.loads(body))
    except (ValueError, KeyError, TypeError, AttributeError):
        return None


def _index_report_columns(log: ReceiptLog) -> None:
    """The report's covering index with this version's columns. PostgreSQL builds a new one
    CONCURRENTLY beside the old one and swaps them, so the API keeps writing meanwhile (a plain
    DROP INDEX would lock the table until the new index is built)."""
    wanted = [c.name for c in report_index.columns]
    found = {i["name"]: list(i["column_names"]) for i in inspect(log.engine).get_indexes("consent_receipts")}
    if found.get(str(report_index.name)) == wanted:
        return
    names = ", ".join(wanted)
    if log.engine.dialect.name == "postgresql":
        with log.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql("DROP INDEX CONCURRENTLY IF EXISTS ix_consent_receipts_report_next")
            conn.exec_driver_sql(f"CREATE INDEX CONCURRENTLY ix_consent_receipts_report_next ON consent_receipts "
                                 f"({names})")
            conn.exec_driver_sql(f"DROP INDEX CONCURRENTLY IF EXISTS {report_index.name}")
            conn.exec_driver_sql(f"ALTER INDEX ix_consent_receipts_report_next RENAME TO {report_index.name}")
        return
    with log.writing() as conn:
        report_index.drop(conn, checkfirst=True)
        report_index.create(conn)
