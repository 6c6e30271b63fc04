"""The sealer: adds new receipts to the log's Merkle tree and signs a checkpoint, every
``SEAL_INTERVAL`` seconds in a background thread of one API process per machine (the one
holding ``sealer.lock``), or on demand (``flask --app consent_api seal``). Sealers of several
machines take turns;
every checkpoint a sealer signs is appended to this machine's checkpoints file, the copy
the operator ships off the machine for witnesses.

The sealer trusts nothing it reads back from the database, which whoever can write it may
have changed. Before it signs size N it proves that the tree it extends is the tree of the
last checkpoint it trusts (the one it signed, kept in memory; after a restart the last one
in its checkpoints file): any newer checkpoint in the database must verify with the log's
key and be consistent with it (RFC 9162 consistency proof), and the stored right edge of
the tree must reproduce that checkpoint's root. A row gets a leaf only if its own token
vouches for it (integrity.py); a row that does not is quarantined and the sealer goes on.
On any disagreement it signs nothing more: it writes ``sealing-halted`` beside the
checkpoints file, logs at CRITICAL, and ``/api/healthz`` says so until an operator has
looked and runs ``flask --app consent_api seal --resume``.
"""

from __future__ import annotations

import fcntl
import logging
import os
import threading
import time
from pathlib import Path
from typing import Any

from sqlalchemy import bindparam, exists, select, text
from sqlalchemy.exc import IntegrityError

from consent_log import merkle
from consent_log.checkpoint import Checkpoint, LogKey, SignedCheckpoint, append_note, last_checkpoint

from .frontier import Frontier, LogTampered, checked_frontier, edge_of
from .integrity import row_problems
from .schema import checkpoints, leaves, nodes, pending, quarantine, receipts
from .signing import ReceiptSigner
from .storage import ReceiptLog

log = logging.getLogger("consent_api.sealer")

SEALER_LOCK = 7_240_532  # any constant: the PostgreSQL advisory lock that makes one sealer at a time
SEAL_BATCH = 20_000  # receipts sealed in one transaction at most
HALT_FILE = "sealing-halted"

#: The receipts waiting for a leaf, oldest first. A forged quarantine entry holds one back, a forged pending
#: entry for a receipt that has its leaf is passed over: verify names both; neither stops the sealer.
_UNSEALED = (select(receipts).join(pending, pending.c.seq == receipts.c.seq)
             .where(~exists().where(quarantine.c.seq == receipts.c.seq),
                    ~exists().where(leaves.c.seq == receipts.c.seq)).order_by(pending.c.seq))
_STILL = select(pending.c.seq).where(pending.c.seq.in_(bindparam("seqs", expanding=True)))


