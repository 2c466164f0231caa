"""Where the machine's CPU went during the load: the service's parts, the load, everyone else.

The machine has 2 cores and other sessions run their tests on it, so the
rates of a run say as much about them as about the service. The run counts
the CPU seconds of each of its own processes (a process's reaped children
included, so PostgreSQL's ended backends count) against the machine's busy
time over the same seconds; what is left is other work on the machine.
"""

from __future__ import annotations

import importlib.util
import os
from collections.abc import Callable, Mapping
from pathlib import Path

HERE = Path(__file__).resolve().parent
TICKS = os.sysconf("SC_CLK_TCK")


def _bench_lookup():
    """bench/lookup.py, whose process helpers this run shares. Loaded from its path: on
    sys.path, bench/ would shadow the lookup package."""
    spec = importlib.util.spec_from_file_location("bench_lookup", HERE / "lookup.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


_lookup = None


def children(pid: int) -> list[int]:
    global _lookup
    _lookup = _lookup or _bench_lookup()
    return _lookup._processes(lambda ppid, _command: ppid == pid)


def _own(pid: int) -> float:
    """utime + stime + cutime + cstime of a process (0 when it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return sum(int(v) for v in fields[11:15]) / TICKS


def process_cpu(pid: int) -> float:
    """CPU seconds of a process, its reaped children and its live children."""
    return _own(pid) + sum(_own(child) for child in children(pid))


def machine_busy() -> float:
    """CPU seconds every core of the machine has spent busy since boot (not idle, not waiting)."""
    fields = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    return (sum(fields) - fields[3] - fields[4]) / TICKS


def cores() -> int:
    return os.cpu_count() or 1


class CpuMeter:
    """CPU seconds of named parts (each a callable giving its total so far) and of the machine."""

    def __init__(self, parts: Mapping[str, Callable[[], float]]) -> None:
        self.parts = dict(parts)
        self.before: dict[str, float] = {}

    def _now(self) -> dict[str, float]:
        return {"machine": machine_busy(), **{name: read() for name, read in self.parts.items()}}

    def start(self) -> None:
        self.before = self._now()

    def stop(self) -> dict[str, float]:
        """Seconds since ``start()``: "machine" (all of it busy), each part, and "other"."""
        spent = {name: now - self.before[name] for name, now in self._now().items()}
        spent["other"] = spent["machine"] - sum(v for k, v in spent.items() if k != "machine")
        return spent
