"""The client's errors: hubcli's one exception tree (hubcli.errors), named here for
the client's modules."""

from __future__ import annotations

from hubcli.errors import (
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

__all__ = [
    "AuthenticationError",
    "ConnectError",
    "ConnectTimeoutError",
    "ConnectionClosedError",
    "EventBufferFullError",
    "FrameTooLargeError",
    "HandshakeError",
    "HubError",
    "HubTimeoutError",
    "HubcliError",
    "InvalidArgumentError",
    "InvalidURLError",
    "MessageTooLargeError",
    "NegotiateError",
    "ProtocolError",
    "ReconnectFailedError",
    "ServerTimeoutError",
    "StreamBufferFullError",
    "TlsError",
    "UnencodableValueError",
]