class Sealer:
    def __init__(self, log_: ReceiptLog, keys: list[LogKey], signer: ReceiptSigner, checkpoints_file: Path,
                 interval: float) -> None:
        self.log = log_
        self.key = keys[-1]
        self.verifiers = [k.verifier for k in keys]
        self.signer = signer
        self.checkpoints_file = checkpoints_file
        self.halt_file = checkpoints_file.parent / HALT_FILE
        self.interval = interval
        self._frontier: Frontier | None = None  # the last state this process checked or signed
        self._file_last: SignedCheckpoint | bool | None = False  # the file's last checkpoint (False: not read yet)
        self._said_halted = False
        self.last_check_ms = 0.0  # what the last turn's checks cost (bench_api prints it)
        self._started = False
        self._machine_lock: int | None = None  # the fd holding sealer.lock, once this process seals
        self._start_lock = threading.Lock()
        self._turn_lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    # -- state -------------------------------------------------------------------------------

    def halted(self) -> str | None:
        """Why sealing is halted (None while it is not)."""
        try:
            return self.halt_file.read_text(encoding="utf-8", errors="replace").strip() or "halted"
        except FileNotFoundError:
            return None

    def resume(self) -> None:
        """The operator's act after a halt: the next turn checks everything again from the
        checkpoints file (and halts again if the database still disagrees)."""
        self.halt_file.unlink(missing_ok=True)
        self._frontier, self._file_last, self._said_halted = None, False, False

    def _halt(self, reason: str) -> None:
        log.critical("consent log: SEALING HALTED, nothing more will be signed: %s. Investigate the database, "
                     "then run 'flask --app consent_api seal --resume'", reason)
        self.halt_file.parent.mkdir(parents=True, exist_ok=True)
        if not self.halt_file.exists():
            self.halt_file.write_text(f"{time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime())} {reason}\n",
                                      encoding="utf-8")
        self._frontier = None

    def _file_checkpoint(self) -> SignedCheckpoint | None:
        """The last checkpoint of this machine's checkpoints file that verifies (read once)."""
        if self._file_last is False:
            self._file_last = (last_checkpoint(self.checkpoints_file, self.verifiers)
                               if self.checkpoints_file.is_file() else None)
        return self._file_last if isinstance(self._file_last, SignedCheckpoint) else None

    # -- sealing -----------------------------------------------------------------------------

    def seal(self) -> list[str]:
        """Seal every receipt waiting now; the checkpoints signed (none if nothing waited, or
        if sealing is halted). The checkpoints file then ends with the log's latest checkpoint
        once it is checked, even one whose sealer died between its commit and its write to the
        file, or that another machine signed."""
        with self._turn_lock:
            reason = self.halted()
            if reason is not None:
                if not self._said_halted:
                    log.critical("consent log: sealing is halted: %s", reason)
                    self._said_halted = True
                return []
            notes: list[str] = []
            try:
                while (note := self._turn()) is not None:
                    if note:
                        notes.append(note)
                self._witness_latest()
            except LogTampered as exc:
                self._halt(str(exc))
            return notes

    def _turn(self) -> str | None:
        """Check the next rows, then in one transaction: check the tree, give the good rows their
        leaves, sign. The note signed; "" when rows were only held out; None when there was
        nothing to do."""
        # Each row's own check (57 us: its token, its body, its columns) is made before the write
        # transaction, which on SQLite every receipt of the machine waits for: made inside it, it
        # cost 14% of SQLite's receipts/s with 2x16 workers (bench_api). A row edited after its
        # check is no risk: its leaf is the body that was checked.
        with self.log.engine.connect() as conn:
            waiting = conn.execute(_UNSEALED.limit(SEAL_BATCH)).all()
        if not waiting:
            return None
        checked: list[tuple[int, str, str]] = []  # (seq, body, why refused: "" when good)
        for row in waiting:
            checked.append((row.seq, row.body, "; ".join(row_problems(self.signer, row))))
        with self.log.writing() as conn:
            if not self._take_turn(conn):
                return None
            started = time.perf_counter()
            frontier = self._checked(conn)
            self.last_check_ms = (time.perf_counter() - started) * 1000
            # Another sealer may have been first.
            still = set(conn.execute(_STILL, {"seqs": [seq for seq, _, _ in checked]}).scalars())
            refused = [(seq, why) for seq, _, why in checked if why and seq in still]
            good = [(seq, body) for seq, body, why in checked if not why and seq in still]
            if refused:
                conn.execute(quarantine.insert(), [{"seq": seq, "reason": why, "created_at": int(time.time())}
                                                   for seq, why in refused])
                conn.execute(pending.delete().where(pending.c.seq.in_([seq for seq, _ in refused])))
                for seq, why in refused:
                    log.error("consent log: receipt row %s is not sealed: %s", seq, why)
            if not good:
                return "" if refused else None
            size, known = frontier.size, dict(frontier.edge)
            added: list[dict[str, Any]] = []
            for offset, (_, body) in enumerate(good):
                for level, index, digest in merkle.append(lambda lv, ix: known[lv, ix], size + offset,
                                                          merkle.leaf_hash(body.encode())):
                    known[level, index] = digest
                    added.append({"level": level, "idx": index, "hash": digest})
            new_size = size + len(good)
            try:
                conn.execute(nodes.insert(), added)
                conn.execute(leaves.insert(), [{"leaf_index": size + offset, "seq": seq}
                                               for offset, (seq, _) in enumerate(good)])
                conn.execute(pending.delete().where(pending.c.seq.in_([seq for seq, _ in good])))
            except IntegrityError as exc:
                raise LogTampered(f"a node or a receipt's leaf index already stands where the tree of size {size} "
                                  f"grows (written outside the sealer): {str(exc.orig)[:120]}") from None
            checkpoint = Checkpoint(self.key.name, new_size, merkle.root(lambda lv, ix: known[lv, ix], new_size))
            note = self.key.sign_note(checkpoint.body())
            conn.execute(checkpoints.insert(), {"tree_size": new_size, "note": note, "created_at": int(time.time())})
        # Committed: this is now the state to extend (only the new right edge is kept).
        signed = SignedCheckpoint(checkpoint, note, self.key.name)
        self._frontier = Frontier(signed, {k: known[k] for k in edge_of(new_size)})
        append_note(self.checkpoints_file, note)
        self._file_last = signed
        return note

    def _take_turn(self, conn: Any) -> bool:
        """One sealer at a time, across every process and machine: on PostgreSQL an advisory lock
        held to the end of the transaction (False: another sealer holds it); SQLite's write
        transaction is already exclusive. Everything the checks read is read under it, so no
        other sealer's commit can fall between two of them."""
        return not self.log.postgres or bool(conn.execute(text("SELECT pg_try_advisory_xact_lock(:k)"),
                                                          {"k": SEALER_LOCK}).scalar())

    def _checked(self, conn: Any) -> Frontier:
        """The frontier to extend, checked (frontier.py); kept as this sealer's own."""
        trusted = self._frontier.signed if self._frontier else self._file_checkpoint()
        self._frontier = checked_frontier(conn, self.log, trusted, self._frontier, self.checkpoints_file)
        return self._frontier

    def _witness_latest(self) -> None:
        """Append the database's latest checkpoint to this machine's file when the file does not
        end with it (another process or machine signed it, or its sealer died before writing
        it): only once it verifies and is consistent with what this sealer has checked."""
        latest = self.log.checkpoint()
        if latest is None:
            return
        if self._frontier is None or self._frontier.signed != latest:
            with self.log.writing() as conn:
                if not self._take_turn(conn):
                    return  # another sealer is at work: its checkpoint is checked next turn
                latest = self._checked(conn).signed
            if latest is None:
                return
        written = self._file_checkpoint()
        if written is None or written.checkpoint.size < latest.checkpoint.size:
            append_note(self.checkpoints_file, latest.note)
            self._file_last = latest

    # -- the background thread ---------------------------------------------------------------

    def start(self) -> None:
        """Start the background sealer of this process, once (a no-op when the interval is 0)."""
        if self._started or self.interval <= 0:
            return
        with self._start_lock:
            if not self._started:
                self._thread = threading.Thread(target=self._run, name="consent-log-sealer", daemon=True)
                self._thread.start()
                self._started = True

    def stop(self) -> None:
        """Stop the background sealer after its turn, and let another process of the machine seal."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=30)
        if self._machine_lock is not None:
            os.close(self._machine_lock)  # releases sealer.lock
            self._machine_lock = None

    def _machine_turn(self) -> bool:
        """One background sealer per machine (per checkpoints file): the process that holds
        ``sealer.lock`` (the operating system releases it when that process exits, and another
        takes over at its next turn). With every gunicorn worker sealing in turn, each found the
        other's checkpoint newer than its own and checked the tree again from the database."""
        if self._machine_lock is None:
            self.checkpoints_file.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.checkpoints_file.parent / "sealer.lock", os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW, 0o644)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                os.close(fd)
                return False
            self._machine_lock = fd
        return True

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            if not self._machine_turn():
                continue
            try:
                self.seal()
            except Exception:  # logged with its traceback; the next turn tries again
                log.exception("sealing the consent log failed")

