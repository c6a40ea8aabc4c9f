"""Inbox: what the receive loop has handed a consumer and the consumer has not taken.

One per consumer (a stream call, an event stream, the handlers). The receive loop
`put`s a batch of values with the wire bytes they came from and never blocks
there; it may then `wait_for_room` (the connection decides when that is safe, see
connection.py). The consumer `take`s batches in order. Closing an inbox lets the
consumer drain what it holds and then see the end; failing it ends it with an
error after that; `release` drops everything (the consumer went away).
"""

from __future__ import annotations

from collections import deque
from typing import Generic, TypeVar

import trio

T = TypeVar("T")


class Inbox(Generic[T]):
    __slots__ = ("_batches", "_readable", "_taken", "closed", "error", "held_bytes", "released")

    def __init__(self) -> None:
        # (values, wire bytes they are charged with), oldest first
        self._batches: deque[tuple[list[T], int]] = deque()
        self.held_bytes = 0
        self.closed = False
        self.released = False
        self.error: BaseException | None = None
        self._readable = trio.Event()
        self._taken = trio.Event()

    @property
    def batches_held(self) -> int:
        return len(self._batches)

    @property
    def accepting(self) -> bool:
        return not self.closed and not self.released

    def put(self, values: list[T], size: int) -> None:
        """Queue a batch for the consumer (dropped once closed or released)."""
        if self.accepting:
            self._batches.append((values, size))
            self.held_bytes += size
            self._readable.set()

    async def wait_for_room(self, batches: int) -> None:
        """Until the consumer has taken all but `batches` batches, or let go."""
        while len(self._batches) > batches and self.accepting:
            if self._taken.is_set():
                self._taken = trio.Event()
            await self._taken.wait()

    async def take(self) -> list[T] | None:
        """The next batch; None once the inbox is closed (or released) and drained.

        Raises the inbox's error, if it was failed, after the batches it holds.
        """
        while not self._batches:
            if self.released:
                return None
            if self.closed:
                if self.error is not None:
                    raise self.error
                return None
            if self._readable.is_set():
                self._readable = trio.Event()
            await self._readable.wait()
        values, size = self._batches.popleft()
        self.held_bytes -= size
        self._taken.set()
        return values

    def take_nowait(self) -> list[T] | None:
        """The next batch if one is held, else None (never raises)."""
        if not self._batches:
            return None
        values, size = self._batches.popleft()
        self.held_bytes -= size
        self._taken.set()
        return values

    def close(self, error: BaseException | None = None) -> None:
        """No more batches; the consumer still gets those held, then the end (or
        `error`)."""
        if not self.closed:
            self.closed = True
            self.error = error
            self._wake()

    def release(self) -> None:
        """The consumer will take no more: drop what is held."""
        self.released = True
        self._batches.clear()
        self.held_bytes = 0
        self._wake()

    def _wake(self) -> None:
        self._readable.set()
        self._taken.set()
