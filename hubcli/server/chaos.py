"""The chaos hub's network: a TCP relay that can cut a connection as a network does.

A real network fault ends a connection with no Close message and no WebSocket
close frame, and only such an end lets both official clients resume a stateful
connection (the .NET client never resumes after a close frame). hypercorn always
sends a close frame, and ASGI has no abort. So with `--chaos`, `hubcli serve`
listens itself and relays every TCP connection to hypercorn, which listens on a
loopback port of its own; hypercorn reports the relay's upstream address as the
client's, which names the pair to cut. Cutting closes both sockets with SO_LINGER
0, so the kernel sends a reset each way: the client sees its connection reset,
the hub sees its transport end without a close frame, exactly as when a client's
network goes away.

Without `--chaos` there is no relay: the default path pays nothing, and the
methods that need one say so. With it, every byte is copied once more, through a
task per direction (about 5% on a 1M-item stream; see the report in the commit).
"""

from __future__ import annotations

import logging
import socket
import struct
from dataclasses import dataclass
from functools import partial
from typing import Final

import trio

from .connections import ConnectionManager, HttpConnection
from .errors import HubException
from .options import TransportName

log = logging.getLogger("hubcli.server")

RELAY_CHUNK: Final = 256 * 1024
NEEDS_CHAOS: Final = "Dropping a transport needs a hub started with --chaos (hubcli serve --chaos)."
NO_LASTING_TRANSPORT: Final = (
    "Long polling has no lasting TCP connection to drop; use WebSockets or Server-Sent Events."
)
NOT_RELAYED: Final = "The caller's TCP connection is not one the chaos relay carries."
_RESET_ON_CLOSE: Final = struct.pack("ii", 1, 0)


def _reset(stream: trio.SocketStream) -> None:
    """Close at once with a reset (RST), dropping whatever is unsent."""
    sock = stream.socket
    if sock.fileno() != -1:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, _RESET_ON_CLOSE)
        # Synchronous, so nothing more is relayed after this call; tasks blocked on
        # the socket get ClosedResourceError.
        sock.close()


@dataclass(slots=True)
class _Pair:
    client: trio.SocketStream
    server: trio.SocketStream
    cut: bool = False

    def reset(self) -> None:
        self.cut = True
        _reset(self.client)
        _reset(self.server)


async def _pump(source: trio.SocketStream, sink: trio.SocketStream, pair: _Pair) -> None:
    try:
        while data := await source.receive_some(RELAY_CHUNK):
            await sink.send_all(data)
        # A half-close travels on as one, so a graceful end stays graceful.
        await sink.send_eof()
    except (trio.BrokenResourceError, trio.ClosedResourceError):
        # A reset on one side is a reset on the other.
        pair.reset()


class TcpRelay:
    """Accepts where the hub is published and relays each connection to hypercorn."""

    def __init__(self) -> None:
        self._pairs: dict[tuple[str, int], _Pair] = {}

    def __len__(self) -> int:
        return len(self._pairs)

    async def serve(
        self,
        host: str,
        port: int,
        upstream: tuple[str, int],
        *,
        task_status: trio.TaskStatus[tuple[str, int]] = trio.TASK_STATUS_IGNORED,
    ) -> None:
        """Listen on host:port until cancelled; reports the address bound."""
        listeners = await trio.open_tcp_listeners(port, host=host)
        bound = listeners[0].socket.getsockname()
        task_status.started((str(bound[0]), int(bound[1])))
        await trio.serve_listeners(partial(self._relay, upstream), listeners)

    async def _relay(self, upstream: tuple[str, int], client: trio.SocketStream) -> None:
        try:
            server = await trio.open_tcp_stream(*upstream)
        except OSError as exc:
            log.warning("chaos relay: cannot reach the HTTP server: %s", exc)
            _reset(client)
            return
        local = server.socket.getsockname()
        key = (str(local[0]), int(local[1]))
        pair = _Pair(client, server)
        self._pairs[key] = pair
        try:
            async with trio.open_nursery() as nursery:
                nursery.start_soon(_pump, client, server, pair)
                nursery.start_soon(_pump, server, client, pair)
        finally:
            del self._pairs[key]
            if not pair.cut:
                with trio.CancelScope(shield=True):
                    await client.aclose()
                    await server.aclose()

    def cut(self, hub_client: tuple[str, int] | None) -> bool:
        """Reset the TCP connection hypercorn knows as coming from `hub_client`;
        False if the relay carries none such."""
        pair = self._pairs.get(hub_client) if hub_client is not None else None
        if pair is None:
            return False
        pair.reset()
        return True


class Chaos:
    """What DropTransport and DropConnection do to the caller's connection."""

    def __init__(self, relay: TcpRelay | None, manager: ConnectionManager) -> None:
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
