"""The receipt writer: a process of its own that turns receipt requests into durable receipts.

Each API process (gunicorn worker, or the local server) starts one writer, lazily, on its
first receipt. A request thread hands the writer the raw request over a Unix socket (one
connection per thread, kept open) and blocks once, on ``recv``, until the answer comes:
by then the receipt is stored durably. The writer is single-threaded: each turn of its
loop takes every request waiting on any connection, checks, builds and signs them, appends
the valid ones in one transaction (one flush to stable storage for the batch), and answers
each. Requests that arrive during a flush wait in their sockets and form the next batch.

Why a process: the API's request threads share one GIL. Checking, building, signing and
storing a receipt in them (even group-committed) cost about half of the framework's
ceiling in bench/bench_api.py; in the writer, on the other core, it costs the request
threads one blocking wait (ARCHITECTURE.md has the figures).

Frames on the socket:
    request: u32 length, u8 flags (1: the request carried ``Sec-GPC: 1``), the JSON body
    answer:  u32 length, u16 HTTP status, the JSON answer

The writer reads its settings, signing keys included (never on a command line), as one
JSON line on stdin, answers ``ready`` on stdout, and exits when stdin closes: when its
API process exits, however it exits.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import json
import logging
import os
import selectors
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
from pathlib import Path
from typing import Any

from .errors import ApiError, Conflict, Unavailable
from .receipt import answer_text, build_receipt, request_digest
from .storage import Duplicate, NewReceipt, ReceiptLog, canonical, engine_for
from .validation import validate

REQUEST = struct.Struct("!IB")
ANSWER = struct.Struct("!IH")
SEC_GPC = 1
MAX_FRAME = 1 << 20  # far above MAX_CONTENT_LENGTH, which the API process enforces first
ANSWER_TIMEOUT = 30  # seconds a request thread waits for its answer

log = logging.getLogger("consent_api.writer")


# -- the API process's side ------------------------------------------------------------------


class WriterClient:
    """Starts the writer on first use (and again if it stopped) and talks to it."""

    def __init__(self, settings: dict[str, Any]) -> None:
        self._settings = settings
        self._start_lock = threading.Lock()
        self._process: subprocess.Popen[bytes] | None = None
        self._path: str | None = None
        self._generation = 0
        self._local = threading.local()
        self._connections: set[socket.socket] = set()  # every thread's, so that close() closes them

    def submit(self, body: bytes, sec_gpc: bool) -> tuple[int, bytes]:
        """The writer's answer to one receipt request: (HTTP status, JSON). Raises Unavailable."""
        conn, generation = self._connection()
        try:
            conn.sendall(REQUEST.pack(len(body), SEC_GPC if sec_gpc else 0) + body)
            length, status = ANSWER.unpack(_read_exactly(conn, ANSWER.size))
            return status, _read_exactly(conn, length)
        except OSError as exc:
            self._local.conn = None
            self._forget(conn)
            self._check(generation)
            raise Unavailable("the receipt log did not answer; try again (receipts are idempotent "
                              "on receipt_id)", retry_after=1) from exc

    def close(self) -> None:
        """Stop the writer (it finishes its batch) and close every thread's connection."""
        with self._start_lock:
            self._stop()
            for conn in self._connections:
                conn.close()
            self._connections.clear()

    def _forget(self, conn: socket.socket) -> None:
        conn.close()
        with self._start_lock:
            self._connections.discard(conn)

    def _connection(self) -> tuple[socket.socket, int]:
        conn: socket.socket | None = getattr(self._local, "conn", None)
        if conn is not None and self._local.generation == self._generation:
            return conn, self._generation
        if conn is not None:
            self._forget(conn)
        with self._start_lock:
            if self._process is None or self._process.poll() is not None:
                self._stop()
                self._start()
            path, generation = self._path, self._generation
        conn = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        # A kernel-side receive timeout: the socket stays blocking (one syscall per read).
        conn.setsockopt(socket.SOL_SOCKET, socket.SO_RCVTIMEO, struct.pack("ll", ANSWER_TIMEOUT, 0))
        try:
            conn.connect(str(path))
        except OSError as exc:
            conn.close()
            self._check(generation)
            raise Unavailable("the receipt log is starting; try again", retry_after=1) from exc
        with self._start_lock:
            self._connections.add(conn)
        self._local.conn, self._local.generation = conn, generation
        return conn, generation

    def _check(self, generation: int) -> None:
        """After a failed exchange: if the writer has exited, the next request starts another."""
        with self._start_lock:
            if generation == self._generation and self._process is not None and self._process.poll() is not None:
                log.error("the receipt writer exited with status %s; starting another on the next receipt",
                          self._process.returncode)
                self._stop()

    def _start(self) -> None:
        directory = tempfile.mkdtemp(prefix="consent-writer-")
        path = os.path.join(directory, "socket")
        listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            listener.bind(path)
            listener.listen(512)
            process = subprocess.Popen(
                [sys.executable, "-c", "from consent_api.writer import main; main()", str(listener.fileno()),
                 directory],
                stdin=subprocess.PIPE, stdout=subprocess.PIPE, pass_fds=(listener.fileno(),),
            )
        except BaseException:
            shutil.rmtree(directory, ignore_errors=True)
            raise
        finally:
            listener.close()
        assert process.stdin is not None and process.stdout is not None
        try:
            process.stdin.write(json.dumps(self._settings).encode() + b"\n")
            process.stdin.flush()
            ready = process.stdout.readline()
        except OSError:
            ready = b""
        if ready != b"ready\n":
            process.kill()
            process.wait()
            shutil.rmtree(directory, ignore_errors=True)
            raise Unavailable("the receipt log could not start (the API's error log says why)", retry_after=5)
        self._process, self._path = process, path
        self._generation += 1

    def _stop(self) -> None:
        process, self._process = self._process, None
        if process is None:
            return
        self._generation += 1  # every thread reconnects
        assert process.stdin is not None
        with contextlib.suppress(OSError):
            process.stdin.close()  # the writer finishes its batch and exits
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        if process.stdout is not None:
            process.stdout.close()


