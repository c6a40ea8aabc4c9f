"""The protocol layer's errors. Every message is fit to show a user as it is."""

from __future__ import annotations


class HubCliError(Exception):
    """Root of every error hubcli raises on purpose."""


class ProtocolError(HubCliError):
    """Bytes from the peer that break the SignalR protocol (malformed, oversized, ...)."""


class HandshakeError(ProtocolError):
    """The handshake was malformed or the peer rejected it."""


class NegotiateError(HubCliError):
    """The negotiate response was unusable (error body, bad JSON, unsupported server)."""


class MessageTooLargeError(ProtocolError):
    """An incoming hub message exceeds the configured size limit."""

    def __init__(self, size: int, limit: int) -> None:
        super().__init__(f"The maximum message size of {limit}B was exceeded ({size}B).")
        self.size = size
        self.limit = limit


class UnencodableValueError(HubCliError, TypeError):
    """A value the hub protocol cannot carry (e.g. a 65-bit integer in MessagePack).

    A TypeError too, so JSON encoders that signal "unsupported" that way pass it on.
    """
