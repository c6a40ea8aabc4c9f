"""Stateful reconnect's bookkeeping: what was sent and not yet acknowledged, and the
numbering of what arrives. The real server's MessageBuffer, in two halves.

`BlockReplayBuffer` (sending): every invocation-class message written (Invocation,
StreamItem, Completion, StreamInvocation, CancelInvocation) gets the next id from
1 and is kept, as the framed bytes that went out, until the client acknowledges
it. Once the kept bytes exceed the limit, the next write waits until an Ack
brings them below it: the message that crosses the limit still goes out. A bulk
write (many messages in one piece of bytes) is split at that message, so the
wire carries exactly what per-message writes would have carried.

`InboundSequence` (receiving): each invocation-class message received takes the
next expected id; one at or below the latest already received is a duplicate
(replayed after a resume) and is dropped. A Sequence rewinds the expected id; one
ahead of it is fatal. The caller counts by the message's wire type, before
binding, so a stream item nobody waits for still counts (the real server's
StreamBindingFailureMessage does not, and its ids drift; not copied).
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from typing import Final

import trio

from hubcli.protocol import TransferFormat
from hubcli.protocol.varint import decode_length

from .errors import InvalidOperationException

SEQUENCE_AHEAD: Final = "Sequence ID greater than amount of messages we've received."
_RECORD_SEPARATOR: Final = 0x1E
# The real server starts its "latest received" and "last acked" at long.MinValue:
# a Sequence may legally rewind to 0 or below, and those ids must still count.
_NOTHING: Final = -(2**63)


class SequenceAheadError(InvalidOperationException):
    """The client's Sequence names an id beyond the next one expected."""

    def __init__(self) -> None:
        super().__init__(SEQUENCE_AHEAD)


# ------------------------------------------------------------------- framing


class _TextFraming:
    """JSON: each record ends with 0x1E, a byte JSON text never holds unescaped."""

    @staticmethod
    def split(data: bytes, start: int, room: int, count: int) -> tuple[int, int]:
        end = data.find(_RECORD_SEPARATOR, start + room) + 1
        if end == 0:
            end = len(data)
        # Counting is a pass over the bytes (a stream's whole output goes through
        # here): count the shorter side.
        if end - start <= len(data) - end:
            return end, data.count(_RECORD_SEPARATOR, start, end)
        return end, count - data.count(_RECORD_SEPARATOR, end)

    @staticmethod
    def end_of(data: bytes, count: int) -> int:
        end = 0
        for _ in range(count):
            end = data.index(_RECORD_SEPARATOR, end) + 1
        return end


class _BinaryFraming:
    """MessagePack: each message is a VarInt length, then that many bytes."""

    @staticmethod
    def split(data: bytes, start: int, room: int, count: int) -> tuple[int, int]:
        del count  # the lengths are walked anyway
        end = start
        count = 0
        limit = start + room
        while end < len(data):
            decoded = decode_length(data, end)
            assert decoded is not None, "the server frames whole messages"
            length, prefix = decoded
            end += prefix + length
            count += 1
            if end > limit:
                break
        return end, count

    @staticmethod
    def end_of(data: bytes, count: int) -> int:
        end = 0
        for _ in range(count):
            decoded = decode_length(data, end)
            assert decoded is not None, "the server frames whole messages"
            length, prefix = decoded
            end += prefix + length
        return end


_Framing = type[_TextFraming] | type[_BinaryFraming]


# ------------------------------------------------------------------- sending


@dataclass(slots=True)
class _Block:
    """Consecutive messages written together: ids first_id .. first_id+count-1."""

    first_id: int
    count: int
    data: bytes


