"""The sans-IO SignalR protocol core: messages, codecs, handshake, negotiate.

Nothing here performs I/O or imports trio; every function maps values to bytes or
bytes to values, so the client and the built-in server share one implementation.
"""

from __future__ import annotations

from .base import HubProtocol, MessageParser, TransferFormat
from .errors import (
    HandshakeError,
    HubCliError,
    MessageTooLargeError,
    NegotiateError,
    ProtocolError,
    UnencodableValueError,
)
from .json_protocol import JsonHubProtocol
from .messages import (
    PING,
    Ack,
    CancelInvocation,
    Close,
    Completion,
    CompletionKind,
    HubMessage,
    IncomingMessage,
    Invocation,
    InvocationBindingFailure,
    MessageType,
    Ping,
    Sequence,
    StreamInvocation,
    StreamItem,
    StreamItemBatch,
)
from .msgpack_protocol import MessagePackHubProtocol

PROTOCOLS: dict[str, type[JsonHubProtocol] | type[MessagePackHubProtocol]] = {
    "json": JsonHubProtocol,
    "messagepack": MessagePackHubProtocol,
}


def protocol_by_name(name: str) -> HubProtocol:
    """A fresh protocol object; KeyError for names hubcli does not speak."""
    return PROTOCOLS[name]()


__all__ = [
    "PING",
    "PROTOCOLS",
    "Ack",
    "CancelInvocation",
    "Close",
    "Completion",
    "CompletionKind",
    "HandshakeError",
    "HubCliError",
    "HubMessage",
    "HubProtocol",
    "IncomingMessage",
    "Invocation",
    "InvocationBindingFailure",
    "JsonHubProtocol",
    "MessageParser",
    "MessagePackHubProtocol",
    "MessageTooLargeError",
    "MessageType",
    "NegotiateError",
    "Ping",
    "ProtocolError",
    "Sequence",
    "StreamInvocation",
    "StreamItem",
    "StreamItemBatch",
    "TransferFormat",
    "UnencodableValueError",
    "protocol_by_name",
]
