"""A raw echo connection at `/echo`: SignalR's connection layer without a hub.

What ASP.NET Core's ConnectionHandler endpoints are (MapConnectionHandler): the same
negotiate, connection ids and transports (WebSockets, Server-Sent Events, Long
Polling) as a hub, but no handshake and no hub protocol; this one writes back every
payload it receives, as it came. Clients' transport layers can be tested against it
without the hub protocol in the way (the official client's HttpConnection is), and
a WebSocket opened without negotiate gets a connection on the spot. Replies go out
as text frames: the application never asks for binary, as the functional tests'
echo handler does not.
"""

from __future__ import annotations

from typing import Final

from .connections import HttpConnection

ECHO_PATH: Final = "/echo"


async def echo(connection: HttpConnection) -> None:
    """Every payload back until the client's input ends."""
    while (data := await connection.inbound.read()) is not None:
        if not await connection.outbound.write(data):
            return
