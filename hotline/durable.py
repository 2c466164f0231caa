"""Files that must survive a crash: the one helper every writer of durable files shares.

A file is durable once its data is fsynced *and* the directory entry that
names it is: after a rename into place (the raw-mail store, attachments,
backup manifests) or a removal (xueji purge), the folder is fsynced too.
"""

from __future__ import annotations

import os
from pathlib import Path


def fsync_directory(path: Path) -> None:
    """Make a new entry, a rename or a removal in ``path`` survive a crash."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
