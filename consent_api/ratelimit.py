"""The per-client rate limits (receipts created; reads, verifications and proofs), with the
``limits`` library.

Its storage (``RATELIMIT_STORAGE_URI``) is shared by all workers and machines when it is
``redis://`` or ``memcached://``. The embedded default, ``local://``, counts in this
process only (one gunicorn worker, as SQLite runs). The client address is used for
counting only; it is never stored with a receipt.
"""

from __future__ import annotations

import threading
import time
from contextlib import AbstractContextManager, nullcontext

from limits import parse_many
from limits.storage import Storage, storage_from_string
from limits.strategies import FixedWindowRateLimiter


class LocalStorage(Storage):
    """Fixed-window counters in this process, for ``limits``' fixed-window strategy.

    limits' own ``memory://`` storage starts a timer thread whenever its 10 ms expiry timer
    has run out, which under load means a new thread about every 10 ms: measured with
    bench/bench_api.py, that cost about a fifth of the API's throughput. Here an expired
    window is replaced when next counted, and expired windows are swept at most once a
    minute, on a request: no thread at all.
    """

    STORAGE_SCHEME = ["local"]  # noqa: RUF012 (the type limits declares; it registers the scheme)
    SWEEP_SECONDS = 60.0

    def __init__(self, uri: str | None = None, wrap_exceptions: bool = False, **options: float | str | bool) -> None:
        super().__init__(uri, wrap_exceptions=wrap_exceptions, **options)
        self._lock = threading.Lock()
        self._windows: dict[str, list[float]] = {}  # key -> [count, expires at]
        self._next_sweep = time.time() + self.SWEEP_SECONDS

    @property
    def base_exceptions(self) -> type[Exception]:
        return ValueError

    def incr(self, key: str, expiry: float, amount: int = 1) -> int:
        now = time.time()
        with self._lock:
            if now >= self._next_sweep:
                self._windows = {k: w for k, w in self._windows.items() if w[1] > now}
                self._next_sweep = now + self.SWEEP_SECONDS
            window = self._windows.get(key)
            if window is None or window[1] <= now:
                window = self._windows[key] = [0, now + expiry]
            window[0] += amount
            return int(window[0])

    def get(self, key: str) -> int:
        window = self._windows.get(key)
        return int(window[0]) if window is not None and window[1] > time.time() else 0

    def get_expiry(self, key: str) -> float:
        now = time.time()
        window = self._windows.get(key)
        return window[1] if window is not None and window[1] > now else now

    def check(self) -> bool:
        return True

    def reset(self) -> int:
        with self._lock:
            count = len(self._windows)
            self._windows = {}
        return count

    def clear(self, key: str) -> None:
        with self._lock:
            self._windows.pop(key, None)


class RateLimit:
    def __init__(self, spec: str, storage_uri: str, scope: str = "receipts") -> None:
        self.items = parse_many(spec)
        self.scope = scope  # what is counted: receipts created, or reads
        self.limiter = FixedWindowRateLimiter(storage_from_string(storage_uri))
        # limits' memory:// storage starts its expiry timer without a lock: two request
        # threads can start it twice and the second fails ("threads can only be started
        # once"), a 500 under load. The other storages need no lock.
        self._guard: AbstractContextManager[object] = (
            threading.Lock() if storage_uri.startswith("memory://") else nullcontext()
        )

    def retry_after(self, client: str) -> int | None:
        """Count one request; None if allowed, else the seconds until it would be."""
        with self._guard:
            for item in self.items:
                if not self.limiter.hit(item, self.scope, client):
                    reset = self.limiter.get_window_stats(item, self.scope, client).reset_time
                    return max(1, int(reset - time.time()) + 1)
        return None
