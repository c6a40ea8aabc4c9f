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


_set_invocation_target: Final = Invocation.__dict__["target"].__set__
_set_invocation_arguments: Final = Invocation.__dict__["arguments"].__set__
_set_invocation_id: Final = Invocation.__dict__["invocation_id"].__set__
_set_invocation_stream_ids: Final = Invocation.__dict__["stream_ids"].__set__
_set_invocation_headers: Final = Invocation.__dict__["headers"].__set__


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
        if cls is Completion:
            # Every answered call makes one: filled slot by slot, as the frozen
            # dataclass's own __init__ does, without its per-field indirection.
            completion = _new(Completion)
            _set_completion_id(completion, invocation_id)
            _set_completion_kind(completion, CompletionKind.RESULT)
            _set_completion_result(completion, result)
            _set_completion_error(completion, None)
            _set_completion_headers(completion, headers or {})
            return completion
        return cls(invocation_id, CompletionKind.RESULT, result=result, headers=headers or {})

    @classmethod
    def with_error(
        cls, invocation_id: str, error: str, headers: Headers | None = None
    ) -> Completion:
        return cls(invocation_id, CompletionKind.ERROR, error=error, headers=headers or {})


_new: Final = object.__new__
# The slots' own descriptors: what a frozen dataclass's __init__ writes through.
_set_completion_id: Final = Completion.__dict__["invocation_id"].__set__
_set_completion_kind: Final = Completion.__dict__["kind"].__set__
_set_completion_result: Final = Completion.__dict__["result"].__set__
_set_completion_error: Final = Completion.__dict__["error"].__set__
_set_completion_headers: Final = Completion.__dict__["headers"].__set__


def new_invocation(target: str, arguments: list[Any], invocation_id: str | None) -> Invocation:
    """Invocation(target, arguments, invocation_id), built at a third of the cost:
    a parser makes one per received call."""
    invocation = _new(Invocation)
    _set_invocation_target(invocation, target)
    _set_invocation_arguments(invocation, arguments)
    _set_invocation_id(invocation, invocation_id)
    _set_invocation_stream_ids(invocation, [])
    _set_invocation_headers(invocation, {})
    return invocation


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
