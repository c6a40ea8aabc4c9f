"""The sans-IO SignalR protocol core: messages, codecs, handshake, negotiate.

Nothing here performs I/O or imports trio; every function maps values to bytes or
bytes to values, so the client and the built-in server share one implementation.

The codecs load on first use: a JSON client never imports the MessagePack one.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any, Final

from .base import HubProtocol, MessageParser, TransferFormat
from .errors import (
    HandshakeError,
    HubCliError,
    MessageTooLargeError,
    NegotiateError,
    ProtocolError,
    UnencodableValueError,
)
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
    InvocationBatch,
    InvocationBindingFailure,
    MessageType,
    Ping,
    Sequence,
    StreamInvocation,
    StreamItem,
    StreamItemBatch,
)

if TYPE_CHECKING:
    from .json_protocol import JsonHubProtocol
    from .msgpack_protocol import MessagePackHubProtocol

# The protocol names of the handshake, and where each one's codec lives.
_CODECS: Final = {
    "json": ("json_protocol", "JsonHubProtocol"),
    "messagepack": ("msgpack_protocol", "MessagePackHubProtocol"),
}
PROTOCOL_NAMES: Final = tuple(_CODECS)


def protocol_by_name(name: str) -> HubProtocol:
    """A fresh protocol object; KeyError for names hubcli does not speak."""
    module, cls = _CODECS[name]
    protocol: HubProtocol = getattr(import_module(f".{module}", __name__), cls)()
    return protocol


def __getattr__(name: str) -> Any:
    # The codec classes, imported when first named.
    for module, cls in _CODECS.values():
        if name == cls:
            value = getattr(import_module(f".{module}", __name__), name)
            globals()[name] = value  # later lookups skip __getattr__
            return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "PING",
    "PROTOCOL_NAMES",
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
    "InvocationBatch",
    "TransferFormat",
    "UnencodableValueError",
    "protocol_by_name",
]
