"""The library API in-process (trio) against a real `hubcli serve`."""

from __future__ import annotations

import gc
import hashlib
import logging
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
import trio

import hubcli
from hubcli.client import (
    AuthenticationError,
    ConnectError,
    ConnectionClosedError,
    HubError,
    ItemBatches,
    ServerTimeoutError,
    StreamBufferFullError,
    StreamCall,
)
from hubcli.protocol.errors import MessageTooLargeError
from hubcli.protocol.messages import CompletionKind
from tests.serverproc import HubServer

ServerFactory = Callable[..., HubServer]
PROTOCOLS = ["json", "messagepack"]


@pytest.mark.parametrize("protocol", PROTOCOLS)
async def test_invoke_send_and_stream(shared_hub_server: str, protocol: str) -> None:
    async with hubcli.connect(shared_hub_server, protocol=protocol) as hub:
        assert await hub.invoke("Add", 2, 3) == 5
        assert await hub.invoke("Echo", {"a": [1, None]}) == {"a": [1, None]}
        assert (await hub.invoke_completion("Void")).kind is CompletionKind.VOID
        null = await hub.invoke_completion("Null")
        assert (null.kind, null.result) == (CompletionKind.RESULT, None)
        await hub.send("Broadcast", "hello")
        assert [item async for item in hub.stream("Counter", 5, 0)] == [0, 1, 2, 3, 4]
        async with hub.stream("FastStream", 5000) as stream:
            batches = [batch async for batch in stream.batches()]
        assert [item for batch in batches for item in batch] == list(range(5000))
        assert len(batches) < 5000  # a frame's items come as one batch


async def test_hub_error(shared_hub_server: str) -> None:
    async with hubcli.connect(shared_hub_server) as hub:
        with pytest.raises(HubError, match="ThrowException"):
            await hub.invoke("ThrowException", "boom")
        with pytest.raises(HubError, match="StreamException"):
            async for _ in hub.stream("StreamException"):
                pass
        assert await hub.invoke("Echo", "still connected") == "still connected"


async def test_leaving_a_stream_early_cancels_it(hub_server: str) -> None:
    async with hubcli.connect(hub_server) as hub:
        async with hub.stream("Forever", 1) as stream:
            async for item in stream:
                if item == 2:
                    break
        assert await hub.invoke("WaitForCancelledStreams", 1, 10000) == 1


async def test_aclose_cancels_a_stream_there_and_then(hub_server: str) -> None:
    async with hubcli.connect(hub_server) as hub:
        stream = hub.stream("Forever", 1)
        async for item in stream:
            if item == 2:
                break
        await stream.aclose()
        # `stream` is still referenced: no finalizer can have helped.
        assert stream.completion is not None  # the hub's answer to CancelInvocation
        assert await hub.invoke("WaitForCancelledStreams", 1, 10000) == 1


async def test_an_abandoned_stream_is_cancelled(hub_server: str) -> None:
    async with hubcli.connect(hub_server) as hub:
        async for item in hub.stream("Forever", 1):
            if item == 2:
                break
        gc.collect()
        assert await hub.invoke("WaitForCancelledStreams", 1, 10000) == 1


@pytest.mark.parametrize("protocol", PROTOCOLS)
async def test_invoke_inside_a_stream(shared_hub_server: str, protocol: str) -> None:
    # The invoke's Completion arrives behind stream items the loop below has not
    # taken yet: the receive loop must not wait for this stream's reader then.
    echoed = []
    with trio.fail_after(10):
        async with hubcli.connect(shared_hub_server, protocol=protocol) as hub:
            async for item in hub.stream("Counter", 200, 0):
                echoed.append(await hub.invoke("Echo", item))
    assert echoed == list(range(200))


