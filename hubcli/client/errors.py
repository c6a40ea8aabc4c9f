"""The client's errors: each says what went wrong in words fit for a user.

The classes mirror the exit-code table so the CLI maps an error to its status by
type alone; the protocol layer's ProtocolError (malformed or oversized messages,
rejected handshakes) is used as it is.
"""

from __future__ import annotations

from hubcli.protocol.errors import HubCliError, MessageTooLargeError, ProtocolError


class ConnectError(HubCliError):
    """Could not connect: DNS, TCP, TLS, negotiate, or no usable transport."""


class AuthenticationError(ConnectError):
    """The server refused the credentials (HTTP 401 or 403)."""

    def __init__(self, message: str, status_code: int) -> None:
        super().__init__(message)
        self.status_code = status_code


class TlsError(ConnectError):
    """TLS failed: the server's certificate was not trusted, or ours was refused."""


class HubError(HubCliError):
    """The hub answered an invocation with an error Completion."""


class ConnectionClosedError(HubCliError):
    """The server ended the connection (Close message, or the transport dropped).

    `allow_reconnect`: whether a reconnect policy may connect again: not after a
    server Close without allowReconnect."""

    def __init__(self, message: str, *, allow_reconnect: bool = True) -> None:
        super().__init__(message)
        self.allow_reconnect = allow_reconnect


class HubTimeoutError(HubCliError):
    """A time limit ran out: connecting, or silence from the server."""


class ConnectTimeoutError(HubTimeoutError):
    """Negotiate, transport and handshake together took longer than allowed."""


class ServerTimeoutError(HubTimeoutError):
    """Nothing arrived from the server for longer than the server timeout."""


class StreamBufferFullError(HubCliError):
    """A stream ran too far ahead of its reader while other calls were in flight."""


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
