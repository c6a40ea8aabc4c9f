"""Invocations: results, the exact Completion error texts, and what gets no answer."""

from __future__ import annotations

import pytest
import trio

from hubcli.protocol import Completion, CompletionKind, Invocation, StreamInvocation
from hubcli.server.methods.testing import BIG_RESULT_LIMIT
from tests.server.conftest import Hub, StartHub
from tests.server.rawclient import RawHub


def error(text: str) -> tuple[CompletionKind, str]:
    return CompletionKind.ERROR, text


async def outcome(raw: RawHub, target: str, *args: object) -> tuple[CompletionKind, object]:
    completion = await raw.invoke(target, *args)
    value = completion.error if completion.kind is CompletionKind.ERROR else completion.result
    return completion.kind, value


async def test_results(hub: Hub) -> None:
    async with RawHub.connect(hub.url) as raw:
        assert await outcome(raw, "Add", 2, 3) == (CompletionKind.RESULT, 5)
        assert await outcome(raw, "add", 0.5, 1) == (CompletionKind.RESULT, 1.5)
        assert await outcome(raw, "ECHO", {"a": [1, None]}) == (
            CompletionKind.RESULT,
            {"a": [1, None]},
        )
        assert await outcome(raw, "HelloWorld") == (CompletionKind.RESULT, "Hello World!")
        assert await outcome(raw, "Null") == (CompletionKind.RESULT, None)
        assert await outcome(raw, "Void") == (CompletionKind.VOID, None)
        # A void .NET method answers with "result": null, as ASP.NET Core does.
        assert await outcome(raw, "InvokeWithString", "x") == (CompletionKind.RESULT, None)


async def test_big_result_is_capped(hub: Hub) -> None:
    over = BIG_RESULT_LIMIT + 1
    # Room for an uncapped answer, so that one fails the comparison instead of the socket.
    async with RawHub.connect(hub.url, max_message_size=2 * over) as raw:
        assert await raw.invoke("BigResult", 5000) == Completion.with_result("1", "x" * 5000)
        assert await raw.invoke("BigResult", over) == Completion.with_error(
            "2",
            "An unexpected error occurred invoking 'BigResult' on the server. HubException: "
            f"BigResult returns at most {BIG_RESULT_LIMIT} characters; {over} were asked for.",
        )


async def test_void_and_null_on_the_wire(hub: Hub) -> None:
    async with RawHub.connect(hub.url) as raw:
        await raw.send_raw('{"type":1,"invocationId":"a","target":"Void","arguments":[]}\x1e')
        assert await raw.receive_frame() == b'{"type":3,"invocationId":"a"}\x1e'
        await raw.send_raw('{"type":1,"invocationId":"b","target":"Null","arguments":[]}\x1e')
        assert await raw.receive_frame() == b'{"type":3,"invocationId":"b","result":null}\x1e'


FAILED_ADD = "Failed to invoke 'Add' due to an error on the server."


@pytest.mark.parametrize(
    ("target", "args", "expected", "detailed"),
    [
        (
            "Nope",
            [],
            "Failed to invoke 'Nope' due to an error on the server. "
            "HubException: Method does not exist.",
            None,
        ),
        (
            "Add",
            [1],
            FAILED_ADD,
            " InvalidDataException: Invocation provides 1 argument(s) but target expects 2.",
        ),
        (
            "Add",
            ["1", 2],
            FAILED_ADD,
            " InvalidDataException: Error binding arguments. Make sure that the types of the "
            "provided values match the types of the hub method being invoked.",
        ),
        (
            "Counter",
            [3, 0],
            "The client attempted to invoke the streaming 'Counter' method with a "
            "non-streaming invocation.",
            None,
        ),
        (
            "ThrowException",
            ["boom"],
            "An unexpected error occurred invoking 'ThrowException' on the server.",
            " InvalidOperationException: boom",
        ),
        (
            "ThrowHubException",
            ["visible"],
            "An unexpected error occurred invoking 'ThrowHubException' on the server. "
            "HubException: visible",
            None,
        ),
        (
            "UploadSummary",
            [],
            "An unexpected error occurred invoking 'UploadSummary' on the server. "
            "HubException: Client sent 0 stream(s), Hub method expects 1.",
            None,
        ),
        (
            "Counter",
            [1.5, 0],
            "Failed to invoke 'Counter' due to an error on the server.",
            " InvalidDataException: Error binding arguments. Make sure that the types of "
            "the provided values match the types of the hub method being invoked.",
        ),
    ],
)
async def test_error_texts(
    start_hub: StartHub, target: str, args: list[object], expected: str, detailed: str | None
) -> None:
    plain = await start_hub()
    verbose = await start_hub(detailed_errors=True)
    async with RawHub.connect(plain.url) as raw:
        assert await outcome(raw, target, *args) == error(expected)
    async with RawHub.connect(verbose.url) as raw:
        assert await outcome(raw, target, *args) == error(expected + (detailed or ""))


