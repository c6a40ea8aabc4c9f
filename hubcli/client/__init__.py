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
from .links import ReconnectFailedError
from .network import NetworkSettings, tls_context
from .pushes import (
    ClientResult,
    Event,
    EventBufferFullError,
    EventStream,
    Lifecycle,
    Reconnected,
    Reconnecting,
    Registration,
)
from .reconnect import ReconnectPolicy

__all__ = [
    "AuthenticationError",
    "ClientResult",
    "ConnectError",
    "ConnectTimeoutError",
    "ConnectionClosedError",
    "Event",
    "EventBufferFullError",
    "EventStream",
    "FrameTooLargeError",
    "Hub",
    "HubError",
    "HubTimeoutError",
    "ItemBatches",
    "ServerTimeoutError",
    "Lifecycle",
    "NetworkSettings",
    "ReconnectFailedError",
    "ReconnectPolicy",
    "Reconnected",
    "Reconnecting",
    "Registration",
    "StreamBufferFullError",
    "StreamCall",
    "TlsError",
    "connect",
    "tls_context",
]
