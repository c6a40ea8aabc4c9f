"""stdin and stdout without blocking the trio thread, and without changing what
other processes see.

O_NONBLOCK is a flag of the open file description, which a pipe or terminal
shares with the shell and the other commands of a pipeline: set there, it stays
set if hubcli dies by SIGKILL, and the shell's next `read` fails with EAGAIN. So
hubcli opens what the descriptor refers to anew (Linux's /proc/self/fd), which
gives it a description of its own to make non-blocking. A socket cannot be
reopened that way, but each send or recv can be made non-blocking by itself
(MSG_DONTWAIT). Only where neither works (no /proc, a terminal hubcli may not
open) is the shared description made non-blocking, and restored at exit.
"""

from __future__ import annotations

import contextlib
import os
import socket
import stat
from typing import Final

import trio

# O_NOCTTY: opening a terminal must not make it hubcli's controlling terminal.
_REOPEN_FLAGS: Final = os.O_NONBLOCK | os.O_CLOEXEC | os.O_NOCTTY


class NonBlockingFd:
    """`fd` (stdin or stdout) for reading or writing without waiting in a call.

    `read` and `write` raise BlockingIOError when they would wait; `wait()` then
    parks the calling task until they would not. Regular files never make a
    call wait, so they are used as they are.
    """

    def __init__(self, fd: int, *, write: bool) -> None:
        self._fd = fd
        self._socket: socket.socket | None = None
        self._restore_blocking: bool | None = None  # the fallback's saved flag
        self._write = write
        mode = os.fstat(fd).st_mode
        self.fileno = fd
        if stat.S_ISREG(mode):
            self._own = False
            return
        if stat.S_ISSOCK(mode):
            self._socket = socket.socket(fileno=os.dup(fd))
            self.fileno = self._socket.fileno()
            self._own = False
            return
        access = os.O_WRONLY if write else os.O_RDONLY
        try:
            self.fileno = os.open(f"/proc/self/fd/{fd}", access | _REOPEN_FLAGS)
            self._own = True
        except OSError:
            self._own = False
            self._restore_blocking = os.get_blocking(fd)
            os.set_blocking(fd, False)

    @property
    def private(self) -> bool:
        """Whether no description shared with other processes is non-blocking."""
        return self._restore_blocking is None

    def read(self, size: int) -> bytes:
        if self._socket is not None:
            return self._socket.recv(size, socket.MSG_DONTWAIT)
        return os.read(self.fileno, size)

    def write(self, data: memoryview) -> int:
        if self._socket is not None:
            return self._socket.send(data, socket.MSG_DONTWAIT)
        return os.write(self.fileno, data)

    async def wait(self) -> None:
        if self._write:
            await trio.lowlevel.wait_writable(self.fileno)
        else:
            await trio.lowlevel.wait_readable(self.fileno)

    def close(self) -> None:
        """Give back what was borrowed; the original descriptor stays open."""
        if self._socket is not None:
            self._socket.close()
            self._socket = None
        elif self._own:
            self._own = False
            with contextlib.suppress(OSError):
                os.close(self.fileno)
        elif self._restore_blocking is not None:
            with contextlib.suppress(OSError):
                os.set_blocking(self._fd, self._restore_blocking)
            self._restore_blocking = None
        self.fileno = self._fd
