"""The in-process storage of the lookup limits (``memory://``), without a timer thread.

The ``limits`` library's memory storage starts a ``threading.Timer`` of
10 ms whenever it counts and none is running, to drop expired counters.
Under load that is a new thread every 10 ms in each worker, each walking
every key while holding the interpreter lock, and ``Thread.start`` makes
the request that started it wait until the thread runs: a sixth of a
lookup's time went there. Counters need no timer to expire (a read drops an
expired one); only the memory of counters nobody reads again must be given
back, and a sweep every few seconds, done by the request that comes due,
gives it back as well.

Importing this module makes it the storage of ``memory://`` URIs in the
process (``limits`` registers storages by scheme, the last one wins):
hotline.app imports it before flask-limiter builds its storage. The
in-process fallback flask-limiter keeps for a Redis that went away is still
the library's own class.
"""

from __future__ import annotations

import time

from limits.storage import MemoryStorage

SWEEP_SECONDS = 5.0


class SweptMemoryStorage(MemoryStorage):
    """``limits.storage.MemoryStorage`` that sweeps expired entries inline, every few seconds."""

    STORAGE_SCHEME = ["memory"]  # storage_from_string("memory://") builds this class from now on

    def __init__(self, uri: str | None = None, wrap_exceptions: bool = False, **options: str) -> None:
        super().__init__(uri, wrap_exceptions=wrap_exceptions, **options)
        self.timer.cancel()  # the one the base class started
        self._next_sweep = time.monotonic() + SWEEP_SECONDS

    # The base class calls this (as self.__schedule_expiry) on every change.
    def _MemoryStorage__schedule_expiry(self) -> None:
        now = time.monotonic()
        if now >= self._next_sweep:
            self._next_sweep = now + SWEEP_SECONDS
            self._MemoryStorage__expire_events()

