"""The sealer: adds new receipts to the log's Merkle tree and signs a checkpoint, every
``SEAL_INTERVAL`` seconds in a background thread of each API process, or on demand
(``flask --app consent_api seal``). Sealers of several processes or machines take turns
(storage.ReceiptLog.seal); every checkpoint a sealer signs is appended to this machine's
checkpoints file, the copy the operator ships off the machine for witnesses."""

from __future__ import annotations

import fcntl
import logging
import os
import threading
from pathlib import Path

from .checkpoint import LogKey, is_purge, split_notes
from .storage import ReceiptLog

log = logging.getLogger("consent_api.sealer")


def append_note(path: Path, note: str) -> None:
    """Append a signed note and an empty line to an append-only file, durably."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_NOFOLLOW, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        os.write(fd, (note + "\n").encode())
        os.fsync(fd)
    finally:
        os.close(fd)


class Sealer:
    def __init__(self, log_: ReceiptLog, key: LogKey, checkpoints_file: Path, interval: float) -> None:
        self.log = log_
        self.key = key
        self.checkpoints_file = checkpoints_file
        self.interval = interval
        self._last_written: str | None = None  # the last checkpoint this process knows is in the file
        self._started = False
        self._start_lock = threading.Lock()
        self._stop = threading.Event()

    def seal(self) -> list[str]:
        """Seal every receipt waiting now; the checkpoints signed (none if nothing waited). The
        checkpoints file then ends with the log's latest checkpoint, even one whose sealer died
        between its commit and its write to the file, or that another machine signed."""
        notes = []
        while (note := self.log.seal(self.key)) is not None:
            append_note(self.checkpoints_file, note)
            self._last_written = note
            notes.append(note)
        latest = self.log.checkpoint()
        if latest is not None and latest != self._written_last():
            append_note(self.checkpoints_file, latest)
            self._last_written = latest
        return notes

    def _written_last(self) -> str | None:
        if self._last_written is None and self.checkpoints_file.is_file():
            notes = [n for n in split_notes(self.checkpoints_file.read_text(encoding="utf-8")) if not is_purge(n)]
            self._last_written = notes[-1] if notes else None
        return self._last_written

    def start(self) -> None:
        """Start the background sealer of this process, once (a no-op when the interval is 0)."""
        if self._started or self.interval <= 0:
            return
        with self._start_lock:
            if not self._started:
                threading.Thread(target=self._run, name="consent-log-sealer", daemon=True).start()
                self._started = True

    def stop(self) -> None:
        self._stop.set()

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                self.seal()
            except Exception:  # logged with its traceback; the next turn tries again
                log.exception("sealing the consent log failed")