@pytest.mark.parametrize(
    ("target", "args", "expected"),
    [
        (
            "Add",
            [1, 2],
            "The client attempted to invoke the non-streaming 'Add' method with a "
            "streaming invocation.",
        ),
        (
            "StreamThrowException",
            ["bad"],
            "An unexpected error occurred invoking 'StreamThrowException' on the server.",
        ),
        (
            "StreamException",
            [],
            "An unexpected error occurred invoking 'StreamException' on the server.",
        ),
        (
            "StreamBroken",
            [],
            "The value returned by the streaming method 'StreamBroken' is not a "
            "ChannelReader<> or IAsyncEnumerable<>.",
        ),
        (
            "Missing",
            [],
            "Failed to invoke 'Missing' due to an error on the server. "
            "HubException: Method does not exist.",
        ),
    ],
)
async def test_stream_error_texts(hub: Hub, target: str, args: list[object], expected: str) -> None:
    async with RawHub.connect(hub.url) as raw:
        items, completion = await raw.stream(target, *args)
    assert items == []
    assert (completion.kind, completion.error) == error(expected)


async def test_detailed_stream_exception(start_hub: StartHub) -> None:
    hub = await start_hub(detailed_errors=True)
    async with RawHub.connect(hub.url) as raw:
        _, completion = await raw.stream("StreamException")
    assert completion.error == (
        "An unexpected error occurred invoking 'StreamException' on the server. "
        "InvalidOperationException: Error occurred while streaming."
    )


async def test_sends_get_no_answer_even_on_errors(hub: Hub) -> None:
    async with RawHub.connect(hub.url) as raw:
        await raw.send(
            Invocation("Nope", []),
            Invocation("Add", ["x"]),
            Invocation("ThrowException", ["boom"]),
            Invocation("Counter", [1, 0]),
            Invocation("Add", [1, 2]),
        )
        # The next answer is for the next invocation with an id: nothing came before it.
        assert await raw.invoke("Add", 20, 22) == Completion.with_result("1", 42)


async def test_duplicate_stream_ids_are_refused(hub: Hub) -> None:
    async with RawHub.connect(hub.url) as raw:
        await raw.send(StreamInvocation("s", "Forever", [50]))
        assert (await raw.receive()).item == 0  # type: ignore[union-attr]
        await raw.send(StreamInvocation("s", "Forever", [50]))
        while True:
            message = await raw.receive()
            if isinstance(message, Completion):
                break
        assert message.error == "Invocation ID 's' is already in use."


async def test_one_plain_invocation_at_a_time(hub: Hub) -> None:
    async with RawHub.connect(hub.url) as raw:
        await raw.send(Invocation("Slow", [200], "slow"), Invocation("Add", [1, 1], "fast"))
        first = await raw.receive()
        second = await raw.receive()
        assert [first.invocation_id, second.invocation_id] == ["slow", "fast"]  # type: ignore[union-attr]


async def test_streams_run_beside_a_slow_invocation(hub: Hub) -> None:
    async with RawHub.connect(hub.url) as raw:
        await raw.send(Invocation("Slow", [300], "slow"), StreamInvocation("s", "Stream", []))
        seen = []
        with trio.fail_after(5):
            while "slow" not in seen:
                message = await raw.receive()
                seen.append(getattr(message, "invocation_id", None))
        assert seen.index("s") < seen.index("slow")


async def test_complex_objects(hub: Hub) -> None:
    async with RawHub.connect(hub.url) as raw:
        assert (await raw.invoke("SendComplexObject")).result == {
            "string": "hello world",
            "intArray": [1, 2, 3],
            "byteArray": "AQID",
            "guid": "00010203-0405-0607-0706-050403020100",
            "dateTime": "2000-01-01T00:00:00Z",
        }
    async with RawHub.connect(hub.url, protocol="messagepack") as raw:
        result = (await raw.invoke("SendComplexObject")).result
        assert result["ByteArray"] == b"\x01\x02\x03"
        assert result["DateTime"].isoformat() == "2000-01-01T00:00:00+00:00"


async def test_connection_info_and_headers(hub: Hub) -> None:
    headers = [("X-Test", "1"), ("Cookie", "a=b; c=d")]
    async with RawHub.connect(hub.url, headers=headers, query="q=v") as raw:
        info = (await raw.invoke("GetConnectionInfo")).result
        assert info["transport"] == "WebSockets"
        assert info["protocol"] == "json"
        assert info["connectionId"] == (await raw.invoke("GetCallerConnectionId")).result
        assert info["headers"]["x-test"] == "1"
        assert info["query"]["q"] == "v"
        assert info["cookies"] == {"a": "b", "c": "d"}
        assert (await raw.invoke("GetHeader", "x-TEST")).result == "1"
        assert (await raw.invoke("GetCookie", "c")).result == "d"
        assert (await raw.invoke("GetCookie", "zz")).result is None
        assert (await raw.invoke("GetHeaderValues", ["X-Test", "Nope"])).result == ["1", None]
        assert (await raw.invoke("GetActiveTransportName")).result == "WebSockets"
        assert (await raw.invoke("GetUserIdentifier")).result is None


@pytest.mark.parametrize("protocol", ["json", "messagepack"])
async def test_sends_in_one_frame_each_run_in_order(hub: Hub, protocol: str) -> None:
    # Plain sends of one target in one frame reach the hub as one parsed batch;
    # each is still its own call, in order, and gets no answer.
    async with RawHub.connect(hub.url, protocol=protocol) as raw:
        await raw.send(*(Invocation("Broadcast", [text]) for text in ("a", "b", "c")))
        received = [await raw.receive_invocation() for _ in range(3)]
        assert [(m.target, m.arguments) for m in received] == [
            ("Broadcast", ["a"]),
            ("Broadcast", ["b"]),
            ("Broadcast", ["c"]),
        ]
        assert (await raw.invoke("Add", 1, 2)).result == 3
