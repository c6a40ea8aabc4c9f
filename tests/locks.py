"""A lock between pytest-xdist's workers, for set-up steps that must run once.

Each worker runs session fixtures of its own, so two workers may reach `npm ci` (which
deletes node_modules first) or `apt-get` (which holds dpkg's lock) at the same time.
flock on a file is released by the kernel if a worker dies, so no lock is ever stale.
"""

from __future__ import annotations

import fcntl
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def exclusive(lock_file: Path) -> Iterator[None]:
    """Hold an exclusive lock on `lock_file` (created if missing) for the block."""
    with lock_file.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