def _read_exactly(conn: socket.socket, size: int) -> bytes:
    data = conn.recv(size)
    if len(data) == size:
        return data
    chunks = [data]
    received = len(data)
    while received < size:
        if not data:
            raise ConnectionResetError("the receipt writer closed the connection")
        data = conn.recv(size - received)
        chunks.append(data)
        received += len(data)
    return b"".join(chunks)


# -- the writer's side ---------------------------------------------------------------------


class Desk:
    """Checks, builds, signs and stores batches of receipt requests."""

    def __init__(self, settings: dict[str, Any]) -> None:
        from .signing import ReceiptSigner, parse_keys
        from .sitedata import SiteData

        self.settings = settings
        self.log = ReceiptLog(engine_for(str(settings["DATABASE_URL"])))
        self.signer = ReceiptSigner(parse_keys(str(settings["SIGNING_KEYS"]), "the API's signing keys"))
        self.site = SiteData(Path(str(settings["SITE_DIR"])))

    def handle(self, requests: list[tuple[bytes, int]]) -> list[tuple[int, str]]:
        """One answer (status, JSON) per request, in order; the receipts stored in one transaction."""
        try:
            self.site.refresh()
        except Exception as exc:
            log.exception("the site's data could not be read")
            return [_error(Unavailable(f"the API cannot read the site's data ({exc})", retry_after=5))] * len(requests)
        now = dt.datetime.now(dt.UTC)
        stamp = int(now.timestamp())
        prepared = [self._prepare(body, bool(flags & SEC_GPC), now, stamp) for body, flags in requests]
        news = [p for p in prepared if isinstance(p, NewReceipt)]
        results: list[Any] = []
        if news:
            try:
                results = self.log.write(news)
            except Exception:
                log.exception("a batch of %d receipts could not be stored", len(news))
                results = [Unavailable("the receipt could not be stored; try again", retry_after=1)] * len(news)
        written = iter(results)
        answers = []
        for item in prepared:
            if not isinstance(item, NewReceipt):
                answers.append(_error(item))
                continue
            result = next(written)
            if isinstance(result, Duplicate):
                answers.append(_error(Conflict("this receipt_id is already stored with different content",
                                               field="receipt_id")))
            elif isinstance(result, ApiError):  # the batch could not be stored
                answers.append(_error(result))
            else:
                stored, new = result
                answers.append((201 if new else 200, answer_text(stored)))
        return answers

    def _prepare(self, body: bytes, sec_gpc: bool, now: dt.datetime, stamp: int) -> NewReceipt | ApiError:
        try:
            try:
                data = json.loads(body)
            except ValueError as exc:
                raise ApiError(f"the body is not valid JSON: {exc}") from None
            data = validate(data, self.site, now)
            receipt = build_receipt(data, now=stamp, sec_gpc=sec_gpc, settings=self.settings,
                                    categories=self.site.categories)
            body_json = canonical(receipt)
            token = self.signer.sign({"rid": data["receipt_id"], "sid": data["subject_id"],
                                      "sha": hashlib.sha256(body_json.encode()).hexdigest()})
            return NewReceipt(data["receipt_id"], data["subject_id"], stamp, request_digest(data),
                              receipt, body_json, token, self.signer.newest.kid)
        except ApiError as exc:
            return exc
        except Exception:
            log.exception("a receipt request could not be prepared")
            return ApiError("the receipt request could not be processed")