class BlockReplayBuffer:
    """What was sent and not yet acknowledged, kept as the framed blocks that went
    out (the protocol core's ReplayBuffer keeps messages one by one)."""

    def __init__(self, limit: int, transfer_format: TransferFormat) -> None:
        self._limit = limit
        # Bulk writes go out in pieces of half the limit at most, so two frames are
        # in flight and a client can acknowledge the first while the second
        # arrives: with one frame the size of the whole buffer, each would wait for
        # the Ack of the one before. (Quarters measured no faster: more frames,
        # more Acks, more wake-ups.)
        self._piece = max(limit // 2, 1)
        self._framing: _Framing = (
            _TextFraming if transfer_format is TransferFormat.TEXT else _BinaryFraming
        )
        self._blocks: deque[_Block] = deque()
        self._bytes = 0
        self._sent = 0
        self._closed = False
        self._acked = trio.Event()

    @property
    def limit(self) -> int:
        return self._limit

    @property
    def buffered_bytes(self) -> int:
        return self._bytes

    @property
    def sent(self) -> int:
        """How many counted messages were written: the last id handed out."""
        return self._sent

    def record(self, data: bytes, count: int) -> None:
        """Keep `data`, `count` framed messages just written, under the next ids."""
        self._blocks.append(_Block(self._sent + 1, count, data))
        self._sent += count
        self._bytes += len(data)

    def split(self, data: bytes, start: int, count: int) -> tuple[int, int]:
        """(end, count): of the `count` messages of `data` from offset `start`, those
        that may go out now, up to and including the one that takes the buffer over
        its limit (or past half of it, a piece). Offsets, not slices: the rest of a
        large write is never copied."""
        room = min(self._limit - self._bytes, self._piece)
        if count <= 1 or len(data) - start <= room:
            return len(data), count
        end, head_count = self._framing.split(data, start, max(room, 0), count)
        if end >= len(data):
            return len(data), count
        return end, head_count

    @property
    def over_limit(self) -> bool:
        """Whether wait_for_room() would wait for an Ack."""
        return self._bytes > self._limit and not self._closed

    async def wait_for_room(self) -> None:
        """Return at once unless the buffer is over its limit; then once an Ack has
        brought it below the limit (or the connection is over). A checkpoint."""
        await trio.lowlevel.checkpoint()
        if self._bytes > self._limit:
            while self._bytes >= self._limit and not self._closed:
                await self._acked.wait()

    def ack(self, sequence_id: int) -> None:
        """Forget every message up to `sequence_id`; ids never sent are no error."""
        blocks = self._blocks
        while blocks and blocks[0].first_id + blocks[0].count - 1 <= sequence_id:
            self._bytes -= len(blocks.popleft().data)
        if blocks and blocks[0].first_id <= sequence_id:
            head = blocks[0]
            acked = sequence_id - head.first_id + 1
            end = self._framing.end_of(head.data, acked)
            self._bytes -= end
            head.data = head.data[end:]
            head.first_id += acked
            head.count -= acked
        self._wake()

    def replay(self) -> tuple[int, bytes]:
        """The id a resumed client should expect first, and every kept message."""
        if not self._blocks:
            return self._sent + 1, b""
        return self._blocks[0].first_id, b"".join(block.data for block in self._blocks)

    def close(self) -> None:
        """The connection is over: nobody waits for room any more."""
        self._closed = True
        self._wake()

    def _wake(self) -> None:
        self._acked.set()
        self._acked = trio.Event()


# ----------------------------------------------------------------- receiving


class InboundSequence:
    def __init__(self) -> None:
        self._next_id = 1
        self._latest = _NOTHING
        self._last_acked = _NOTHING

    @property
    def latest(self) -> int:
        return self._latest

    def accept(self) -> bool:
        """Number one received invocation-class message; False for a duplicate."""
        current = self._next_id
        self._next_id += 1
        if current <= self._latest:
            return False
        self._latest = current
        return True

    def rewind(self, sequence_id: int) -> None:
        """Apply the client's Sequence: the next message it sends has this id."""
        if sequence_id > self._next_id:
            raise SequenceAheadError
        self._next_id = sequence_id

    def take_ack(self) -> int | None:
        """The id to acknowledge now, if anything arrived since the last Ack."""
        if self._last_acked >= self._latest:
            return None
        self._last_acked = self._latest
        return self._latest

    def ack_again(self) -> None:
        """After a resume: the last Acks may have gone into the dead socket, and the
        client's replays are all duplicates, which move nothing; without this its
        buffer would stay full until it sent something new."""
        self._last_acked = _NOTHING
