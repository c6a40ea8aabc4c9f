"""Stateful reconnect's bookkeeping (protocol/stateful.py), without I/O."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hubcli.protocol import (
    Ack,
    CancelInvocation,
    Close,
    Completion,
    HubMessage,
    Invocation,
    InvocationBatch,
    Ping,
    ProtocolError,
    Sequence,
    StreamInvocation,
    StreamItem,
    StreamItemBatch,
)
from hubcli.protocol.stateful import SEQUENCE_AHEAD, ReceiveLedger, ReplayBuffer, tracked_count


def test_what_is_numbered() -> None:
    numbered: list[HubMessage] = [
        Invocation("x", []),
        StreamItem("1", 0),
        Completion.void("1"),
        StreamInvocation("1", "x", []),
        CancelInvocation("1"),
    ]
    assert [tracked_count(message) for message in numbered] == [1] * 5
    assert [tracked_count(m) for m in (Ping(), Close(), Ack(1), Sequence(1))] == [0] * 4
    assert tracked_count(StreamItemBatch("1", [1, 2, 3])) == 3
    assert tracked_count(InvocationBatch("x", [[], []])) == 2


def test_replay_buffer_keeps_until_acked_and_replays_from_the_first_kept() -> None:
    buffer = ReplayBuffer(limit=10)
    buffer.add(b"aaaa", 1)  # id 1
    buffer.add(b"bbbbbbbb", 3)  # ids 2-4
    buffer.add(b"c", 1)  # id 5
    assert (buffer.buffered_bytes, buffer.full) == (13, True)
    assert buffer.replay() == (1, [b"aaaa", b"bbbbbbbb", b"c"])
    assert buffer.ack(3)  # frees only the first entry: the batch is partly acknowledged
    assert buffer.replay() == (2, [b"bbbbbbbb", b"c"])
    assert not buffer.full
    assert not buffer.ack(3)
    assert buffer.ack(5)
    assert buffer.replay() == (6, [])
    assert buffer.buffered_bytes == 0


def test_the_message_that_crosses_the_limit_still_goes() -> None:
    buffer = ReplayBuffer(limit=10)
    buffer.add(b"x" * 10, 1)
    assert not buffer.full  # at the limit, not over it
    buffer.add(b"y", 1)
    assert buffer.full


def test_ledger_drops_replayed_duplicates_and_acks() -> None:
    ledger = ReceiveLedger(ack_bytes=100)
    assert ledger.admit(3, 60) == 0  # ids 1-3
    assert not ledger.ack_due_now
    assert ledger.admit(2, 60) == 0  # ids 4-5: 120 bytes unacknowledged
    assert ledger.ack_due_now
    assert ledger.acknowledge() == 5
    assert not ledger.ack_pending
    ledger.sequence(4)  # the peer replays from 4: 4 and 5 are duplicates
    assert ledger.ack_pending  # the peer may have lost our Ack: give it again
    assert ledger.admit(3, 30) == 2  # ids 4, 5 (had) and 6 (new)
    assert ledger.latest == 6


def test_a_sequence_ahead_of_what_arrived_is_fatal() -> None:
    ledger = ReceiveLedger()
    ledger.admit(2, 10)
    ledger.sequence(3)  # exactly next: fine
    with pytest.raises(ProtocolError, match=SEQUENCE_AHEAD):
        ledger.sequence(4)


@given(st.lists(st.integers(1, 5), min_size=1, max_size=20), st.data())
def test_any_replay_point_delivers_each_message_once(
    counts: list[int], data: st.DataObject
) -> None:
    """Whatever the sender replays from (not beyond what arrived), the receiver
    keeps each message exactly once, in order."""
    ledger = ReceiveLedger()
    delivered: list[int] = []
    next_id = 1
    for count in counts:
        skip = ledger.admit(count, 1)
        delivered.extend(range(next_id + skip, next_id + count))
        next_id += count
    replay_from = data.draw(st.integers(1, next_id))
    ledger.sequence(replay_from)
    for start in range(replay_from, next_id):
        skip = ledger.admit(1, 1)
        delivered.extend(range(start + skip, start + 1))
    assert delivered == list(range(1, next_id))
