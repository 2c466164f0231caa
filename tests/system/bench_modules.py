"""The system run's own modules (bench/system_*.py), for the tests.

bench/ is not a package and cannot go on sys.path (its lookup.py would shadow
the lookup package), so bench/system.py is loaded from its file: it installs
the finder of its ``system_*`` modules, which are then imported by name.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
from pathlib import Path
from types import ModuleType

BENCH = Path(__file__).resolve().parents[2] / "bench"
RUN = BENCH / "system.py"


def load(name: str) -> ModuleType:
    """The module ``bench/<name>.py`` (``system_data``, ``system_load`` …)."""
    if "bench_system" not in sys.modules:
        spec = importlib.util.spec_from_file_location("bench_system", RUN)
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules["bench_system"] = module
        spec.loader.exec_module(module)
    return importlib.import_module(name)
