"""Random interleavings of honest receipts, seals, sealer restarts and single-row insider
writes (any table, any column, insert, update or delete). Whatever the order, once every
insider write is undone: each checkpoint the sealer signed is a prefix of one tree (so all
are consistent with one another), every leaf under the last one is a receipt the API
issued, and no checkpoints file holds a note that does not verify."""

from __future__ import annotations

import base64
import json
import os
import uuid
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import delete, insert, select, update
from sqlalchemy.exc import SQLAlchemyError

from consent_api import create_app
from consent_api.schema import checkpoints, leaves, metadata, nodes, pending, purges, quarantine, receipts
from consent_log import merkle
from consent_log.checkpoint import Checkpoint, LogKey, read_notes
from consent_log.leaf import canonical
from tests.api.conftest import LOG_KEY, LOG_ORIGIN, Local, database, local_config, request_body
from tests.harness import Served

TABLES = {t.name: t for t in (receipts, leaves, pending, nodes, checkpoints, quarantine, purges)}
GENUINE = LogKey(LOG_KEY["name"], base64.b64decode(LOG_KEY["seed"]), LOG_KEY["created"])
STRANGER = LogKey(LOG_ORIGIN, bytes(range(32)), "2026-01-01T00:00:00Z")

# One step: ("receipt",), ("seal",), ("restart",), or ("write", table, kind, column pick, value pick, row pick)
STEP = st.one_of(
    st.just(("receipt",)), st.just(("seal",)), st.just(("restart",)),
    st.tuples(st.just("write"), st.sampled_from(sorted(TABLES)), st.sampled_from(["update", "insert", "delete"]),
              st.integers(0, 30), st.integers(0, 1_000), st.integers(0, 1_000)),
)


