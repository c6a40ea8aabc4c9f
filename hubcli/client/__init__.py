"""The trio SignalR client: `connect()` and the Hub it yields."""

from __future__ import annotations

from .api import Hub, StreamCall, connect
from .connection import ItemBatches
from .errors import (
    AuthenticationError,
    ConnectError,
    ConnectionClosedError,
    ConnectTimeoutError,
    FrameTooLargeError,
    HubError,
    HubTimeoutError,
    ServerTimeoutError,
    StreamBufferFullError,
    TlsError,
)
from .network import NetworkSettings, tls_context

__all__ = [
    "AuthenticationError",
    "ConnectError",
    "ConnectTimeoutError",
    "ConnectionClosedError",
    "FrameTooLargeError",
    "Hub",
    "HubError",
    "HubTimeoutError",
    "ItemBatches",
    "ServerTimeoutError",
    "NetworkSettings",
    "StreamBufferFullError",
    "StreamCall",
    "TlsError",
    "connect",
    "tls_context",
]
