"""The handshake: the only thing read until it arrives, with the real error texts."""

from __future__ import annotations

import json

import httpx
import pytest
import trio

from hubcli.protocol import Close, Invocation, MessagePackHubProtocol, Ping, StreamItem
from tests.server.conftest import Hub, StartHub
from tests.server.rawclient import RawHub, negotiate

UNEXPECTED = "An unexpected error occurred during connection handshake."


async def handshake_answer(hub_url: str, request: bytes | str) -> tuple[bytes, int | None]:
    """The server's answer to a handshake request, and how the socket closed."""
    async with RawHub.connect(hub_url, handshake=False) as raw:
        await raw.send_raw(request)
        answer = await raw.receive_frame()
        return answer, await raw.close_code()


@pytest.mark.parametrize(
    ("request_text", "error"),
    [
        ('{"protocol":"xml","version":1}', "The protocol 'xml' is not supported."),
        (
            '{"protocol":"json","version":3}',
            "The server does not support version 3 of the 'json' protocol.",
        ),
        ('{"version":1}', UNEXPECTED),
        ('{"protocol":"json"}', UNEXPECTED),
        ('{"protocol":1,"version":1}', UNEXPECTED),
        ("not json", UNEXPECTED),
        ("[]", UNEXPECTED),
    ],
)
async def test_handshake_errors(hub: Hub, request_text: str, error: str) -> None:
    answer, code = await handshake_answer(hub.url, request_text + "\x1e")
    assert answer == json.dumps({"error": error}, separators=(",", ":")).encode() + b"\x1e"
    assert code == 1000


async def test_detailed_errors_explain_a_malformed_handshake(start_hub: StartHub) -> None:
    hub = await start_hub(detailed_errors=True)
    answer, _ = await handshake_answer(hub.url, '{"version":1}\x1e')
    assert answer == (
        b'{"error":"An unexpected error occurred during connection handshake. '
        b"InvalidDataException: Missing required property 'protocol'. "
        b'Message content: {\\"version\\":1}"}\x1e'
    )


@pytest.mark.parametrize("version", [0, 1, 2])
async def test_versions_up_to_2_are_accepted(hub: Hub, version: int) -> None:
    async with RawHub.connect(hub.url, handshake=False) as raw:
        assert await raw.handshake("json", version) == b"{}\x1e"


async def test_unknown_fields_are_ignored_and_messages_may_follow_in_the_frame(hub: Hub) -> None:
    async with RawHub.connect(hub.url, handshake=False) as raw:
        await raw.send_raw(
            '{"protocol":"json","version":1,"extra":[1]}\x1e'
            '{"type":1,"invocationId":"1","target":"Add","arguments":[1,2]}\x1e'
        )
        assert await raw.receive_frame() == b"{}\x1e"
        assert (await raw.receive_completion("1")).result == 3


async def test_handshake_split_across_frames(hub: Hub) -> None:
    async with RawHub.connect(hub.url, handshake=False) as raw:
        await raw.send_raw('{"protocol":')
        await raw.send_raw('"json","version":1}\x1e')
        assert await raw.receive_frame() == b"{}\x1e"


async def test_nothing_but_the_handshake_is_answered_before_it(hub: Hub) -> None:
    # A hub message first is just not a handshake: the parse fails.
    answer, _ = await handshake_answer(hub.url, '{"type":6}\x1e')
    assert answer == f'{{"error":"{UNEXPECTED}"}}\x1e'.encode()


async def test_handshake_timeout(start_hub: StartHub) -> None:
    hub = await start_hub(handshake_timeout=0.2)
    async with RawHub.connect(hub.url, handshake=False) as raw:
        await raw.send_raw('{"protocol":"json"')
        assert await raw.receive_frame() == b'{"error":"Handshake was canceled."}\x1e'
        assert await raw.close_code() == 1000


async def test_oversized_handshake_is_canceled(start_hub: StartHub) -> None:
    hub = await start_hub(max_message_size=100)
    padding = "x" * 200
    answer, _ = await handshake_answer(
        hub.url, f'{{"protocol":"json","version":1,"p":"{padding}"}}\x1e'
    )
    assert answer == b'{"error":"Handshake was canceled."}\x1e'


async def test_messagepack_uses_binary_frames_after_the_handshake(hub: Hub) -> None:
    async with RawHub.connect(hub.url, protocol="messagepack", handshake=False) as raw:
        assert await raw.handshake("messagepack") == b"{}\x1e"
        await raw.send(Invocation("Echo", [[b"\x00\x01", {"k": [1.5]}]], "1"))
        completion = await raw.receive_completion("1")
        assert completion.result == [b"\x00\x01", {"k": [1.5]}]
        assert raw.frame_types == [bytes, bytes]


async def test_json_uses_text_frames(hub: Hub) -> None:
    async with RawHub.connect(hub.url) as raw:
        await raw.invoke("Null")
        assert set(raw.frame_types) == {str}


async def test_messagepack_is_refused_over_server_sent_events(hub: Hub) -> None:
    token = (await negotiate(hub.url))["connectionToken"]
    target = f"{hub.url}?id={token}"
    async with (
        httpx.AsyncClient() as client,
        client.stream("GET", target, headers={"Accept": "text/event-stream"}) as events,
    ):
        chunks = events.aiter_raw()
        assert await chunks.__anext__() == b":\r\n"
        await client.post(target, content=b'{"protocol":"messagepack","version":1}\x1e')
        with trio.fail_after(5):
            event = await chunks.__anext__()
    assert event == (
        b'data: {"error":"Cannot use the \'messagepack\' protocol on the current transport. '
        b"The transport does not support 'Binary' transfer format.\"}\x1e\r\n\r\n"
    )


async def test_messagepack_stream_over_websockets(hub: Hub) -> None:
    async with RawHub.connect(hub.url, protocol="messagepack") as raw:
        items, completion = await raw.stream("Counter", 3, 0)
        assert items == [0, 1, 2]
        assert completion.error is None
        assert isinstance(raw.protocol, MessagePackHubProtocol)


async def test_ping_and_close_from_the_client(hub: Hub) -> None:
    async with RawHub.connect(hub.url) as raw:
        await raw.send(Ping())
        await raw.send(Close())
        assert await raw.receive_all() == [Close()]


async def test_stream_items_for_unknown_streams_are_ignored(hub: Hub) -> None:
    async with RawHub.connect(hub.url) as raw:
        await raw.send(StreamItem("nope", 1))
        assert (await raw.invoke("Add", 1, 1)).result == 2