class Insider:
    """Single-row writes on the real database, each recorded so it can be undone."""

    def __init__(self, local: Local) -> None:
        self.local = local
        self.undo: list[tuple[Any, ...]] = []

    def _rows(self, table: Any) -> list[dict[str, Any]]:
        with self.local.svc.log.engine.connect() as conn:
            return [dict(r._mapping) for r in conn.execute(select(table))]

    def _value(self, table: Any, column: Any, rows: list[dict[str, Any]], pick: int) -> Any:
        others = [r[column.name] for r in rows if r[column.name] is not None]
        if pick % 3 == 0 and others:
            return others[pick % len(others)]  # another row's value: the most plausible lie
        kind = column.type.python_type
        if column.name == "body":
            body = json.loads(others[pick % len(others)]) if others else {}
            body["choices"] = dict(body.get("choices", {}), advertising=True)
            return canonical(body)
        if column.name == "note":
            signer = GENUINE if pick % 2 else STRANGER  # a genuine key's note for a size it never signed
            return signer.sign_note(Checkpoint(LOG_ORIGIN, pick % 40, bytes([pick % 256]) * 32).body())
        if kind is bytes:
            return bytes([pick % 256]) * 32
        if kind is bool:
            return bool(pick % 2)
        if kind is int:
            return pick % 40 - (pick % 7 == 0)
        return f"forged-{pick}" if column.name != "receipt_id" else str(uuid.UUID(int=pick, version=4))

    def write(self, name: str, kind: str, column_pick: int, value_pick: int, row_pick: int) -> None:
        table = TABLES[name]
        rows = self._rows(table)
        keys = [c.name for c in table.primary_key.columns]
        try:
            with self.local.svc.log.engine.begin() as conn:
                if kind == "insert":
                    base = dict(rows[row_pick % len(rows)]) if rows else {}
                    row = {c.name: self._value(table, c, rows, value_pick + i) if c.name not in base or i == column_pick
                           % len(table.columns) or c.name in keys else base[c.name]
                           for i, c in enumerate(table.columns)}
                    if name == receipts.name:
                        row["receipt_id"] = str(uuid.uuid4())
                    conn.execute(insert(table), row)
                    self.undo.append(("insert", table, {k: row[k] for k in keys}))
                elif not rows:
                    return
                elif kind == "delete":
                    row = rows[row_pick % len(rows)]
                    conn.execute(delete(table).where(*(table.c[k] == row[k] for k in keys)))
                    self.undo.append(("delete", table, row))
                else:
                    row = rows[row_pick % len(rows)]
                    column = list(table.columns)[column_pick % len(table.columns)]
                    value = self._value(table, column, rows, value_pick)
                    where = [table.c[k] == row[k] for k in keys]
                    conn.execute(update(table).where(*where).values({column.name: value}))
                    after = {k: (value if k == column.name else row[k]) for k in keys}
                    self.undo.append(("update", table, after, column.name, row[column.name]))
        except SQLAlchemyError:
            return  # refused by the database (a unique key, a type): the insider's write did nothing

    def undo_all(self) -> None:
        with self.local.svc.log.engine.begin() as conn:
            for entry in reversed(self.undo):
                table = entry[1]
                if entry[0] == "insert":
                    conn.execute(delete(table).where(*(table.c[k] == v for k, v in entry[2].items())))
                elif entry[0] == "delete":
                    keys = [c.name for c in table.primary_key.columns]
                    conn.execute(delete(table).where(*(table.c[k] == entry[2][k] for k in keys)))
                    conn.execute(insert(table), entry[2])
                else:
                    conn.execute(update(table).where(*(table.c[k] == v for k, v in entry[2].items()))
                                 .values({entry[3]: entry[4]}))


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
@settings(max_examples=int(os.environ.get("INSIDER_EXAMPLES", "25")), deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(steps=st.lists(STEP, min_size=5, max_size=40))
def test_no_interleaving_of_insider_writes_gets_a_lie_signed(backend: str, site: Served, tmp_path_factory: Any,
                                                             steps: list[tuple[Any, ...]]) -> None:
    tmp: Path = tmp_path_factory.mktemp("interleaving")
    db_url = database(backend, tmp)
    config = local_config(db_url, site.site_dir, tmp / "consent-log")
    local = Local(create_app(config), db_url, tmp / "consent-log")
    local.svc.log.create_schema()
    insider = Insider(local)
    issued: set[bytes] = set()
    signed: list[str] = []
    try:
        for step in steps:
            if step[0] == "receipt":
                answer = local.client.post("/api/v1/receipts", json=request_body())
                assert answer.status_code == 201, answer.get_json()
                issued.add(merkle.leaf_hash(canonical(answer.get_json()["receipt"]).encode()))
            elif step[0] == "seal":
                signed += local.svc.sealer.seal()
            elif step[0] == "restart":  # a new process: nothing in memory, the same files
                local.svc.log.engine.dispose()
                local = Local(create_app(config), db_url, tmp / "consent-log")
                insider.local = local
            else:
                insider.write(*step[1:])
        insider.undo_all()
        leaves = local.svc.log.leaf_hashes()
        tree = merkle.Levels(leaves)
        for note in signed:
            checkpoint = Checkpoint.parse(note.split("\n\n")[0] + "\n")
            assert checkpoint.size <= tree.size and tree.root(checkpoint.size) == checkpoint.root, \
                f"a signed checkpoint of size {checkpoint.size} is not a prefix of the log's tree"
        final = max((Checkpoint.parse(n.split("\n\n")[0] + "\n").size for n in signed), default=0)
        assert set(leaves[:final]) <= issued, "a leaf under a signed root is not a receipt the API issued"
        checkpoints_file = tmp / "consent-log" / "checkpoints"
        if checkpoints_file.exists():
            found, _, problems = read_notes(checkpoints_file, [GENUINE.verifier])
            assert problems == [], problems
            assert all(c.checkpoint.size <= tree.size and tree.root(c.checkpoint.size) == c.checkpoint.root
                       for c in found)
    finally:
        local.svc.log.engine.dispose()
        if backend == "postgres":
            from sqlalchemy import create_engine

            engine = create_engine("postgresql+psycopg://" + db_url.split("://", 1)[1])
            metadata.drop_all(engine)
            engine.dispose()
