"""Files named on the command line (--args @FILE, --token-file, -b FILE, the TLS
files): read whole but bounded, and every failure worded the same way.

A path may name anything: a directory, a name too long for the system, a FIFO,
or a device that never ends (/dev/zero). Each is a usage error naming the
option, before any connecting, instead of an internal error or a read that
fills memory.
"""

from __future__ import annotations

import os
import stat
from typing import Final

from .errors import UsageError, cannot_read, over_limit

KIB: Final = 1024
MIB: Final = 1024 * KIB

# A token or a cookie file holds a few kilobytes; a megabyte is room to spare.
TOKEN_FILE_LIMIT: Final = MIB
COOKIE_FILE_LIMIT: Final = MIB
# TLS files are PEM certificates and keys: a CA bundle is a few hundred kilobytes.
TLS_FILE_LIMIT: Final = 16 * MIB
# --args goes to the hub in one message: as large as the default --max-message-size.
ARGS_FILE_LIMIT: Final = 16 * MIB


def read_bounded(what: str, path: str | int, limit: int) -> bytes:
    """The bytes of `path` (or of a descriptor: 0 for stdin), at most `limit` of
    them; `what` names it in messages (e.g. "--token-file t.txt")."""
    try:
        with open(path, "rb", closefd=not isinstance(path, int)) as file:
            data = file.read(limit + 1)
    except OSError as error:
        raise UsageError(cannot_read(what, error)) from None
    if len(data) > limit:
        raise UsageError(over_limit(what, limit))
    return data


def read_text(what: str, path: str | int, limit: int) -> str:
    """`read_bounded`, as UTF-8 text."""
    try:
        return read_bounded(what, path, limit).decode("utf-8")
    except UnicodeDecodeError:
        raise UsageError(cannot_read(what, "not UTF-8 text")) from None


def check_regular(what: str, path: str, limit: int) -> None:
    """`path` is a regular file of at most `limit` bytes: for files a library opens
    by name (OpenSSL, the cookie jar), which would read a device for ever."""
    try:
        status = os.stat(path)
    except OSError as error:
        raise UsageError(cannot_read(what, error)) from None
    if stat.S_ISDIR(status.st_mode):
        raise UsageError(cannot_read(what, "Is a directory"))
    if not stat.S_ISREG(status.st_mode):
        raise UsageError(cannot_read(what, "not a regular file"))
    if status.st_size > limit:
        raise UsageError(over_limit(what, limit, status.st_size))
