"""A bounded byte pipe: the seam between a transport and the hub connection.

Each connection has two, one per direction, like the duplex pipe of the real server.
The writer is paused once more than `pause_threshold` bytes wait unread (that is the
backpressure that keeps memory flat); the reader takes everything buffered at once,
so several hub messages travel in one frame, poll or event, as they do from ASP.NET.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import trio


class BytePipe:
    def __init__(self, pause_threshold: int = 64 * 1024) -> None:
        self._buffer = bytearray()
        self._pause_threshold = pause_threshold
        self._completed = False
        # A parking lot, not an Event replaced on every change: waking costs no new
        # object, and a pipe changes once or twice per message.
        self._waiters = trio.lowlevel.ParkingLot()
        # Set by a transport that can write a message itself at once (the native
        # WebSocket): a writer that finds the pipe empty and open may hand its
        # message to this instead, in its own task, rather than wake the task that
        # reads the pipe. An empty pipe means nothing is queued ahead of it.
        self.express: Callable[[bytes], Awaitable[None]] | None = None
        # The reader's counterpart, set by the reader (the hub's dispatch task): a
        # transport that finds the reader idle may hand it what it read by calling
        # this, in its own task, rather than write and wake the reader.
        self.direct: Callable[[bytes], Awaitable[None]] | None = None
        self._reader_parked = False
        self._nudged = False

    @property
    def completed(self) -> bool:
        return self._completed

    @property
    def buffered(self) -> int:
        return len(self._buffer)

    @property
    def over_threshold(self) -> bool:
        return len(self._buffer) > self._pause_threshold

    @property
    def express_ready(self) -> bool:
        """Whether a message may go by `express` now, ahead of nothing."""
        return self.express is not None and not self._buffer and not self._completed

    @property
    def reader_idle(self) -> bool:
        """Whether the reader waits on an empty pipe and nothing has woken it yet:
        `direct` may be called (nothing is queued ahead of the call)."""
        return self._reader_parked and not self._buffer

    def _notify(self) -> None:
        if self._waiters:
            self._reader_parked = False
            self._waiters.unpark_all()

    def nudge(self) -> None:
        """Wake the reader with no data: its read returns b"" once (the `direct`
        callee left it work of another kind)."""
        self._nudged = True
        self._notify()

    async def write(self, data: bytes) -> bool:
        """Append data, then wait while the reader is behind; False once completed.

        Always a checkpoint, so a producer that never fills the pipe cannot starve
        the task that would cancel it.
        """
        if self._completed:
            await trio.lowlevel.checkpoint()
            return False
        if data:
            self._buffer += data
            self._notify()
        await self.drained()
        return not self._completed

    async def drained(self) -> None:
        """Return once the reader has brought the buffer under the pause threshold
        (or the pipe is completed); always a checkpoint."""
        await trio.lowlevel.checkpoint()
        while len(self._buffer) > self._pause_threshold and not self._completed:
            await self._waiters.park()

    def write_nowait(self, data: bytes) -> bool:
        """Append without waiting for the reader (for the last message of a connection)."""
        if self._completed:
            return False
        self._buffer += data
        self._notify()
        return True

    async def read(self) -> bytes | None:
        """Everything buffered (waiting for at least one byte); None at the end;
        b"" once after a nudge()."""
        while not self._buffer:
            if self._completed:
                return None
            if self._nudged:
                self._nudged = False
                return b""
            self._reader_parked = True
            try:
                await self._waiters.park()
            finally:
                self._reader_parked = False
        data = bytes(self._buffer)
        self._buffer.clear()
        self._notify()
        return data

    def complete(self) -> None:
        """No more writes; the reader still gets what is buffered, then None."""
        if not self._completed:
            self._completed = True
            self._notify()


class DiscardingPipe(BytePipe):
    """The output of a stateful connection while no transport carries it: writes
    succeed and go nowhere, as into the real server's pipe to a dead socket. What
    must survive is in the replay buffer; pings and Acks are not worth keeping."""

    async def write(self, data: bytes) -> bool:
        await trio.lowlevel.checkpoint()
        return not self.completed

    async def drained(self) -> None:
        await trio.lowlevel.checkpoint()

    def write_nowait(self, data: bytes) -> bool:
        return not self.completed