async def test_a_stream_too_far_ahead_of_its_reader_fails(hub_server: str) -> None:
    limit = 64 * 1024
    items: list[int] = []

    async def read_the_rest(stream: StreamCall) -> None:
        async for batch in stream.batches():
            items.extend(batch)

    with trio.fail_after(10):
        async with hubcli.connect(hub_server, stream_buffer_limit=limit) as hub:
            async with hub.stream("FastStream", 100_000_000) as stream:
                items.extend(await stream.next_batch() or [])
                # A second call in flight: the stream is no longer held back by its
                # reader, and runs ahead while this task waits for Slow.
                assert await hub.invoke("Slow", 500) == 500
                with pytest.raises(StreamBufferFullError, match=f"more than {limit} bytes"):
                    await read_the_rest(stream)
            # Every item it held came first, none lost; the hub was told to stop.
            assert items == list(range(len(items)))
            assert len(items) > limit // 8
            assert await hub.invoke("WaitForCancelledStreams", 1, 10000) == 1


async def _numbers(count: int) -> AsyncIterator[int]:
    for number in range(1, count + 1):
        yield number


@pytest.mark.parametrize("protocol", PROTOCOLS)
async def test_uploads(shared_hub_server: str, protocol: str) -> None:
    expected = hashlib.sha256("".join(f"{n}\n" for n in range(1, 301)).encode()).hexdigest()

    async def in_batches() -> AsyncIterator[list[int]]:
        yield list(range(1, 101))
        yield list(range(101, 301))

    async with hubcli.connect(shared_hub_server, protocol=protocol) as hub:
        for source in (_numbers(300), ItemBatches(in_batches())):
            summary = await hub.invoke("UploadSummary", source)
            assert summary == {"count": 300, "checksum": expected}
        assert await hub.invoke("UploadSum", _numbers(10)) == 55
        echoed = [item async for item in hub.stream("StreamEchoInt", _numbers(5))]
        assert echoed == [1, 2, 3, 4, 5]


async def test_a_failing_upload_source_fails_the_call(shared_hub_server: str) -> None:
    class SourceBroke(Exception):
        pass

    async def broken() -> AsyncIterator[int]:
        yield 1
        raise SourceBroke("disk on fire")

    async with hubcli.connect(shared_hub_server) as hub:
        with pytest.raises(SourceBroke):
            await hub.invoke("UploadSummary", broken())
        assert await hub.invoke("Echo", 1) == 1


@pytest.mark.parametrize("source_waits", [True, False], ids=["waiting source", "busy source"])
async def test_send_with_an_upload_fails_when_the_connection_closes(
    shared_hub_server: str, source_waits: bool
) -> None:
    uploading = trio.Event()

    async def source() -> AsyncIterator[int]:
        number = 0
        while True:
            yield number
            uploading.set()
            number += 1
            await (trio.sleep_forever() if source_waits else trio.sleep(0.01))

    async with hubcli.connect(shared_hub_server) as hub:

        async def close_mid_upload() -> None:
            await uploading.wait()
            with pytest.raises(ConnectionClosedError):
                await hub.invoke("CloseConnection", "bye", False)

        async with trio.open_nursery() as nursery:
            nursery.start_soon(close_mid_upload)
            with trio.fail_after(10), pytest.raises(ConnectionClosedError, match="bye"):
                await hub.send("UploadStream", source())


async def test_ids_come_from_one_counter(
    shared_hub_server: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="hubcli")
    async with hubcli.connect(shared_hub_server) as hub:
        await hub.invoke("UploadSum", _numbers(2))
        await hub.invoke("Echo", 1)
    sent = [record.getMessage() for record in caplog.records if record.getMessage()[:2] == "->"]
    assert any(
        '"invocationId":"1","target":"UploadSum","arguments":[],"streamIds":["0"]' in s
        for s in sent
    )
    assert any('"type":3,"invocationId":"0"}' in s for s in sent)  # the stream's end
    assert any('"invocationId":"2","target":"Echo"' in s for s in sent)
    assert sent[-1] == "-> " + '{"type":7}\u241e'


async def test_client_result_requests_are_answered(shared_hub_server: str) -> None:
    async with hubcli.connect(shared_hub_server) as hub:
        assert await hub.invoke("ClientResult", "GetAnswer") == "Client didn't provide a result."


async def test_keepalive_pings_keep_a_quiet_connection(
    start_hub_server: ServerFactory, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="hubcli")
    server = start_hub_server("--client-timeout", "0.6")
    async with hubcli.connect(server.url, keepalive_interval=0.1) as hub:
        assert await hub.invoke("Slow", 1500) == 1500
    pings = [r for r in caplog.records if r.getMessage() == '-> {"type":6}\u241e']
    assert len(pings) >= 5


