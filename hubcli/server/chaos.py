"""The chaos hub's network: cutting a connection as a network does.

A real network fault ends a connection with no Close message and no WebSocket
close frame, and only such an end lets both official clients resume a stateful
connection (the .NET client never resumes after a close frame). So with
`--chaos`, the hub methods that drop a transport have the TCP front (front.py),
which owns every client's socket, reset the caller's TCP connection: the client
sees its connection reset, the hub sees its transport end without a close frame,
exactly as when a client's network goes away. Without `--chaos` those methods say
they need it.
"""

from __future__ import annotations

import logging
from typing import Final, Protocol

from .connections import ConnectionManager, HttpConnection
from .errors import HubException
from .options import TransportName

log = logging.getLogger("hubcli.server")

NEEDS_CHAOS: Final = "Dropping a transport needs a hub started with --chaos (hubcli serve --chaos)."
NO_LASTING_TRANSPORT: Final = (
    "Long polling has no lasting TCP connection to drop; use WebSockets or Server-Sent Events."
)
NOT_RELAYED: Final = "The caller's TCP connection is not one the hub's front carries."


class Cutter(Protocol):
    def cut(self, client: tuple[str, int] | None) -> bool:
        """Reset the TCP connection of `client`; False if there is none such."""
        ...


class Chaos:
    """What DropTransport and DropConnection do to the caller's connection."""

    def __init__(self, relay: Cutter | None, manager: ConnectionManager) -> None:
        self._relay = relay
        self._manager = manager

    def drop(self, connection: HttpConnection, forget: bool) -> None:
        """Cut the TCP connection of the caller's transport; with `forget`, also
        dispose of the connection, so a resume finds nothing. HubException when
        there is nothing this server can cut."""
        if self._relay is None:
            raise HubException(NEEDS_CHAOS)
        if connection.transport is TransportName.LONG_POLLING:
            raise HubException(NO_LASTING_TRANSPORT)
        request = connection.request
        if not self._relay.cut(request.client if request is not None else None):
            raise HubException(NOT_RELAYED)
        log.info(
            "connection %s: transport dropped%s",
            connection.connection_id,
            " and the connection forgotten" if forget else "",
        )
        if forget:
            self._manager.dispose(connection)
