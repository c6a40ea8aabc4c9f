"""Streams both ways: items, cancellation, uploads, and what the hub reports of them."""

from __future__ import annotations

import hashlib

import pytest
import trio

from hubcli.protocol import (
    CancelInvocation,
    Close,
    Completion,
    CompletionKind,
    Invocation,
    StreamInvocation,
    StreamItem,
)
from tests.server.conftest import Hub, StartHub
from tests.server.rawclient import RawHub


async def test_counter_and_trigger_stream(start_hub: StartHub) -> None:
    hub = await start_hub(stream_delay_ms=0)
    async with RawHub.connect(hub.url) as raw:
        assert await raw.stream("Counter", 4, 0) == ([0, 1, 2, 3], Completion.void("1"))
        items, _ = await raw.stream("TriggerStream", 2)
        assert items == ["Job 0 executed successfully", "Job 1 executed successfully"]
        assert await raw.stream("Stream") == (["a", "b", "c"], Completion.void("3"))
        assert await raw.stream("EmptyStream") == ([], Completion.void("4"))


@pytest.mark.parametrize("protocol", ["json", "messagepack"])
async def test_fast_stream_packs_many_items_per_frame(hub: Hub, protocol: str) -> None:
    async with RawHub.connect(hub.url, protocol=protocol) as raw:
        items, completion = await raw.stream("FastStream", 10_000)
        assert items == list(range(10_000))
        assert completion.kind is CompletionKind.VOID
        # handshake frame + far fewer frames than items
        assert len(raw.frame_types) < 100
        objects, _ = await raw.stream("FastObjects", 3000)
        assert [o["id"] for o in objects] == list(range(3000))
        assert objects[5] == {
            "id": 5,
            "name": "item-00000005",
            "active": False,
            "score": 1.25,
            "tags": ["alpha", "beta"],
            "note": "abcdefghijklmnop",
        }
        assert objects[2048]["name"] == "item-00002048"  # the second batch


async def test_bulk_encoding_matches_the_core() -> None:
    from hubcli.protocol import JsonHubProtocol, MessagePackHubProtocol
    from hubcli.server.bulk import stream_item_encoder

    values = [0, -1, 2**40, 1.5, "é\n\x1e", None, True, [1, {"a": b"x"}], {"k": "v"}]
    for protocol in (JsonHubProtocol(), MessagePackHubProtocol()):
        for items in (values, [1, 2, 3], []):
            expected = protocol.encode_many(StreamItem("7", item) for item in items)
            assert stream_item_encoder(protocol, "7")(items) == expected
    beyond_orjson = [{"id": 2**70}, {"id": 1}]  # JSON carries any integer; orjson does not
    expected = JsonHubProtocol().encode_many(StreamItem("7", item) for item in beyond_orjson)
    assert stream_item_encoder(JsonHubProtocol(), "7")(beyond_orjson) == expected


async def test_cancel_stops_the_stream_and_completes_it_without_error(hub: Hub) -> None:
    async with RawHub.connect(hub.url) as raw:
        before = (await raw.invoke("GetCancelledStreamCount")).result
        await raw.send(StreamInvocation("s", "Forever", [0]))
        while True:
            message = await raw.receive()
            if isinstance(message, StreamItem) and message.item >= 100:
                break
        await raw.send(CancelInvocation("s"))
        completion = await raw.receive_completion("s")
        assert completion == Completion.void("s")
        assert (await raw.invoke("GetCancelledStreamCount")).result == before + 1
        assert (await raw.invoke("WaitForCancelledStreams", before + 1, 1000)).result == before + 1
        assert hub.app.state.cancelled_streams == before + 1


@pytest.mark.parametrize("protocol", ["json", "messagepack"])
async def test_cancel_in_the_same_frame_as_its_stream_invocation(hub: Hub, protocol: str) -> None:
    # The server must know the stream by the time it reads the next message, however
    # soon that comes: here both share one WebSocket frame.
    async with RawHub.connect(hub.url, protocol=protocol) as raw:
        before = hub.app.state.cancelled_streams
        await raw.send(StreamInvocation("s", "Forever", [10]), CancelInvocation("s"))
        # Items keep coming if the cancel was lost, so bound the whole wait.
        with trio.fail_after(5):
            completion = await raw.receive_completion("s")
        assert completion == Completion.void("s")
        assert (await raw.invoke("WaitForCancelledStreams", before + 1, 1000)).result == before + 1
        assert hub.app.state.cancelled_streams == before + 1


