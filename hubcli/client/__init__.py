"""The trio SignalR client: `connect()` and the Hub it yields."""

from __future__ import annotations

from .api import Hub, StreamCall, connect
from .connection import ItemBatches
from .errors import (
    AuthenticationError,
    ConnectError,
    ConnectionClosedError,
    ConnectTimeoutError,
    EventBufferFullError,
    FrameTooLargeError,
    HandshakeError,
    HubcliError,
    HubError,
    HubTimeoutError,
    InvalidArgumentError,
    InvalidURLError,
    MessageTooLargeError,
    NegotiateError,
    ProtocolError,
    ReconnectFailedError,
    ServerTimeoutError,
    StreamBufferFullError,
    TlsError,
    UnencodableValueError,
)
from .network import NetworkSettings, tls_context
from .pushes import (
    ClientResult,
    Event,
    EventStream,
    Lifecycle,
    Reconnected,
    Reconnecting,
    Registration,
)
from .reconnect import ReconnectPolicy

__all__ = [
    "HandshakeError",
    "HubcliError",
    "InvalidArgumentError",
    "InvalidURLError",
    "MessageTooLargeError",
    "NegotiateError",
    "ProtocolError",
    "UnencodableValueError",
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
