"""The WebSocket's read task dispatches what it reads while the hub waits for input,
and hands the hub's dispatch task whatever would wait (a busy invocation slot, a full
upload) with all that follows it: either way, messages act in the order sent."""

from __future__ import annotations

import hashlib

from wsproto.events import Ping, Pong, TextMessage

from hubcli.protocol import (
    Close,
    Completion,
    HubMessage,
    IncomingMessage,
    Invocation,
    StreamItem,
    protocol_by_name,
)
from hubcli.protocol import Ping as HubPing
from hubcli.server.methods.uploads import item_line
from tests.server.conftest import Hub, StartHub
from tests.server.rawclient import BareWebSocket, RawHub


async def test_items_held_by_a_full_upload_keep_their_order(start_hub: StartHub) -> None:
    # Thousands of one-item frames in one write: the reads come full, so the read
    # task goes on reading (and queueing in the pipe) right after handing over the
    # items that found the upload's buffer full, before the dispatch task runs.
    hub = await start_hub(stream_buffer_capacity=1)
    items = [str(index) for index in range(4000)]
    json = protocol_by_name("json")
    messages: list[HubMessage] = [Invocation("UploadSummary", [], "u", stream_ids=["s"])]
    messages += [StreamItem("s", item) for item in items]
    messages.append(Completion.void("s"))
    async with BareWebSocket.connect(f"{hub.url}?negotiateVersion=0") as bare:
        await bare.send_text('{"protocol":"json","version":1}\x1e')
        assert await bare.next_event() == TextMessage("{}\x1e")
        frames = [TextMessage(json.encode(message).decode()) for message in messages]
        await bare.stream.send_all(b"".join(bare.connection.send(frame) for frame in frames))
        while True:
            event = await bare.next_event()
            assert isinstance(event, TextMessage), event
            answers = json.parser().feed(event.data.encode())
            completion = next((m for m in answers if isinstance(m, Completion)), None)
            if completion is not None:
                break
    checksum = hashlib.sha256(b"".join(item_line(item) for item in items)).hexdigest()
    assert completion == Completion.with_result("u", {"count": len(items), "checksum": checksum})


async def test_invocations_waiting_for_the_slot_keep_their_order(hub: Hub) -> None:
    async with RawHub.connect(hub.url) as raw:
        # "b" waits for "a"'s slot; "c", in a frame of its own, comes after it.
        await raw.send(Invocation("Slow", [100], "a"), Invocation("Echo", ["b"], "b"))
        await raw.send(Invocation("Echo", ["c"], "c"))
        completions: list[Completion] = []
        while len(completions) < 3:
            message = await raw.receive()
            if isinstance(message, Completion):
                completions.append(message)
    assert completions == [
        Completion.with_result("a", 100),
        Completion.with_result("b", "b"),
        Completion.with_result("c", "c"),
    ]


async def test_the_socket_is_read_while_an_invocation_waits_for_the_slot(hub: Hub) -> None:
    # "b" waits for "a"'s slot in the dispatch task, not in the read task: a ping
    # sent after them is answered while "a" still runs.
    json = protocol_by_name("json")
    async with BareWebSocket.connect(f"{hub.url}?negotiateVersion=0") as bare:
        await bare.send_text('{"protocol":"json","version":1}\x1e')
        assert await bare.next_event() == TextMessage("{}\x1e")
        calls = [Invocation("Slow", [2000], "a"), Invocation("Echo", ["b"], "b")]
        await bare.send_text(json.encode_many(calls).decode())
        await bare.stream.send_all(bare.connection.send(Ping(b"still there?")))
        assert await bare.next_event() == Pong(b"still there?")


async def test_nothing_read_after_a_message_that_ends_the_connection_is_dispatched(
    hub: Hub,
) -> None:
    # A message over the size limit, and in the same write (past the first full
    # read) the Completion of the upload it belonged to: the connection ends with
    # the size error, and the upload is never completed.
    json = protocol_by_name("json")
    async with BareWebSocket.connect(f"{hub.url}?negotiateVersion=0") as bare:
        await bare.send_text('{"protocol":"json","version":1}\x1e')
        assert await bare.next_event() == TextMessage("{}\x1e")
        await bare.send_text(json.encode(Invocation("UploadSummary", [], "u", ["s"])).decode())
        too_large = StreamItem("s", "x" * 40_000)
        pings = [HubPing()] * 3000  # 33 KB: the first read is full
        end = Completion.void("s")
        frames = [json.encode(too_large), json.encode_many(pings), json.encode(end)]
        data = b"".join(bare.connection.send(TextMessage(frame.decode())) for frame in frames)
        await bare.stream.send_all(data)
        received: list[IncomingMessage] = []
        while not any(isinstance(message, Close) for message in received):
            event = await bare.next_event()
            assert isinstance(event, TextMessage), event
            received += json.parser().feed(event.data.encode())
    assert not any(isinstance(message, Completion) for message in received), received
