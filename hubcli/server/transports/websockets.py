"""WebSockets: one socket for both directions, for as long as it lasts.

Frames go out as Text for a text protocol and Binary for MessagePack (the format
fixed by the handshake); incoming frames of either type are just bytes. When the
hub ends, what it wrote is flushed and the socket closed with 1000. When the
socket ends first, the connection manager decides whether the connection waits
for a resume (stateful reconnect) or is over.

A request that takes a stateful connection over from this one completes this
one's output: the socket then gets a close frame (1000), and its peer
`websocket_close_timeout` seconds to answer it, as the real server's transport
gives before it aborts the socket.
"""

from __future__ import annotations

import trio

from hubcli.protocol import TransferFormat
from hubcli.server.asgi import Receive, Send
from hubcli.server.connections import Attachment, ConnectionManager, HttpConnection


async def serve_websocket(
    receive: Receive,
    send: Send,
    connection: HttpConnection,
    attachment: Attachment,
    manager: ConnectionManager,
    *,
    close_timeout: float,
) -> None:
    await send({"type": "websocket.accept"})
    manager.start_application(connection)
    try:
        async with trio.open_nursery() as nursery:
            nursery.start_soon(
                _send_outbound, send, connection, attachment, nursery.cancel_scope, close_timeout
            )
            await _receive_inbound(receive, connection)
            nursery.cancel_scope.cancel()
    finally:
        manager.transport_ended(connection, attachment)


async def _receive_inbound(receive: Receive, connection: HttpConnection) -> None:
    while True:
        message = await receive()
        kind = message["type"]
        if kind == "websocket.receive":
            data = message.get("bytes")
            if data is None:
                data = (message.get("text") or "").encode("utf-8", "surrogatepass")
            # No checkpoint of its own per frame (receive() is one): waiting only
            # when the hub is behind saves a scheduler round for every frame.
            inbound = connection.inbound
            if inbound.write_nowait(data) and inbound.over_threshold:
                await inbound.drained()
        elif kind == "websocket.disconnect":
            return


async def _send_outbound(
    send: Send,
    connection: HttpConnection,
    attachment: Attachment,
    scope: trio.CancelScope,
    close_timeout: float,
) -> None:
    # This request's own pipe: after a takeover the connection has a new one.
    outbound = attachment.outbound
    while (data := await outbound.read()) is not None:
        if connection.active_format is TransferFormat.BINARY:
            await send({"type": "websocket.send", "bytes": data})
        else:
            await send({"type": "websocket.send", "text": data.decode("utf-8", "replace")})
    await send({"type": "websocket.close", "code": 1000})
    if attachment.taken_over:
        scope.deadline = min(scope.deadline, trio.current_time() + close_timeout)
    else:
        scope.cancel()