async def test_wait_for_cancelled_streams_waits_for_another_connection(hub: Hub) -> None:
    async with RawHub.connect(hub.url) as waiter, RawHub.connect(hub.url) as streamer:
        await waiter.send(Invocation("WaitForCancelledStreams", [1, 5000], "w"))
        await streamer.send(StreamInvocation("s", "Forever", [10]))
        await streamer.receive()
        await streamer.send(CancelInvocation("s"))
        assert (await waiter.receive_completion("w")).result == 1


async def test_wait_for_cancelled_streams_times_out(hub: Hub) -> None:
    async with RawHub.connect(hub.url) as raw:
        completion = await raw.invoke("WaitForCancelledStreams", 1, 50)
    assert completion.error == (
        "An unexpected error occurred invoking 'WaitForCancelledStreams' on the server. "
        "HubException: Timed out after 50 ms waiting for 1 cancelled stream(s); 0 so far."
    )


async def test_infinite_stream_tells_the_client_it_was_canceled(hub: Hub) -> None:
    async with RawHub.connect(hub.url) as raw:
        await raw.send(StreamInvocation("s", "InfiniteStream", []))
        await raw.send(CancelInvocation("s"))
        first = await raw.receive()
        second = await raw.receive()
    assert first == Invocation("StreamCanceled", [])
    assert second == Completion.void("s")


async def test_cancel_of_unknown_or_plain_invocations_is_ignored(hub: Hub) -> None:
    async with RawHub.connect(hub.url) as raw:
        await raw.send(Invocation("Slow", [50], "1"), CancelInvocation("1"), CancelInvocation("zz"))
        assert await raw.receive_completion("1") == Completion.with_result("1", 50)


async def upload(
    raw: RawHub, target: str, items: list[object], error: str | None = None
) -> Completion:
    await raw.send(Invocation(target, [], "up", ["0"]))
    await raw.send(*(StreamItem("0", item) for item in items))
    end = Completion.with_error("0", error) if error else Completion.void("0")
    await raw.send(end)
    return await raw.receive_completion("up")


@pytest.mark.parametrize("protocol", ["json", "messagepack"])
async def test_upload_summary_is_sha256_of_lines(hub: Hub, protocol: str) -> None:
    items: list[object] = [str(n) for n in range(1, 1001)] + [{"a": 1}, 2, None]
    expected_text = "".join(f"{n}\n" for n in range(1, 1001)) + '{"a":1}\n2\nnull\n'
    summary = {"count": 1003, "checksum": hashlib.sha256(expected_text.encode()).hexdigest()}
    async with RawHub.connect(hub.url, protocol=protocol) as raw:
        assert (await upload(raw, "UploadSummary", items)).result == summary
        assert (await raw.invoke("GetLastUpload")).result == summary
    assert hub.app.state.last_upload == summary


async def test_upload_methods(hub: Hub) -> None:
    async with RawHub.connect(hub.url) as raw:
        assert (await raw.invoke("GetLastUpload")).result is None
        assert (await upload(raw, "StreamingConcat", ["a", "b", "c"])).result == "abc"
        assert (await upload(raw, "UploadSum", [1, 2.5])).result == 3.5
        assert (await upload(raw, "UploadStream", ["x"])).result is None


async def test_upload_ended_with_an_error(start_hub: StartHub) -> None:
    plain, detailed = await start_hub(), await start_hub(detailed_errors=True)
    async with RawHub.connect(plain.url) as raw:
        completion = await upload(raw, "StreamingConcat", ["a"], error="client broke")
        assert completion.error == (
            "An unexpected error occurred invoking 'StreamingConcat' on the server. "
            "HubException: client broke"
        )
    async with RawHub.connect(detailed.url) as raw:
        completion = await upload(raw, "StreamingConcat", ["a"], error="client broke")
        assert completion.error == (
            "An unexpected error occurred invoking 'StreamingConcat' on the server. "
            "HubException: client broke"
        )


async def test_stream_echo(hub: Hub) -> None:
    async with RawHub.connect(hub.url) as raw:
        await raw.send(StreamInvocation("e", "StreamEcho", [], ["0"]))
        for word in ("one", "two"):
            await raw.send(StreamItem("0", word))
            assert await raw.receive() == StreamItem("e", word)
        await raw.send(Completion.void("0"))
        assert await raw.receive() == Completion.void("e")


