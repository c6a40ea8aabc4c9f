"""The sans-IO SignalR protocol core: messages, codecs, handshake, negotiate.

Nothing here performs I/O or imports trio; every function maps values to bytes or
bytes to values, so the client and the built-in server share one implementation.

The names below load their module on first use: a JSON client never pays for the
MessagePack codec, and a command that only needs `jsonvalues` not for any codec.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any, Final

if TYPE_CHECKING:
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

_HOMES: Final = {
    **dict.fromkeys(("HubProtocol", "MessageParser", "TransferFormat"), "base"),
    **dict.fromkeys(
        (
            "HandshakeError",
            "HubCliError",
            "MessageTooLargeError",
            "NegotiateError",
            "ProtocolError",
            "UnencodableValueError",
        ),
        "errors",
    ),
    "JsonHubProtocol": "json_protocol",
    "MessagePackHubProtocol": "msgpack_protocol",
    **dict.fromkeys(
        (
            "PING",
            "Ack",
            "CancelInvocation",
            "Close",
            "Completion",
            "CompletionKind",
            "HubMessage",
            "IncomingMessage",
            "Invocation",
            "InvocationBindingFailure",
            "MessageType",
            "Ping",
            "Sequence",
            "StreamInvocation",
            "StreamItem",
            "StreamItemBatch",
        ),
        "messages",
    ),
}

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
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(import_module(f".{home}", __name__), name)
    globals()[name] = value  # later lookups skip __getattr__
    return value


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
    "TransferFormat",
    "UnencodableValueError",
    "protocol_by_name",
]