async def test_server_silence_times_out(start_hub_server: ServerFactory) -> None:
    server = start_hub_server("--keepalive", "60")
    async with hubcli.connect(server.url, server_timeout=0.3) as hub:
        with pytest.raises(ServerTimeoutError, match="Server timeout elapsed"):
            await hub.invoke("Slow", 5000)


async def test_server_close_fails_pending_calls(shared_hub_server: str) -> None:
    async with hubcli.connect(shared_hub_server) as hub:
        with pytest.raises(ConnectionClosedError, match="Server returned an error on close: bye"):
            await hub.invoke("CloseConnection", "bye", False)
        with pytest.raises(ConnectionClosedError):
            await hub.invoke("Echo", 1)


async def test_redirect_with_access_token(shared_hub_server: str) -> None:
    async with hubcli.connect(f"{shared_hub_server}/redirect/2") as hub:
        info = await hub.invoke("GetConnectionInfo")
    assert info["headers"]["authorization"].startswith("Bearer ")


async def test_token_required(start_hub_server: ServerFactory) -> None:
    server = start_hub_server("--require-token", "s3cret")
    with pytest.raises(AuthenticationError):
        async with hubcli.connect(server.url):
            pass
    with pytest.raises(AuthenticationError):
        async with hubcli.connect(server.url, skip_negotiation=True):
            pass
    async with hubcli.connect(server.url, access_token="s3cret") as hub:
        assert await hub.invoke("Echo", 1) == 1


async def test_skip_negotiation_and_headers(shared_hub_server: str) -> None:
    async with hubcli.connect(
        shared_hub_server, skip_negotiation=True, headers=[("X-Trace", "abc")]
    ) as hub:
        assert hub.connection_id is None
        info = await hub.invoke("GetConnectionInfo")
    assert info["transport"] == "WebSockets"
    assert info["headers"]["x-trace"] == "abc"


async def test_oversized_message_is_a_protocol_error(shared_hub_server: str) -> None:
    async with hubcli.connect(shared_hub_server, max_message_size=1000) as hub:
        with pytest.raises(MessageTooLargeError):
            await hub.invoke("BigResult", 5000)


async def test_headers_and_tokens_that_cannot_be_sent_are_refused_up_front(
    shared_hub_server: str,
) -> None:
    # Port 9 is closed: getting as far as connecting would be a ConnectError.
    for headers in ([("X", "a\r\nb")], [("X", "日本")], [("X Y", "v")]):
        with pytest.raises(ValueError, match="invalid header"):
            async with hubcli.connect("http://127.0.0.1:9/hub", headers=headers):
                pass
    with pytest.raises(ValueError, match="the access token cannot be sent"):
        async with hubcli.connect("http://127.0.0.1:9/hub", access_token="a\nb"):
            pass
    with pytest.raises(ValueError, match="the access token cannot be sent"):
        async with hubcli.connect(shared_hub_server, access_token=lambda: "日本"):
            pass
    with pytest.raises(ValueError, match="the host has an empty label"):
        async with hubcli.connect("http://a..b/hub"):
            pass


async def test_closed_port_is_a_connect_error() -> None:
    with pytest.raises(ConnectError, match="could not connect"):
        async with hubcli.connect("http://127.0.0.1:9/hub"):
            pass


async def test_messagepack_values(shared_hub_server: str) -> None:
    async with hubcli.connect(shared_hub_server, protocol="messagepack") as hub:
        value: Any = await hub.invoke("SendComplexObject")
    assert value["ByteArray"] == b"\x01\x02\x03"
    assert value["DateTime"].year == 2000


async def test_cancelling_an_invoke_from_outside(shared_hub_server: str) -> None:
    # A clean-up that waited for the Completion would take close_timeout (30 s here):
    # the hub's Slow cannot be cancelled, so it answers only when it is done.
    async with hubcli.connect(shared_hub_server, close_timeout=30) as hub:
        with trio.move_on_after(0.2) as scope:
            await hub.invoke("Slow", 5000)
        assert scope.cancelled_caught
        assert trio.current_time() - scope.deadline < 1.0
