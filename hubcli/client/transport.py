"""What the hub connection needs from a transport, and nothing more.

A transport moves opaque chunks of bytes each way. One received chunk may hold
several hub messages or part of one; framing is the hub protocol's business, so
WebSockets, Server-Sent Events and Long Polling all fit behind this interface.
"""

from __future__ import annotations

from typing import Protocol


class TransportClosed(Exception):
    """The transport ended; `reason` says how, for the user."""

    def __init__(self, reason: str, *, message_too_large: bool = False) -> None:
        super().__init__(reason)
        self.reason = reason
        self.message_too_large = message_too_large


class Transport(Protocol):
    @property
    def name(self) -> str:
        """The transport's name as negotiate spells it (e.g. "WebSockets")."""
        ...

    async def send(self, data: bytes) -> None:
        """Hand `data` to the network; returns once it is written."""
        ...

    async def receive(self) -> bytes:
        """The next chunk from the server; TransportClosed once there is none."""
        ...

    async def aclose(self) -> None:
        """Close gracefully where the transport can, promptly in any case."""
        ...
