"""What the hub connection needs from a transport, and nothing more.

A transport moves opaque chunks of bytes each way. One received chunk may hold
several hub messages or part of one; framing is the hub protocol's business, so
WebSockets, Server-Sent Events and Long Polling all fit behind this interface.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Protocol

import trio

from hubcli._groups import sole_exception
from hubcli.errors import HubcliError


class TransportClosed(Exception):
    """The transport ended; `reason` says how, for the user.

    `failure`, when the transport knows better than "the connection was lost",
    is the error the connection fails with instead (a message too large, ...).
    """

    def __init__(
        self, reason: str, *, failure: HubcliError | None = None, abrupt: bool = False
    ) -> None:
        super().__init__(reason)
        self.reason = reason
        self.failure = failure
        # Ended by a network fault rather than by the server (a WebSocket without a
        # close frame): what a stateful reconnect may resume.
        self.abrupt = abrupt


class Transport(Protocol):
    @property
    def name(self) -> str:
        """The transport's name as negotiate spells it (e.g. "WebSockets")."""
        ...

    @property
    def concurrent_sends(self) -> bool:
        """True if `send` may be called by several tasks at once and keeps their order
        (the HTTP transports queue and coalesce); False if callers must take turns."""
        ...

    @property
    def inherent_keepalive(self) -> bool:
        """True if the transport itself shows the server is alive (Long Polling):
        no pings and no server timeout then, unless the user asked for one."""
        ...

    async def send(self, data: bytes) -> None:
        """Hand `data` to the network; returns once it is written (for the HTTP
        transports: once the POST that carries it was answered 2xx)."""
        ...

    async def receive(self) -> bytes:
        """The next chunk from the server; TransportClosed once there is none."""
        ...

    async def aclose(self) -> None:
        """Close gracefully where the transport can, promptly in any case."""
        ...

    async def reconnect(self) -> None:
        """Open the transport again on the same connection URL (stateful reconnect);
        ConnectError if it cannot. Only WebSockets can."""
        ...


@asynccontextmanager
async def background_tasks() -> AsyncIterator[trio.Nursery]:
    """A nursery for a transport's own tasks that lets the body's exception through
    as itself rather than wrapped in a group, so callers can tell failures apart."""
    try:
        async with trio.open_nursery() as nursery:
            yield nursery
    except BaseExceptionGroup as group:
        raise sole_exception(group) from None
