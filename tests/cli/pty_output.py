"""What a program wrote to a pseudo-terminal, read by the tests that give hubcli one."""

from __future__ import annotations

import errno
import os


def read_until_closed(main: int) -> str:
    """All that reaches the terminal's `main` side until every holder of its other
    side has closed it; the terminal's \\r\\n turned back into \\n (a bare \\r kept)."""
    chunks = []
    try:
        while True:
            try:
                chunk = os.read(main, 65536)
            except OSError as error:  # EIO: every holder of the terminal closed it
                if error.errno != errno.EIO:
                    raise
                break
            if not chunk:
                break
            chunks.append(chunk)
    finally:
        os.close(main)
    return b"".join(chunks).decode().replace("\r\n", "\n")
