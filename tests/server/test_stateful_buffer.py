"""A stateful connection's bookkeeping on the wire: what the server keeps until
acknowledged and how its writes wait on it, and how it numbers what it receives
(duplicates dropped, a Sequence ahead of it fatal)."""

from __future__ import annotations

from itertools import accumulate

import pytest
import trio

from hubcli.protocol import (
    Ack,
    CancelInvocation,
    Close,
    Completion,
    IncomingMessage,
    Invocation,
    Ping,
    Sequence,
    StreamInvocation,
    StreamItem,
    protocol_by_name,
)
from tests.server.conftest import StartHub
from tests.server.rawclient import RawHub

PROTOCOLS = ["json", "messagepack"]


def items_sent_before_the_gate(protocol: str, limit: int, count: int) -> int:
    """How many StreamItems of stream "s" (items 0, 1, ...) the real server writes
    before its buffer is over `limit`: each one while the bytes kept are at most
    the limit, so the one that goes over is written too."""
    codec = protocol_by_name(protocol)
    sizes = [len(codec.encode(StreamItem("s", index))) for index in range(count)]
    before = [0, *accumulate(sizes)]
    return sum(1 for kept in before[:count] if kept <= limit)


async def items_until_quiet(raw: RawHub) -> list[object]:
    """Stream items until two pings in a row: the writer is stuck (pings are not)."""
    items: list[object] = []
    pings = 0
    while pings < 2:
        message = await raw.receive()
        if isinstance(message, Ping):
            pings += 1
        else:
            assert isinstance(message, StreamItem), message
            items.append(message.item)
            pings = 0
    return items


