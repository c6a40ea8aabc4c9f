"""WebSockets: one socket for both directions, for the connection's whole life.

Frames go out as Text for a text protocol and Binary for MessagePack (the format
fixed by the handshake); incoming frames of either type are just bytes. When the
hub ends, what it wrote is flushed and the socket closed with 1000.
"""

from __future__ import annotations

import trio

from hubcli.protocol import TransferFormat
from hubcli.server.asgi import Receive, Send
from hubcli.server.connections import ConnectionManager, HttpConnection


async def serve_websocket(
    receive: Receive, send: Send, connection: HttpConnection, manager: ConnectionManager
) -> None:
    await send({"type": "websocket.accept"})
    manager.start_application(connection)
    try:
        async with trio.open_nursery() as nursery:
            nursery.start_soon(_send_outbound, send, connection, nursery.cancel_scope)
            await _receive_inbound(receive, connection)
            # The client went away: its hub sees the end of input and stops.
            nursery.cancel_scope.cancel()
    finally:
        manager.dispose(connection)


async def _receive_inbound(receive: Receive, connection: HttpConnection) -> None:
    while True:
        message = await receive()
        kind = message["type"]
        if kind == "websocket.receive":
            data = message.get("bytes")
            if data is None:
                data = (message.get("text") or "").encode("utf-8", "surrogatepass")
            await connection.inbound.write(data)
        elif kind == "websocket.disconnect":
            connection.inbound.complete()
            return


async def _send_outbound(send: Send, connection: HttpConnection, scope: trio.CancelScope) -> None:
    while (data := await connection.outbound.read()) is not None:
        if connection.active_format is TransferFormat.BINARY:
            await send({"type": "websocket.send", "bytes": data})
        else:
            await send({"type": "websocket.send", "text": data.decode("utf-8", "replace")})
    await send({"type": "websocket.close", "code": 1000})
    scope.cancel()
