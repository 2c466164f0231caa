"""The in-process storage of the limits (memory://): no timer thread, expired counters given back."""

from __future__ import annotations

import threading
import time

from limits import parse
from limits.storage import memory, storage_from_string
from limits.strategies import FixedWindowRateLimiter

from hotline.app import limiter
from lookup import limit_storage


def test_memory_uris_are_served_by_the_swept_storage(app):
    assert isinstance(storage_from_string("memory://"), limit_storage.SweptMemoryStorage)
    assert isinstance(limiter.storage, limit_storage.SweptMemoryStorage)


def test_counting_starts_no_thread(monkeypatch):
    storage = limit_storage.SweptMemoryStorage()
    started: list[threading.Timer] = []

    class CountedTimer(threading.Timer):
        def start(self) -> None:
            started.append(self)
            super().start()

    monkeypatch.setattr(memory.threading, "Timer", CountedTimer)
    strategy = FixedWindowRateLimiter(storage)
    for n in range(200):
        strategy.hit(parse("10 per minute"), "xueji", f"198.51.100.{n % 50}", "lookup-client")
        time.sleep(0.0002)  # the library's own storage starts a thread every 10 ms
    assert started == []


def test_expired_counters_are_dropped_by_the_sweep_that_comes_due(monkeypatch):
    monkeypatch.setattr(limit_storage, "SWEEP_SECONDS", 0.01)
    storage = limit_storage.SweptMemoryStorage()
    for n in range(20):
        storage.incr(f"old-{n}", expiry=0.02)
    time.sleep(0.05)
    storage.incr("new", expiry=60)
    assert set(storage.storage) == {"new"} and set(storage.expirations) == {"new"}


def test_a_limit_holds_in_the_swept_storage():
    strategy = FixedWindowRateLimiter(limit_storage.SweptMemoryStorage())
    item = parse("3 per minute")
    assert [strategy.hit(item, "xueji", "198.51.100.1", "lookup-client") for _ in range(4)] == [
        True, True, True, False]
