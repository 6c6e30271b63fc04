"""The per-client rate limit under concurrent requests in one process."""

from __future__ import annotations

import sys
import threading
import time

import pytest

from consent_api import ratelimit
from consent_api.ratelimit import RateLimit


def test_concurrent_hits_on_the_in_memory_limit_never_fail() -> None:
    # limits' memory storage restarts its expiry timer as windows expire; unguarded, two
    # threads could start the same timer and one request failed with a 500.
    limit = RateLimit("100000/second", "memory://")
    errors: list[BaseException] = []

    def hammer(client: str) -> None:
        deadline = time.monotonic() + 2.5
        while time.monotonic() < deadline:
            try:
                limit.retry_after(client)
            except BaseException as exc:
                errors.append(exc)
                return

    threads = [threading.Thread(target=hammer, args=(f"client-{i % 4}",)) for i in range(32)]
    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)  # switch threads as often as possible: the race needs a switch mid-call
    try:
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    finally:
        sys.setswitchinterval(interval)
    assert errors == []


def test_a_client_over_its_limit_is_told_when_to_retry() -> None:
    limit = RateLimit("2/minute", "memory://")
    assert [limit.retry_after("a"), limit.retry_after("a")] == [None, None]
    wait = limit.retry_after("a")
    assert wait is not None and 1 <= wait <= 61
    assert limit.retry_after("b") is None  # counted per client


class FrozenClock:
    """A clock that moves only when the test moves it: windows never expire mid-test by chance."""

    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def time(self) -> float:
        return self.now


def test_the_local_limit_counts_per_window_from_many_threads_without_a_thread_of_its_own(
        monkeypatch: pytest.MonkeyPatch) -> None:
    clock = FrozenClock()
    monkeypatch.setattr(ratelimit, "time", clock)
    limit = RateLimit("1000/second", "local://")
    allowed: list[bool] = []
    workers: list[threading.Thread] = []
    started_by_others: list[threading.Thread] = []
    real_start = threading.Thread.start

    def recording_start(thread: threading.Thread) -> None:
        if thread not in workers:
            started_by_others.append(thread)  # a thread the limit (or its storage) started
        real_start(thread)

    monkeypatch.setattr(threading.Thread, "start", recording_start)

    def hit_many() -> None:
        for _ in range(200):
            allowed.append(limit.retry_after("one-client") is None)

    workers.extend(threading.Thread(target=hit_many) for _ in range(8))
    for t in workers:
        t.start()
    for t in workers:
        t.join()
    assert allowed.count(True) == 1000  # 1,600 hits in one window, counted exactly under concurrency
    assert started_by_others == []  # no expiry timer thread, unlike memory://
    clock.now += 1.05
    assert limit.retry_after("one-client") is None  # a new window


def test_the_local_limit_says_when_to_retry_and_counts_per_client() -> None:
    limit = RateLimit("2/minute", "local://")
    assert [limit.retry_after("a"), limit.retry_after("a")] == [None, None]
    wait = limit.retry_after("a")
    assert wait is not None and 1 <= wait <= 61
    assert limit.retry_after("b") is None
