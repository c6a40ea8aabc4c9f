"""One frozen dataclass per SignalR hub message.

These are plain values: they know nothing of bytes, which is the business of
`json_protocol` and `msgpack_protocol`. Field names are Pythonic; the wire names
(camelCase in JSON, positions in MessagePack) live in the codecs.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Any, Final

Headers = dict[str, str]


class MessageType(enum.IntEnum):
    INVOCATION = 1
    STREAM_ITEM = 2
    COMPLETION = 3
    STREAM_INVOCATION = 4
    CANCEL_INVOCATION = 5
    PING = 6
    CLOSE = 7
    ACK = 8
    SEQUENCE = 9


@dataclass(frozen=True, slots=True)
class Invocation:
    """Call `target`; with no `invocation_id` the callee must not answer."""

    target: str
    arguments: list[Any]
    invocation_id: str | None = None
    stream_ids: list[str] = field(default_factory=list)
    headers: Headers = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class StreamInvocation:
    """Call a streaming `target`; items come back as StreamItems, then a Completion."""

    invocation_id: str
    target: str
    arguments: list[Any]
    stream_ids: list[str] = field(default_factory=list)
    headers: Headers = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class StreamItem:
    invocation_id: str
    item: Any
    headers: Headers = field(default_factory=dict)


class CompletionKind(enum.Enum):
    ERROR = "error"
    VOID = "void"
    RESULT = "result"


@dataclass(frozen=True, slots=True)
class Completion:
    """The end of an invocation or stream.

    A void method and a method that returned null are different on the wire, so the
    kind is explicit rather than inferred from `result is None`.
    """

    invocation_id: str
    kind: CompletionKind = CompletionKind.VOID
    result: Any = None
    error: str | None = None
    headers: Headers = field(default_factory=dict)

    @classmethod
    def void(cls, invocation_id: str, headers: Headers | None = None) -> Completion:
        return cls(invocation_id, CompletionKind.VOID, headers=headers or {})

    @classmethod
    def with_result(
        cls, invocation_id: str, result: Any, headers: Headers | None = None
    ) -> Completion:
        return cls(invocation_id, CompletionKind.RESULT, result=result, headers=headers or {})

    @classmethod
    def with_error(
        cls, invocation_id: str, error: str, headers: Headers | None = None
    ) -> Completion:
        return cls(invocation_id, CompletionKind.ERROR, error=error, headers=headers or {})


@dataclass(frozen=True, slots=True)
class CancelInvocation:
    invocation_id: str
    headers: Headers = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Ping:
    pass


@dataclass(frozen=True, slots=True)
class Close:
    error: str | None = None
    allow_reconnect: bool = False


@dataclass(frozen=True, slots=True)
class Ack:
    sequence_id: int


@dataclass(frozen=True, slots=True)
class Sequence:
    sequence_id: int


@dataclass(frozen=True, slots=True)
class InvocationBindingFailure:
    """An invocation whose envelope parsed but whose arguments could not be read.

    Produced only by parsers (never encoded). The real server answers it with a
    Completion error instead of dropping the connection, so it must survive parsing
    as a message rather than as an exception.
    """

    invocation_id: str | None
    target: str
    error: str
    is_stream_invocation: bool = False


HubMessage = (
    Invocation
    | StreamInvocation
    | StreamItem
    | Completion
    | CancelInvocation
    | Ping
    | Close
    | Ack
    | Sequence
    | InvocationBindingFailure
)

PING: Final = Ping()


@dataclass(frozen=True, slots=True)
class StreamItemBatch:
    """Consecutive header-less StreamItems of one invocation, from one parser call.

    Produced only by parsers asked to batch (never encoded): a fast stream then costs
    one object per received frame instead of one per item.
    """

    invocation_id: str
    items: list[Any]


@dataclass(frozen=True, slots=True)
class InvocationBatch:
    """Consecutive plain Invocations of one target (no invocation id, headers or
    stream ids), from one parser call: their argument lists, in order.

    Produced only by parsers asked to batch (never encoded): a burst of pushes then
    costs one object per received frame instead of one per message.
    """

    target: str
    arguments: list[list[Any]]


IncomingMessage = HubMessage | StreamItemBatch | InvocationBatch