@pytest.mark.parametrize("protocol", PROTOCOLS)
@pytest.mark.parametrize("method", ["Counter", "FastStream"])
async def test_writes_wait_for_acks_once_the_buffer_is_full(
    start_hub: StartHub, protocol: str, method: str
) -> None:
    limit = 1000
    hub = await start_hub(
        allow_stateful_reconnect=True, stateful_reconnect_buffer_size=limit, keepalive=0.1
    )
    count = 300
    expected = items_sent_before_the_gate(protocol, limit, count)
    assert 10 < expected < count
    arguments = [count, 0] if method == "Counter" else [count]
    async with RawHub.connect(hub.url, protocol=protocol, stateful=True) as raw:
        await raw.send(StreamInvocation("s", method, arguments))
        # FastStream encodes 300 items in one go: the server splits them where
        # per-message writes would have stopped.
        first = await items_until_quiet(raw)
        assert first == list(range(expected))
        # An Ack of half of them frees room: writing goes on until over again.
        await raw.send(Ack(expected // 2))
        second = await items_until_quiet(raw)
        assert second[0] == expected
        assert 0 < len(second) <= expected
        # Acknowledging everything as it comes lets the rest through.
        received = first + second
        while True:
            await raw.send(Ack(len(received)))
            message = await raw.receive()
            if isinstance(message, Completion):
                break
            if isinstance(message, StreamItem):
                received.append(message.item)
        assert received == list(range(count))
        assert message == Completion.void("s")


async def test_an_ack_that_leaves_the_buffer_at_its_limit_frees_nothing(
    start_hub: StartHub,
) -> None:
    # Items 0-9 are 39 bytes each in JSON: with room for three, the fourth goes
    # over (117 bytes kept before it, not more than the limit).
    size = len(protocol_by_name("json").encode(StreamItem("s", 0)))
    assert size == 39
    hub = await start_hub(
        allow_stateful_reconnect=True, stateful_reconnect_buffer_size=3 * size, keepalive=0.1
    )
    async with RawHub.connect(hub.url, stateful=True) as raw:
        await raw.send(StreamInvocation("s", "Counter", [10, 0]))
        assert await items_until_quiet(raw) == [0, 1, 2, 3]
        # 117 bytes kept: at the limit, not below it, so the writer still waits.
        await raw.send(Ack(1))
        assert await items_until_quiet(raw) == []
        await raw.send(Ack(2))
        assert await items_until_quiet(raw) == [4, 5]


async def test_acks_only_when_something_new_arrived(start_hub: StartHub) -> None:
    hub = await start_hub(allow_stateful_reconnect=True, ack_interval=0.05, keepalive=0.1)
    async with RawHub.connect(hub.url, stateful=True) as raw:
        await raw.send(Invocation("Add", [1, 2]))
        while await raw.receive() != Ack(1):
            pass
        # Three pings (six Ack periods) without another Ack.
        for _ in range(3):
            assert await raw.receive() == Ping()


async def test_acks_beyond_what_was_sent_are_harmless(start_hub: StartHub) -> None:
    hub = await start_hub(allow_stateful_reconnect=True, stateful_reconnect_buffer_size=200)
    async with RawHub.connect(hub.url, stateful=True) as raw:
        await raw.send(Ack(1000), Ack(-5))
        items, completion = await raw.stream("Counter", 3, 0)
        assert (items, completion.error) == ([0, 1, 2], None)


async def test_pings_are_not_held_by_the_gate(start_hub: StartHub) -> None:
    # A buffer of one byte: every write after the first waits for an Ack.
    hub = await start_hub(
        allow_stateful_reconnect=True, stateful_reconnect_buffer_size=1, keepalive=0.1
    )
    async with RawHub.connect(hub.url, stateful=True) as raw:
        await raw.send(StreamInvocation("s", "Counter", [5, 0]))
        assert await items_until_quiet(raw) == [0]


async def received_before(raw: RawHub, invocation_id: str) -> list[IncomingMessage]:
    return await raw.receive_until(
        lambda m: isinstance(m, Completion) and m.invocation_id == invocation_id
    )


def completions(messages: list[IncomingMessage]) -> list[str]:
    return [m.invocation_id for m in messages if isinstance(m, Completion)]


@pytest.mark.parametrize("protocol", PROTOCOLS)
async def test_duplicates_after_a_sequence_are_dropped(start_hub: StartHub, protocol: str) -> None:
    hub = await start_hub(allow_stateful_reconnect=True)
    async with RawHub.connect(hub.url, protocol=protocol, stateful=True) as raw:
        await raw.send(Invocation("Add", [1, 2], "1"))
        assert completions(await received_before(raw, "1")) == ["1"]
        # A resumed client replays from its first unacknowledged message (id 1):
        # the server has it, so only the new one (id 2) runs.
        await raw.send(Sequence(1), Invocation("Add", [1, 2], "1"), Invocation("Add", [2, 2], "2"))
        received = await received_before(raw, "2")
        assert completions(received) == ["2"]
        assert received[-1] == Completion.with_result("2", 4)


async def test_a_replayed_upload_counts_each_item_once(start_hub: StartHub) -> None:
    hub = await start_hub(allow_stateful_reconnect=True)
    async with RawHub.connect(hub.url, stateful=True) as raw:
        await raw.send(
            Invocation("UploadSum", [], "sum", stream_ids=["u"]),
            StreamItem("u", 1),
            StreamItem("u", 2),
        )
        # Items 2 and 3 again (ids 2, 3), then new ones.
        await raw.send(Sequence(2), StreamItem("u", 1), StreamItem("u", 2), StreamItem("u", 3))
        await raw.send(Completion.void("u"))
        assert (await raw.receive_completion("sum")).result == 6


async def test_every_invocation_class_message_counts_bound_or_not(start_hub: StartHub) -> None:
    hub = await start_hub(allow_stateful_reconnect=True, ack_interval=0.05)
    async with RawHub.connect(hub.url, stateful=True) as raw:
        # None of these reaches a method (unknown stream, wrong argument types, ids
        # nobody uses), and the real server counts all but the first; hubcli counts
        # by the wire type, as the client does.
        await raw.send(
            StreamItem("nobody", 1),
            Invocation("Add", ["x", 1]),
            CancelInvocation("nobody"),
            Completion.void("nobody"),
        )
        with trio.fail_after(5):
            while True:
                message = await raw.receive()
                if isinstance(message, Ack):
                    assert message.sequence_id <= 4
                    if message.sequence_id == 4:
                        break


@pytest.mark.parametrize(
    ("detailed", "error"),
    [
        (False, "Connection closed with an error."),
        (
            True,
            "Connection closed with an error. InvalidOperationException: "
            "Sequence ID greater than amount of messages we've received.",
        ),
    ],
)
async def test_a_sequence_ahead_of_the_server_ends_the_connection(
    start_hub: StartHub, detailed: bool, error: str
) -> None:
    hub = await start_hub(allow_stateful_reconnect=True, detailed_errors=detailed)
    async with RawHub.connect(hub.url, stateful=True) as raw:
        assert (await raw.invoke("Add", 1, 2)).result == 3
        # One message received: 2 is the next id, so Sequence(2) is fine...
        await raw.send(Sequence(2))
        assert (await raw.invoke("Add", 2, 2)).result == 4
        # ...and 4 is one beyond the next (3).
        await raw.send(Sequence(4))
        received = await raw.receive_all()
    assert received[-1] == Close(error, allow_reconnect=True)


@pytest.mark.parametrize("stateful", [False, True])
async def test_a_stream_that_throws_midway_completes_with_its_error(
    start_hub: StartHub, stateful: bool
) -> None:
    """Stateful streams are produced ahead of the Acks (in a task of their own);
    an exception there still ends the stream as it does without stateful."""
    hub = await start_hub(allow_stateful_reconnect=True, stateful_reconnect_buffer_size=200)
    async with RawHub.connect(hub.url, stateful=stateful) as raw:
        await raw.send(StreamInvocation("s", "StreamThenThrow", [30, "boom"]))
        items: list[object] = []
        while True:
            message = await raw.receive()
            if isinstance(message, StreamItem):
                items.append(message.item)
                if stateful:
                    await raw.send(Ack(len(items)))
            elif isinstance(message, Completion):
                break
        assert items == list(range(30))
        assert (
            message.error
            == "An error occurred on the server while streaming results. HubException: boom"
        )


async def test_cancelling_a_stream_held_back_by_the_buffer_ends_it(start_hub: StartHub) -> None:
    hub = await start_hub(
        allow_stateful_reconnect=True, stateful_reconnect_buffer_size=200, keepalive=0.1
    )
    async with RawHub.connect(hub.url, stateful=True) as raw:
        await raw.send(StreamInvocation("s", "FastObjects", [100_000]))
        held = await items_until_quiet(raw)
        assert held
        await raw.send(CancelInvocation("s"))
        await raw.send(Invocation("WaitForCancelledStreams", [1, 10_000], "w"))
        # The answer is held back too until the items before it are acknowledged.
        await raw.send(Ack(len(held)))
        answer = [
            message
            for message in await raw.receive_until(
                lambda message: isinstance(message, Completion) and message.invocation_id == "w"
            )
            if not isinstance(message, Ping)
        ]
        # No item after the cancel; the stream completes without error (as it does
        # on a connection that is not stateful), and the hub counted the cancel.
        # (The two Completions may come in either order: the count is taken first.)
        assert answer[-1] == Completion.with_result("w", 1)
        assert answer[:-1] in ([], [Completion.void("s")])


async def test_an_invocation_held_by_the_buffer_leaves_acks_to_be_read(
    start_hub: StartHub,
) -> None:
    # Echo never awaits, yet its Completion waits for room like any write: the Acks
    # that make room must still be read meanwhile (the real server's dispatch loop
    # goes on while an invocation runs).
    size = len(protocol_by_name("json").encode(StreamItem("s", 0)))
    hub = await start_hub(
        allow_stateful_reconnect=True, stateful_reconnect_buffer_size=3 * size, keepalive=0.1
    )
    async with RawHub.connect(hub.url, stateful=True) as raw:
        await raw.send(StreamInvocation("s", "Counter", [10, 0]))
        assert await items_until_quiet(raw) == [0, 1, 2, 3]
        await raw.send(Invocation("Echo", ["held"], "e"))
        assert await items_until_quiet(raw) == []
        await raw.send(Ack(4))
        with trio.fail_after(10):
            while (message := await raw.receive()) != Completion.with_result("e", "held"):
                assert isinstance(message, (StreamItem, Ping, Ack)), message
