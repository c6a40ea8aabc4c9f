"""What a connected hub is made of behind its public face.

`Hub` (the user's object), its `StreamCall`s and the task that keeps it linked
(`links.keep_linked`) all work on one HubParts, through its own methods: none of
them reaches into another's private attributes.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

import trio

from .connection import CLOSED_WITHOUT_ERROR, HubConnection
from .errors import ConnectionClosedError
from .pushes import Pushes

if TYPE_CHECKING:
    from .links import Link


class HubParts:
    """The current link, the pushes and the clean-up rules of one `connect()`."""

    def __init__(self, *, pushes: Pushes, close_timeout: float) -> None:
        self.pushes = pushes
        # The limit on each clean-up step; see `cleanup_scope`.
        self.close_timeout = close_timeout
        self.connection: HubConnection | None = None
        self.connection_id: str | None = None
        # As negotiate spells it: WebSockets, ServerSentEvents, LongPolling.
        self.transport = ""
        self.reconnects = -1  # links made after the first
        # Set by `connect` when it stops: no reconnect after that.
        self.stopping = False
        # Set when `connect` hands the hub over: the first link reads nothing before.
        self.opened = trio.Event()
        self._aborted = False
        self._cleanup_scopes: set[trio.CancelScope] = set()

    @property
    def current(self) -> HubConnection:
        """The connection calls go to: the current link's."""
        assert self.connection is not None, "a HubParts is used only once linked"
        return self.connection

    def attach(self, link: Link) -> None:
        """Use `link` from now on (the first one, or a reconnect's)."""
        self.connection = link.connection
        self.connection_id = link.connection_id
        self.transport = link.transport
        self.reconnects += 1

    def end_pushes(self) -> None:
        """Event streams end with the hub, after the events they hold."""
        connection = self.connection
        failure = connection.failure if connection is not None else None
        self.pushes.end(failure or ConnectionClosedError(CLOSED_WITHOUT_ERROR))

    async def close(self) -> None:
        """Stop reconnecting; say Close on the current link."""
        self.stopping = True
        if self.connection is not None:
            await self.connection.close()

    @contextmanager
    def cleanup_scope(self) -> Iterator[trio.CancelScope]:
        """Shield clean-up from the cancellation that caused it, for at most
        `close_timeout`, and not at all once aborted."""
        with trio.CancelScope(shield=True) as scope:
            scope.deadline = trio.current_time() + self.close_timeout
            if self._aborted:
                scope.cancel()
            self._cleanup_scopes.add(scope)
            try:
                yield scope
            finally:
                self._cleanup_scopes.discard(scope)

    def abort(self) -> None:
        """Stop clean-up in progress (CancelInvocation, Close) at once."""
        self._aborted = True
        for scope in list(self._cleanup_scopes):
            scope.cancel()