def _error(exc: ApiError) -> tuple[int, str]:
    return exc.status, json.dumps(exc.body(), separators=(",", ":")) + "\n"


def serve(listener: socket.socket, lifeline: int, desk: Desk) -> None:
    """The writer's loop, until ``lifeline`` (its stdin) reaches end of file."""
    selector = selectors.DefaultSelector()
    selector.register(listener, selectors.EVENT_READ, None)
    selector.register(lifeline, selectors.EVENT_READ, None)
    buffers: dict[socket.socket, bytearray] = {}
    while True:
        batch: list[tuple[socket.socket, bytes, int]] = []
        for key, _ in selector.select():
            if key.fileobj is listener:
                with contextlib.suppress(OSError):
                    conn, _ = listener.accept()
                    selector.register(conn, selectors.EVENT_READ, None)
                    buffers[conn] = bytearray()
            elif key.fd == lifeline:
                if not os.read(lifeline, 4096):
                    return
            else:
                conn = key.fileobj  # type: ignore[assignment]
                try:
                    data = conn.recv(1 << 16)
                except OSError:
                    data = b""
                if not data:
                    selector.unregister(conn)
                    buffers.pop(conn, None)
                    conn.close()
                    continue
                buffer = buffers[conn]
                buffer += data
                while len(buffer) >= REQUEST.size:
                    length, flags = REQUEST.unpack_from(buffer)
                    if length > MAX_FRAME:
                        selector.unregister(conn)
                        buffers.pop(conn, None)
                        conn.close()
                        break
                    if len(buffer) < REQUEST.size + length:
                        break
                    batch.append((conn, bytes(buffer[REQUEST.size:REQUEST.size + length]), flags))
                    del buffer[:REQUEST.size + length]
        if not batch:
            continue
        answers = desk.handle([(body, flags) for _, body, flags in batch])
        for (conn, _, _), (status, text) in zip(batch, answers, strict=True):
            payload = text.encode()
            with contextlib.suppress(OSError):  # the request thread gave up: its loss only
                conn.sendall(ANSWER.pack(len(payload), status) + payload)


def main() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C stops the API; the writer follows it
    logging.basicConfig(level=logging.WARNING, format="[consent writer %(process)d] %(levelname)s %(message)s")
    listener = socket.socket(fileno=int(sys.argv[1]))
    directory = sys.argv[2]
    try:
        settings = json.loads(sys.stdin.buffer.readline())
        desk = Desk(settings)
    except Exception:
        log.exception("the receipt writer could not start")
        shutil.rmtree(directory, ignore_errors=True)
        raise SystemExit(1) from None
    sys.stdout.write("ready\n")
    sys.stdout.flush()
    try:
        serve(listener, sys.stdin.fileno(), desk)
    finally:
        shutil.rmtree(directory, ignore_errors=True)
        desk.log.engine.dispose()