async def test_stream_echo_int_refuses_a_string_item(hub: Hub) -> None:
    async with RawHub.connect(hub.url) as raw:
        await raw.send(StreamInvocation("e", "StreamEchoInt", [], ["0"]))
        await raw.send(StreamItem("0", 1), StreamItem("0", "two"))
        assert await raw.receive() == StreamItem("e", 1)
        completion = await raw.receive_completion("e")
        # The binding failure completes the method's reader with a HubException,
        # as any client stream's error does, so its text comes back.
        assert completion.error == (
            "An error occurred on the server while streaming results. "
            "HubException: Failed to bind Stream message."
        )


async def test_upload_ended_in_the_same_frame_as_its_invocation(hub: Hub) -> None:
    # The method gets its client streams even if they end before it starts running.
    async with RawHub.connect(hub.url) as raw:
        await raw.send(Invocation("UploadSum", [], "up", ["0"]), Completion.void("0"))
        assert await raw.receive_completion("up") == Completion.with_result("up", 0)
        await raw.send(StreamInvocation("e", "StreamEchoInt", [], ["0"]), StreamItem("0", "two"))
        completion = await raw.receive_completion("e")
        # The binding failure completes the method's reader with a HubException,
        # as any client stream's error does, so its text comes back.
        assert completion.error == (
            "An error occurred on the server while streaming results. "
            "HubException: Failed to bind Stream message."
        )


async def test_client_results(hub: Hub) -> None:
    async with RawHub.connect(hub.url) as raw:
        await raw.send(Invocation("ClientResult", ["GetAnswer"], "c"))
        request = await raw.receive()
        assert isinstance(request, Invocation)
        assert request.target == "GetAnswer"
        assert request.invocation_id
        await raw.send(Completion.with_result(request.invocation_id, {"answer": 42}))
        assert (await raw.receive_completion("c")).result == {"answer": 42}
        await raw.send(Invocation("ClientResult", ["Fail"], "d"))
        request = await raw.receive()
        assert isinstance(request, Invocation)
        assert request.invocation_id
        # While the client is asked, its other invocations still run.
        assert (await raw.invoke("Add", 1, 1)).result == 2
        await raw.send(Completion.with_error(request.invocation_id, "no handler"))
        assert (await raw.receive_completion("d")).result == "no handler"


async def test_broadcast_reaches_every_client(hub: Hub) -> None:
    async with (
        RawHub.connect(hub.url) as one,
        RawHub.connect(hub.url, protocol="messagepack") as two,
    ):
        await one.send(Invocation("Broadcast", [{"hi": 1}], "b"))
        assert await one.receive() == Invocation("Broadcast", [{"hi": 1}])
        assert await one.receive() == Completion.with_result("b", None)
        assert await two.receive() == Invocation("Broadcast", [{"hi": 1}])


async def test_stream_then_close(hub: Hub) -> None:
    async with RawHub.connect(hub.url) as raw:
        await raw.send(StreamInvocation("s", "StreamThenClose", [3]))
        received = await raw.receive_all()
    assert received == [
        StreamItem("s", 0),
        StreamItem("s", 1),
        StreamItem("s", 2),
        Close("Connection closed with an error."),
    ]


@pytest.mark.parametrize(
    ("args", "frame"),
    [
        ([None, False], b'{"type":7}\x1e'),
        (["bye", True], b'{"type":7,"error":"bye","allowReconnect":true}\x1e'),
    ],
)
async def test_close_connection(hub: Hub, args: list[object], frame: bytes) -> None:
    async with RawHub.connect(hub.url) as raw:
        await raw.send(Invocation("CloseConnection", args, "1"))
        assert await raw.receive_frame() == frame
        assert await raw.close_code() == 1000


async def test_a_dropped_client_cancels_its_streams_without_counting_them(hub: Hub) -> None:
    async with RawHub.connect(hub.url) as raw:
        await raw.send(StreamInvocation("s", "Forever", [5]))
        await raw.receive()
        [connection] = hub.app.connections.all()
    with trio.fail_after(5):
        await connection.application_done.wait()
    assert hub.app.state.connections == {}
    assert hub.app.state.cancelled_streams == 0
