"""The raw-mail store: every message is on disk, fsynced, before anyone says 250.

The layout is a Maildir (``tmp/``, ``new/``, ``cur/``) so that operators can
read it with ordinary tools. A message is written to ``tmp/``, flushed and
fsynced, then renamed into ``new/`` and the directory fsynced: after a crash
a message is either wholly in ``new/`` or not there at all (GNU Mailman's
switchboard does the same for its queues). The pipeline that turns stored
messages into tickets reads from ``new/``.
"""

from __future__ import annotations

import hashlib
import itertools
import os
import socket
import time
from pathlib import Path

_counter = itertools.count()


class Spool:
    def __init__(self, root: Path):
        self.root = Path(root)
        for sub in ("tmp", "new", "cur"):
            (self.root / sub).mkdir(parents=True, exist_ok=True)

    def _unique(self, content: bytes) -> str:
        # Maildir names: time, then something unique to this process and
        # message; the content hash lets a duplicate be recognised later.
        digest = hashlib.sha256(content).hexdigest()[:16]
        return (f"{time.time_ns()}.P{os.getpid()}Q{next(_counter)}"
                f".{socket.gethostname().replace('/', '_')}.{digest}")

    def store(self, content: bytes) -> str:
        """Write ``content`` durably; return its name in ``new/``."""
        name = self._unique(content)
        temporary = self.root / "tmp" / name
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            view = memoryview(content)
            while view:
                view = view[os.write(fd, view):]
            os.fsync(fd)
        except BaseException:
            os.close(fd)
            temporary.unlink(missing_ok=True)
            raise
        os.close(fd)
        os.rename(temporary, self.root / "new" / name)
        directory = os.open(self.root / "new", os.O_RDONLY)
        try:
            os.fsync(directory)
        finally:
            os.close(directory)
        return name

    def waiting(self) -> list[Path]:
        """Stored messages not yet taken up, oldest first."""
        return sorted((self.root / "new").iterdir())
