"""Group commit: many request threads, one durable commit for all that wait at that moment.

On SQLite every commit is an fsync under the database's single write lock: one fsync per
receipt (0.4 to 0.7 ms on the 2-core test machine, plus the transaction's own statements)
capped a whole machine at about 400 durable receipts/s in bench/bench_api.py. On PostgreSQL
the WAL flush serves concurrent commits together, but each request's own round trips (begin,
select, insert, commit), every one of them releasing and taking back the process's GIL, held a
process to 115-153 receipts/s. A thread that finds a commit in progress queues its receipt and
waits; the next thread to get the commit lock commits every queued receipt in one transaction.
Each caller still gets its own result (or the batch's exception, with its traceback) back in
its own thread.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from typing import Generic, TypeVar

Item = TypeVar("Item")
Result = TypeVar("Result")


class _Waiting(Generic[Item, Result]):
    __slots__ = ("done", "error", "item", "result", "wake")

    def __init__(self, item: Item) -> None:
        self.item = item
        self.done = False
        self.result: Result | None = None
        self.error: BaseException | None = None
        self.wake = threading.Event()  # set when done, or when it is this one's turn to commit


class GroupCommit(Generic[Item, Result]):
    def __init__(self, commit: Callable[[list[Item]], list[Result]],
                 hold: Callable[[], AbstractContextManager[object]] = nullcontext) -> None:
        self._commit = commit  # commits a batch durably: one result per item, in order
        self._hold = hold  # a lock the commit needs (other processes'): the batch is taken once it is held
        self._queue: list[_Waiting[Item, Result]] = []
        self._committing = False
        self._lock = threading.Lock()

    def submit(self, item: Item) -> Result:
        """Commit ``item`` (with whatever else is waiting); its result once durable."""
        waiting: _Waiting[Item, Result] = _Waiting(item)
        with self._lock:
            self._queue.append(waiting)
            leads, self._committing = not self._committing, True
        if not leads:
            waiting.wake.wait()  # the batch forms while another thread commits
        if not waiting.done:  # this thread commits every receipt queued now, its own first
            batch = []
            try:
                with self._hold():  # receipts that arrive while it waits for the lock join the batch
                    with self._lock:
                        batch, self._queue = self._queue, []
                    for w, result in zip(batch, self._commit([w.item for w in batch]), strict=True):
                        w.result = result
            except BaseException as exc:
                if not batch:
                    with self._lock:
                        batch, self._queue = self._queue, []
                for w in batch:
                    w.error = exc
            for w in batch:
                w.done = True
                w.wake.set()
            with self._lock:  # hand the next batch to the first thread that queued since
                if self._queue:
                    self._queue[0].wake.set()
                else:
                    self._committing = False
        if waiting.error is not None:
            raise waiting.error
        return waiting.result  # type: ignore[return-value]
