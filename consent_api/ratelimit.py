"""The per-client rate limit on receipt creation, with the ``limits`` library.

Its storage (``RATELIMIT_STORAGE_URI``) is shared by all workers and machines when it is
``redis://`` or ``memcached://``. The client address is used for counting only; it is
never stored with a receipt.
"""

from __future__ import annotations

import threading
import time
from contextlib import AbstractContextManager, nullcontext

from limits import parse_many
from limits.storage import storage_from_string
from limits.strategies import FixedWindowRateLimiter


class RateLimit:
    def __init__(self, spec: str, storage_uri: str) -> None:
        self.items = parse_many(spec)
        self.limiter = FixedWindowRateLimiter(storage_from_string(storage_uri))
        # limits' in-memory storage starts its expiry timer without a lock: two request
        # threads can start it twice and the second fails ("threads can only be started
        # once"), a 500 under load. Shared storages (redis, memcached) need no lock.
        self._guard: AbstractContextManager[object] = (
            threading.Lock() if storage_uri.startswith("memory://") else nullcontext()
        )

    def retry_after(self, client: str) -> int | None:
        """Count one request; None if allowed, else the seconds until it would be."""
        with self._guard:
            for item in self.items:
                if not self.limiter.hit(item, "receipts", client):
                    reset = self.limiter.get_window_stats(item, "receipts", client).reset_time
                    return max(1, int(reset - time.time()) + 1)
        return None
