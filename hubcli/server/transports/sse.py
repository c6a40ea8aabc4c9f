"""Server-Sent Events: server-to-client only (the client POSTs what it sends).

The wire format copies ServerSentEventsServerTransport: a `:\\r\\n` comment first,
then each chunk of output as one event whose lines are `data: ` lines ending in
CRLF (a CR before each LF dropped), and a blank line.
"""

from __future__ import annotations

import trio

from hubcli.server.asgi import Receive, Send
from hubcli.server.connections import ConnectionManager, HttpConnection

HEADERS = [
    (b"content-type", b"text/event-stream"),
    (b"cache-control", b"no-cache,no-store"),
    (b"pragma", b"no-cache"),
    (b"content-encoding", b"identity"),
]


def format_event(payload: bytes) -> bytes:
    if b"\n" not in payload:
        return (b"data: " + payload + b"\r\n\r\n") if payload else b"\r\n"
    lines = payload.split(b"\n")
    out = bytearray()
    last = len(lines) - 1
    for index, line in enumerate(lines):
        # The real formatter drops a CR only before an LF and only from lines of
        # two bytes or more.
        trim = index < last and len(line) > 1 and line.endswith(b"\r")
        out += b"data: " + (line[:-1] if trim else line) + b"\r\n"
    out += b"\r\n"
    return bytes(out)


async def serve_sse(
    receive: Receive, send: Send, connection: HttpConnection, manager: ConnectionManager
) -> None:
    await send({"type": "http.response.start", "status": 200, "headers": HEADERS})
    await send({"type": "http.response.body", "body": b":\r\n", "more_body": True})
    manager.start_application(connection)
    try:
        async with trio.open_nursery() as nursery:
            nursery.start_soon(_end_on_disconnect, receive, nursery.cancel_scope)
            while (data := await connection.outbound.read()) is not None:
                await send(
                    {"type": "http.response.body", "body": format_event(data), "more_body": True}
                )
            await send({"type": "http.response.body", "body": b"", "more_body": False})
            nursery.cancel_scope.cancel()
    finally:
        manager.dispose(connection)


async def _end_on_disconnect(receive: Receive, scope: trio.CancelScope) -> None:
    while (await receive())["type"] != "http.disconnect":
        pass
    scope.cancel()
