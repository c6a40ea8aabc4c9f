"""Stateful reconnect's bookkeeping (ASP.NET Core 8+), without I/O.

Each side numbers the invocation-class messages it sends (Invocation, StreamItem,
Completion, StreamInvocation, CancelInvocation) 1, 2, 3, ... implicitly; the peer
acknowledges the highest it has received with Ack, and after a transport drop the
sender says where its replay starts with Sequence and sends again everything not
acknowledged; the receiver drops what it already had.

`ReplayBuffer` is the sending side: what was sent and not yet acknowledged, with
its size in bytes (the framed, serialized messages, as the real server counts).
`ReceiveLedger` is the receiving side: which ids arrived, which are duplicates after
a Sequence, and when an Ack is due. Both count a batch of messages (a frame's stream
items or pushes, an upload's items sent together) as the messages it holds.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from typing import Final

from .errors import ProtocolError
from .messages import (
    CancelInvocation,
    Completion,
    IncomingMessage,
    Invocation,
    InvocationBatch,
    InvocationBindingFailure,
    StreamInvocation,
    StreamItem,
    StreamItemBatch,
)

DEFAULT_BUFFER_SIZE: Final = 100_000
SEQUENCE_AHEAD: Final = "Sequence ID greater than amount of messages we've received."
_TRACKED: Final = (
    Invocation,
    StreamItem,
    Completion,
    StreamInvocation,
    CancelInvocation,
    InvocationBindingFailure,
)


def tracked_count(message: IncomingMessage) -> int:
    """How many numbered messages `message` stands for (0 for Ping, Close, Ack,
    Sequence)."""
    if isinstance(message, StreamItemBatch):
        return len(message.items)
    if isinstance(message, InvocationBatch):
        return len(message.arguments)
    return 1 if isinstance(message, _TRACKED) else 0


@dataclass(frozen=True, slots=True)
class _Sent:
    first_id: int  # the ids of the first and last messages in `data`
    last_id: int
    data: bytes


class ReplayBuffer:
    """Sent messages kept until the peer acknowledges them."""

    def __init__(self, limit: int = DEFAULT_BUFFER_SIZE) -> None:
        self.limit = limit
        self._sent: deque[_Sent] = deque()
        self.buffered_bytes = 0
        self.total_sent = 0  # the id of the last message sent

    @property
    def full(self) -> bool:
        """Over the limit: the next send should wait for an Ack (as the server's
        writer does, the message that crosses the limit still goes)."""
        return self.buffered_bytes > self.limit

    def add(self, data: bytes, count: int) -> None:
        """Record `data`, the encoding of `count` numbered messages, as sent."""
        if count <= 0:
            return
        first_id = self.total_sent + 1
        self.total_sent += count
        self._sent.append(_Sent(first_id, self.total_sent, data))
        self.buffered_bytes += len(data)

    def ack(self, sequence_id: int) -> bool:
        """Forget what the peer has received up to `sequence_id`; True if that
        freed anything."""
        freed = False
        while self._sent and self._sent[0].last_id <= sequence_id:
            self.buffered_bytes -= len(self._sent.popleft().data)
            freed = True
        return freed

    def replay(self) -> tuple[int, list[bytes]]:
        """The Sequence id to announce and the data to send again, in order.

        A batch partly acknowledged is sent whole, from its first id: the peer
        drops the messages it already has.
        """
        if not self._sent:
            return self.total_sent + 1, []
        return self._sent[0].first_id, [sent.data for sent in self._sent]


class ReceiveLedger:
    """Ids of the numbered messages received; duplicates; when to Ack."""

    def __init__(self, ack_bytes: int = DEFAULT_BUFFER_SIZE // 4) -> None:
        self.latest = 0  # the highest id received
        self._next = 1  # the id the next numbered message has
        self.acked = 0  # the highest id acknowledged
        self._ack_bytes = ack_bytes
        self._unacked_bytes = 0

    def sequence(self, sequence_id: int) -> None:
        """The peer's replay starts at `sequence_id`."""
        if sequence_id > self.latest + 1:
            raise ProtocolError(SEQUENCE_AHEAD)
        self._next = sequence_id
        # The peer may not have had our Ack: give it again with the next one due.
        self.acked = min(self.acked, sequence_id - 1)

    def admit(self, count: int, size: int) -> int:
        """Number `count` messages from `size` received bytes; how many of them,
        from the first, are duplicates to drop."""
        first = self._next
        self._next += count
        duplicates = min(max(self.latest - first + 1, 0), count)
        if self._next - 1 > self.latest:
            self.latest = self._next - 1
            self._unacked_bytes += size
        return duplicates

    @property
    def ack_due_now(self) -> bool:
        """Received enough unacknowledged bytes that the peer's buffer is filling."""
        return self.latest > self.acked and self._unacked_bytes >= self._ack_bytes

    @property
    def ack_pending(self) -> bool:
        return self.latest > self.acked

    def acknowledge(self) -> int:
        """The id an Ack should carry now (the latest received), marked as sent."""
        self.acked = self.latest
        self._unacked_bytes = 0
        return self.latest
