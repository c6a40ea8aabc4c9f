"""Every exception hubcli's library raises on purpose, in one tree.

    HubcliError
    ├── InvalidArgumentError (also ValueError)
    │   ├── InvalidURLError
    │   └── UnencodableValueError (also TypeError)
    ├── ConnectError
    │   ├── AuthenticationError
    │   ├── TlsError
    │   ├── NegotiateError
    │   └── HandshakeError (also ProtocolError)
    ├── ProtocolError
    │   ├── HandshakeError
    │   └── MessageTooLargeError
    │       └── FrameTooLargeError
    ├── HubError
    ├── HubTimeoutError
    │   ├── ConnectTimeoutError
    │   └── ServerTimeoutError
    ├── ConnectionClosedError
    │   └── ReconnectFailedError
    └── StreamBufferFullError
        └── EventBufferFullError

`except hubcli.HubcliError` catches all of them. The module imports nothing, so the
sans-IO protocol core raises these same classes (hubcli.protocol.errors re-exports
its own) and the command line maps them to exit codes without loading trio. Every
message is fit to show a user as it is.
"""

from __future__ import annotations


class HubcliError(Exception):
    """Root of every error hubcli raises on purpose."""


class InvalidArgumentError(HubcliError, ValueError):
    """An argument the caller gave cannot be used: an unknown protocol or transport
    name, a malformed header, cookie, proxy or handler, a time limit or size out of
    range.

    Raised before anything is sent. A ValueError too, as it was before the tree.
    """


class InvalidURLError(InvalidArgumentError):
    """The hub URL given to `connect()` is unusable (no host, a bad port or scheme)."""


class UnencodableValueError(InvalidArgumentError, TypeError):
    """A value the hub protocol cannot carry (e.g. a 65-bit integer in MessagePack).

    A TypeError too, so JSON encoders that signal "unsupported" that way pass it on.
    """


class ConnectError(HubcliError):
    """Could not connect: DNS, TCP, TLS, negotiate, handshake, or no usable transport."""


class AuthenticationError(ConnectError):
    """The server (or a proxy, 407) refused the credentials (HTTP 401 or 403).

    `status_code`: the HTTP status of the refusal.
    """

    def __init__(self, message: str, status_code: int) -> None:
        super().__init__(message)
        self.status_code = status_code


class TlsError(ConnectError):
    """TLS failed: the server's certificate was not trusted, or ours was refused."""


class NegotiateError(ConnectError):
    """The negotiate response was unusable (error body, bad JSON, unsupported server)."""


class ProtocolError(HubcliError):
    """Bytes from the peer that break the SignalR protocol (malformed, oversized, ...)."""


class HandshakeError(ProtocolError, ConnectError):
    """The SignalR handshake was malformed, or the peer rejected it (say, an
    unsupported hub protocol). Both a protocol error and a failure to connect."""


class MessageTooLargeError(ProtocolError):
    """An incoming hub message exceeds the configured size limit (`max_message_size`)."""

    def __init__(self, size: int, limit: int) -> None:
        super().__init__(f"The maximum message size of {limit}B was exceeded ({size}B).")
        self.size = size
        self.limit = limit


class FrameTooLargeError(MessageTooLargeError):
    """A WebSocket message from the server exceeded the transport's size limit.

    One WebSocket message may carry several hub messages, so its limit is the
    larger of `max_message_size` and 16 MiB; the WebSocket layer stops reading at
    the limit, so the size is known only to exceed it.
    """

    def __init__(self, limit: int) -> None:
        ProtocolError.__init__(
            self, f"A WebSocket message from the server exceeded the maximum size of {limit} bytes."
        )
        self.size = limit + 1  # at least
        self.limit = limit


class HubError(HubcliError):
    """The hub answered an invocation (or ended a stream) with an error Completion."""


class HubTimeoutError(HubcliError):
    """A time limit ran out: connecting, or silence from the server."""


class ConnectTimeoutError(HubTimeoutError):
    """Negotiate, transport and handshake together took longer than `connect_timeout`
    (or the handshake alone longer than `handshake_timeout`)."""


class ServerTimeoutError(HubTimeoutError):
    """Nothing arrived from the server for longer than `server_timeout`."""


class ConnectionClosedError(HubcliError):
    """The connection has ended: the server closed it (a Close message, the transport
    dropped) or the hub is used after its `async with` block.

    `allow_reconnect`: whether a reconnect policy may connect again: not after a
    server Close without allowReconnect."""

    def __init__(self, message: str, *, allow_reconnect: bool = True) -> None:
        super().__init__(message)
        self.allow_reconnect = allow_reconnect


class ReconnectFailedError(ConnectionClosedError):
    """The connection was lost and the reconnect policy ran out of attempts."""


class StreamBufferFullError(HubcliError):
    """A stream ran too far ahead of its reader while other calls were in flight
    (more than `stream_buffer_limit` bytes unread)."""


class EventBufferFullError(StreamBufferFullError):
    """An event stream (`hub.events()`) ran too far ahead of its reader while calls
    were in flight."""


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
