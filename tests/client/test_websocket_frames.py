"""The client's WebSocket frames against a server that writes its own, byte by byte,
as no library would time them: frames in the same write as the 101, a Ping.

The server is a raw socket on 127.0.0.1 (port 0): it reads the client's frames with
wsproto and writes unmasked frames itself; the client connects directly (a ws://
URL, no negotiate)."""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Awaitable, Callable

import trio
from wsproto.connection import Connection, ConnectionType
from wsproto.events import BytesMessage, Event, Pong, TextMessage

import hubcli

GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
TEXT, PING = 0x1, 0x9
HANDSHAKE_ANSWER = b"{}\x1e"


def frame(opcode: int, payload: bytes) -> bytes:
    assert len(payload) < 126
    return bytes([0x80 | opcode, len(payload)]) + payload


class RawPeer:
    """The server's side of one upgraded connection."""

    def __init__(self, stream: trio.SocketStream, trailing: bytes) -> None:
        self.stream = stream
        self._protocol = Connection(ConnectionType.SERVER, trailing_data=trailing)

    async def next_event(self) -> Event:
        while True:
            for event in self._protocol.events():
                return event
            data = await self.stream.receive_some(65536)
            assert data, "the client hung up"
            self._protocol.receive_data(data)

    async def next_message(self) -> bytes:
        event = await self.next_event()
        assert isinstance(event, TextMessage | BytesMessage), event
        data = event.data
        return data.encode() if isinstance(data, str) else bytes(data)


async def serve_one(
    with_101: bytes, peer: Callable[[RawPeer], Awaitable[None]]
) -> tuple[str, Callable[[trio.Nursery], None]]:
    """A listener for one WebSocket; its URL, and what starts serving it. `with_101`
    goes out in the same write as the 101's head."""
    listener = (await trio.open_tcp_listeners(0, host="127.0.0.1"))[0]
    port = listener.socket.getsockname()[1]

    async def run() -> None:
        stream = await listener.accept()
        head = b""
        while b"\r\n\r\n" not in head:
            head += await stream.receive_some(65536)
        head, _, trailing = head.partition(b"\r\n\r\n")
        key = next(
            line.split(b":", 1)[1].strip().decode()
            for line in head.split(b"\r\n")
            if line.lower().startswith(b"sec-websocket-key:")
        )
        accept = base64.b64encode(hashlib.sha1((key + GUID).encode()).digest()).decode()
        await stream.send_all(
            b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
            b"Connection: Upgrade\r\nSec-WebSocket-Accept: "
            + accept.encode()
            + b"\r\n\r\n"
            + with_101
        )
        await peer(RawPeer(stream, trailing))
        await listener.aclose()

    return f"ws://127.0.0.1:{port}/hub", lambda nursery: nursery.start_soon(run)


async def answer_one_call(peer: RawPeer) -> None:
    """Read the hub handshake request and one invocation; answer it with 42."""
    assert (await peer.next_message()).startswith(b'{"protocol":"json"')
    invocation = await peer.next_message()
    assert b'"target":"Echo"' in invocation
    await peer.stream.send_all(frame(TEXT, b'{"type":3,"invocationId":"0","result":42}\x1e'))
    await peer.next_event()  # the client's Close (or its end)


async def test_frames_in_the_same_write_as_the_101_are_read() -> None:
    # The hub handshake's answer arrives with the 101, before the client asked: read
    # in the handshake's last read, it must still reach the hub connection.
    url, start = await serve_one(frame(TEXT, HANDSHAKE_ANSWER), answer_one_call)
    with trio.fail_after(10):
        async with trio.open_nursery() as nursery:
            start(nursery)
            async with hubcli.connect(url, transport="websockets", handshake_timeout=3) as hub:
                assert await hub.invoke("Echo", 1) == 42


async def test_a_ping_is_answered_with_its_payload() -> None:
    pongs: list[bytes] = []
    pong_seen = trio.Event()

    async def ping_first(peer: RawPeer) -> None:
        assert (await peer.next_message()).startswith(b'{"protocol":"json"')
        await peer.stream.send_all(frame(TEXT, HANDSHAKE_ANSWER) + frame(PING, b"are you there"))
        event = await peer.next_event()
        assert isinstance(event, Pong), event
        pongs.append(bytes(event.payload))
        pong_seen.set()
        invocation = await peer.next_message()
        assert b'"target":"Echo"' in invocation
        await peer.stream.send_all(frame(TEXT, b'{"type":3,"invocationId":"0","result":42}\x1e'))
        await peer.next_event()

    url, start = await serve_one(b"", ping_first)
    with trio.fail_after(10):
        async with trio.open_nursery() as nursery:
            start(nursery)
            async with hubcli.connect(url, transport="websockets", handshake_timeout=3) as hub:
                # The Pong goes out when the Ping is read, before any call is made.
                with trio.fail_after(3):
                    await pong_seen.wait()
                assert await hub.invoke("Echo", 1) == 42
    assert pongs == [b"are you there"]
