"""Where a stateful connection's bulk write is cut: after the message that takes the
replay buffer over its room (the real server checks before each message), with the
count of the messages before the cut right, whichever side of it is counted."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from hubcli.protocol import TransferFormat
from hubcli.protocol.varint import encode_length
from hubcli.server.replay import BlockReplayBuffer


def framed(sizes: list[int], transfer_format: TransferFormat) -> list[bytes]:
    if transfer_format is TransferFormat.TEXT:
        return [b"x" * size + b"\x1e" for size in sizes]
    return [encode_length(size) + b"y" * size for size in sizes]


def expected_cut(messages: list[bytes], first: int, room: int) -> int:
    """How many of messages[first:] go out: up to and including the first whose
    end is past the room."""
    taken = 0
    for index, message in enumerate(messages[first:]):
        taken += len(message)
        if taken > room:
            return index + 1
    return len(messages) - first


@given(
    sizes=st.lists(st.integers(0, 300), min_size=1, max_size=60),
    limit=st.integers(1, 4000),
    kept=st.integers(0, 4000),
    first=st.integers(0, 59),
    binary=st.booleans(),
)
def test_a_write_is_cut_after_the_message_that_fills_the_room(
    sizes: list[int], limit: int, kept: int, first: int, binary: bool
) -> None:
    transfer_format = TransferFormat.BINARY if binary else TransferFormat.TEXT
    messages = framed(sizes, transfer_format)
    first = min(first, len(messages) - 1)
    data = b"".join(messages)
    start = sum(map(len, messages[:first]))
    count = len(messages) - first
    buffer = BlockReplayBuffer(limit, transfer_format)
    buffer.record(b"k" * kept, 1)
    room = max(min(limit - kept, max(limit // 2, 1)), 0)

    end, head = buffer.split(data, start, count)

    if count <= 1 or len(data) - start <= room:
        assert (end, head) == (len(data), count)
        return
    assert 1 <= head <= count
    assert end == start + sum(map(len, messages[first : first + head]))
    assert head == expected_cut(messages, first, room)
