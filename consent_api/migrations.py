"""Creating the consent log's tables, and bringing a database of an earlier version up to this
one (run by ``flask --app consent_api init-db``, and at start in development)."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from sqlalchemy import bindparam, inspect, select

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
    missing = [c for c in REPORT_COLUMNS if c not in columns]
    if receipts_table and missing:
        _add_report_columns(log, missing)
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
    add what is missing, fill it from the bodies (a batch per transaction), then index the
    report's columns again (the covering index names them all)."""
    with log.writing() as conn:
        for column in missing:
            kind = receipts.c[column].type.compile(dialect=log.engine.dialect)
            conn.exec_driver_sql(f"ALTER TABLE consent_receipts ADD COLUMN {column} {kind}")
    last = 0
    while True:
        with log.writing() as conn:
            rows = conn.execute(select(receipts.c.seq, receipts.c.body).where(receipts.c.seq > last)
                                .order_by(receipts.c.seq).limit(5000)).all()
            if not rows:
                break
            conn.execute(receipts.update().where(receipts.c.seq == bindparam("s")),
                         [{"s": r.seq, **{k: v for k, v in report_columns(json.loads(r.body)).items()
                                          if k in missing}} for r in rows])
            last = rows[-1].seq
    with log.writing() as conn:
        report_index.drop(conn, checkfirst=True)
        report_index.create(conn)
