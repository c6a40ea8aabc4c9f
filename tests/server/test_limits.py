"""Malformed and oversized input: Close with the real error, and the server carries on."""

from __future__ import annotations

import pytest

from hubcli.protocol import Close, Invocation, MessagePackHubProtocol
from hubcli.protocol.varint import encode_length
from tests.server.conftest import Hub, StartHub
from tests.server.rawclient import RawHub

CLOSE_WITH_ERROR = (
    b'{"type":7,"error":"Connection closed with an error.","allowReconnect":true}\x1e'
)


EMPTY_ECHO = '{"type":1,"invocationId":"1","target":"Echo","arguments":[""]}\x1e'


def echo_record(total: int) -> str:
    """A JSON Echo invocation of exactly `total` bytes, separator included."""
    return EMPTY_ECHO.replace('""', '"' + "x" * (total - len(EMPTY_ECHO)) + '"')


async def test_messages_up_to_the_limit_pass_and_one_byte_more_closes(hub: Hub) -> None:
    async with RawHub.connect(hub.url) as raw:
        await raw.send_raw(echo_record(32768))
        assert len((await raw.receive_completion("1")).result) == 32768 - len(EMPTY_ECHO)
        await raw.send_raw(echo_record(32769))
        assert await raw.receive_frame() == CLOSE_WITH_ERROR
        assert await raw.close_code() == 1000


async def test_messagepack_limit_counts_the_length_prefix(hub: Hub) -> None:
    protocol = MessagePackHubProtocol()

    def framed(size: int) -> bytes:
        body = protocol.encode_body(Invocation("Echo", [b""], "1"))
        padding = size - len(body)
        while True:
            body = protocol.encode_body(Invocation("Echo", [b"x" * padding], "1"))
            frame = encode_length(len(body)) + body
            if len(frame) == size:
                return frame
            padding += size - len(frame)

    async with RawHub.connect(hub.url, protocol="messagepack") as raw:
        await raw.send_raw(framed(32768))
        assert (await raw.receive_completion("1")).result
        await raw.send_raw(framed(32769))
        assert await raw.receive() == Close(
            "Connection closed with an error.", allow_reconnect=True
        )


async def test_detailed_errors_name_the_limit(start_hub: StartHub) -> None:
    hub = await start_hub(detailed_errors=True, max_message_size=1000)
    async with RawHub.connect(hub.url) as raw:
        await raw.send_raw(echo_record(2000))
        assert await raw.receive() == Close(
            "Connection closed with an error. InvalidDataException: The maximum message size "
            "of 1000B was exceeded. The message size can be configured in AddHubOptions.",
            allow_reconnect=True,
        )


async def test_an_incomplete_message_over_the_limit_closes_too(hub: Hub) -> None:
    async with RawHub.connect(hub.url) as raw:
        await raw.send_raw('{"type":1,"target":"Echo","arguments":["' + "x" * 40000)
        assert await raw.receive_frame() == CLOSE_WITH_ERROR


async def test_no_limit(start_hub: StartHub) -> None:
    hub = await start_hub(max_message_size=None)
    async with RawHub.connect(hub.url) as raw:
        await raw.send_raw(echo_record(200_000))
        assert len((await raw.receive_completion("1")).result) == 200_000 - len(EMPTY_ECHO)


@pytest.mark.parametrize(
    "garbage",
    [
        "not json\x1e",
        "[1,2]\x1e",
        '{"type":"1"}\x1e',
        '{"type":1,"target":"Echo"}\x1e',
        '{"type":3,"invocationId":"1","result":1,"error":"x"}\x1e',
    ],
)
async def test_garbage_closes_only_that_connection(hub: Hub, garbage: str) -> None:
    async with RawHub.connect(hub.url) as bystander:
        async with RawHub.connect(hub.url) as raw:
            await raw.send_raw(garbage)
            assert await raw.receive_frame() == CLOSE_WITH_ERROR
            assert await raw.close_code() == 1000
        assert (await bystander.invoke("Add", 1, 2)).result == 3
    async with RawHub.connect(hub.url) as newcomer:
        assert (await newcomer.invoke("Add", 2, 2)).result == 4


async def test_unknown_message_types_are_skipped(hub: Hub) -> None:
    async with RawHub.connect(hub.url) as raw:
        await raw.send_raw(
            '{"type":99,"x":1}\x1e{"type":1,"invocationId":"1","target":"Null","arguments":[]}\x1e'
        )
        assert (await raw.receive_completion("1")).result is None
    async with RawHub.connect(hub.url, protocol="messagepack") as raw:
        await raw.send_raw(b"\x02\x91\x63")
        assert (await raw.invoke("Add", 1, 2)).result == 3


async def test_detailed_garbage_error(start_hub: StartHub) -> None:
    hub = await start_hub(detailed_errors=True)
    async with RawHub.connect(hub.url) as raw:
        await raw.send_raw('{"type":1,"target":"Echo"}\x1e')
        assert await raw.receive() == Close(
            "Connection closed with an error. InvalidDataException: "
            "Missing required property 'arguments'.",
            allow_reconnect=True,
        )


async def test_invalid_messagepack_closes(hub: Hub) -> None:
    async with RawHub.connect(hub.url, protocol="messagepack") as raw:
        await raw.send_raw(b"\x02\xc1\xc1")
        assert await raw.receive() == Close(
            "Connection closed with an error.", allow_reconnect=True
        )


async def test_many_messages_per_frame_and_messages_split_across_frames(hub: Hub) -> None:
    async with RawHub.connect(hub.url) as raw:
        records = "".join(
            f'{{"type":1,"invocationId":"{i}","target":"Add","arguments":[{i},1]}}\x1e'
            for i in range(1, 6)
        )
        await raw.send_raw(records[:10])
        await raw.send_raw(records[10:100])
        await raw.send_raw(records[100:])
        results = [(await raw.receive_completion(str(i))).result for i in range(1, 6)]
        assert results == [2, 3, 4, 5, 6]
