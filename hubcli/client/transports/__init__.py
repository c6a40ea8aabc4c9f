"""The three transports behind one interface (`base.Transport`), opened by name.

Server-Sent Events and Long Polling run on httpx, imported only when one of them is
opened (or negotiate runs): a WebSocket without negotiate never loads it.
"""

from __future__ import annotations

from contextlib import AbstractAsyncContextManager
from typing import Final

from hubcli.client.network import HttpState
from hubcli.protocol.negotiate import TransportName

from .base import Transport, TransportClosed

# As negotiate spells them (the protocol core's TransportName).
WEBSOCKETS: Final = TransportName.WEBSOCKETS.value
SERVER_SENT_EVENTS: Final = TransportName.SERVER_SENT_EVENTS.value
LONG_POLLING: Final = TransportName.LONG_POLLING.value

__all__ = [
    "LONG_POLLING",
    "SERVER_SENT_EVENTS",
    "WEBSOCKETS",
    "Transport",
    "TransportClosed",
    "open_transport",
]


def open_transport(
    name: str,
    url: str,
    *,
    http: HttpState,
    binary: bool,
    max_message_size: int,
    close_timeout: float,
) -> AbstractAsyncContextManager[Transport]:
    """Open transport `name` (as negotiate spells it) to the connection at `url`.

    `url` is the http(s) connect URL (with `id=`); entering the result starts the
    transport and raises ConnectError if it cannot.
    """
    if name == WEBSOCKETS:
        from hubcli.protocol.negotiate import websocket_url

        from .websockets import open_websocket_transport

        return open_websocket_transport(
            websocket_url(http.transport_url(url)),
            http=http,
            binary=binary,
            max_message_size=max_message_size,
            close_timeout=close_timeout,
        )
    if name == SERVER_SENT_EVENTS:
        from .sse import open_sse_transport

        return open_sse_transport(url, http=http, binary=binary, close_timeout=close_timeout)
    if name == LONG_POLLING:
        from .longpolling import open_longpolling_transport

        return open_longpolling_transport(
            url, http=http, binary=binary, close_timeout=close_timeout
        )
    raise ValueError(f"unknown transport {name!r}")
