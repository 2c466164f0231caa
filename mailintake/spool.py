"""The raw-mail store: every message is on disk, fsynced, before anyone says 250.

The layout is a Maildir (``tmp/``, ``new/``, ``cur/``) so that operators can
read it with ordinary tools. A message is written to ``tmp/``, flushed and
fsynced, then renamed into ``new/`` and the directory fsynced: after a crash
a message is either wholly in ``new/`` or not there at all (GNU Mailman's
switchboard does the same for its queues). The pipeline that turns stored
messages into tickets reads from ``new/``. The IMAP poller keeps what it
fetches in ``imap/`` instead, which the spool's worker never reads: the
poller processes those messages itself.
"""

from __future__ import annotations

import hashlib
import itertools
import os
import socket
import time
from collections.abc import Sequence
from pathlib import Path

from hotline.durable import fsync_directory

_counter = itertools.count()


class Spool:
    def __init__(self, root: Path):
        self.root = Path(root)
        for sub in ("tmp", "new", "cur"):
            (self.root / sub).mkdir(parents=True, exist_ok=True)

    def _unique(self, content: bytes) -> str:
        # Maildir names: time, then something unique to this process and
        # message; the content hash lets a duplicate be recognised later.
        # The usual Maildir form "seconds.Mmicroseconds": a 19-digit run of
        # nanoseconds would hold 18-digit windows that pass for ID numbers in
        # log scans. Zero-padded, so names still sort in arrival order.
        digest = hashlib.sha256(content).hexdigest()[:16]
        seconds, nanoseconds = divmod(time.time_ns(), 10**9)
        return (f"{seconds}.M{nanoseconds // 1000:06d}P{os.getpid()}Q{next(_counter)}"
                f".{socket.gethostname().replace('/', '_')}.{digest}")

    def store(self, content: bytes) -> str:
        """Write ``content`` durably; return its name in ``new/``."""
        name = self._unique(content)
        self.keep(content, Path("new") / name)
        return name

    def keep(self, content: bytes, relative: Path) -> Path:
        """Write ``content`` durably at ``relative`` (a file in a folder of the store).

        Written to ``tmp/`` and fsynced, then renamed into place and the folder
        fsynced: after a crash the file is wholly there or not at all. A file of
        the same name is replaced atomically; the IMAP poller relies on it, since
        its names are fixed by the message (a re-fetch rewrites the same bytes).
        """
        target = self.root / relative
        temporary = self.root / "tmp" / self._unique(content)
        _write_synced(temporary, content)
        os.rename(temporary, target)
        fsync_directory(target.parent)
        return target

    def store_many(self, contents: Sequence[bytes]) -> list[str]:
        """Write a batch durably into ``new/``, as :meth:`store` does each; their names, in order.

        Each file is fsynced in ``tmp/`` before it is renamed into ``new/``, so
        a crash never leaves a partial file there; the renames are then made
        durable together, by one fsync of ``new/`` instead of one per file,
        before this returns, that is before anything (a database row naming
        a file) can depend on any of them. A crash before that fsync may lose
        some of the batch's names, but nothing refers to them yet and the
        caller still has the bytes (``xueji mail ingest`` reads them from its
        files and reports nothing for them).
        """
        names = []
        for content in contents:
            name = self._unique(content)
            temporary = self.root / "tmp" / name
            _write_synced(temporary, content)
            os.rename(temporary, self.root / "new" / name)
            names.append(name)
        if names:
            fsync_directory(self.root / "new")
        return names

    def folder(self, name: str) -> Path:
        """A folder of the store beside ``new/`` and ``cur/`` (the IMAP poller's ``imap/``), made durable."""
        path = self.root / name
        if not path.is_dir():
            path.mkdir(exist_ok=True)
            fsync_directory(self.root)
        return path

    def waiting(self) -> list[Path]:
        """Stored messages not yet taken up, oldest first."""
        return sorted((self.root / "new").iterdir())


def _write_synced(path: Path, content: bytes) -> None:
    """Create ``path`` with ``content``, fsynced (removed again if that fails)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        view = memoryview(content)
        while view:
            view = view[os.write(fd, view):]
        os.fsync(fd)
    except BaseException:
        os.close(fd)
        path.unlink(missing_ok=True)
        raise
    os.close(fd)
