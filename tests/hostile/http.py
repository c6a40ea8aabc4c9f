"""HTTP/1.1 on one server-side TCP connection (h11), with the ways to misbehave on it."""

from __future__ import annotations

import socket
import struct
from dataclasses import dataclass
from typing import Final
from urllib.parse import parse_qs, urlsplit

import h11
import trio

READ_SIZE: Final = 64 * 1024
NOT_HTTP: Final = b"SSH-2.0-OpenSSH_9.6\r\n\x00\xff\xfe garbage\r\n\r\n"
HTML: Final = b"<!DOCTYPE html><html><body><h1>Welcome to nginx!</h1></body></html>"
# An endless stream, as far as any client should read: 256 chunks of 1 MiB.
FLOOD_CHUNK: Final = b" " * (1024 * 1024)
FLOOD_CHUNKS: Final = 256


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]  # names in lower case
    body: bytes

    @property
    def upgrade(self) -> bool:
        return self.headers.get("upgrade", "").lower() == "websocket"


class HttpConnection:
    def __init__(self, stream: trio.SocketStream) -> None:
        self.stream = stream
        self.h11 = h11.Connection(h11.SERVER)

    async def next_request(self) -> Request | None:
        """The next whole request, or None once the client has gone."""
        if self.h11.our_state is h11.DONE and self.h11.their_state is h11.DONE:
            self.h11.start_next_cycle()
        head: h11.Request | None = None
        body = bytearray()
        while True:
            event = self.h11.next_event()
            if event is h11.NEED_DATA:
                self.h11.receive_data(bytes(await self.stream.receive_some(READ_SIZE)))
            elif isinstance(event, h11.Request):
                head = event
            elif isinstance(event, h11.Data):
                body += event.data
            elif isinstance(event, h11.EndOfMessage):
                assert head is not None
                return _request(head, bytes(body))
            elif isinstance(event, h11.ConnectionClosed) or event is h11.PAUSED:
                return None

    @property
    def trailing_data(self) -> bytes:
        """What the client sent after the request (the first WebSocket frames)."""
        return self.h11.trailing_data[0]

    async def send(self, event: h11.Event) -> None:
        await self.stream.send_all(self.h11.send(event) or b"")

    async def respond(
        self,
        status: int,
        body: bytes = b"",
        *,
        content_type: str = "text/plain",
        headers: tuple[tuple[str, str | bytes], ...] = (),
    ) -> None:
        fields = [
            ("Content-Type", content_type),
            ("Content-Length", str(len(body))),
            *headers,
        ]
        # Bytes as they are: a header value may be what no str encodes to ASCII.
        raw = [
            (name.encode(), value if isinstance(value, bytes) else value.encode())
            for name, value in fields
        ]
        await self.send(h11.Response(status_code=status, headers=raw))
        if body:
            await self.send(h11.Data(data=body))
        await self.send(h11.EndOfMessage())

    async def respond_head(
        self, status: int, headers: tuple[tuple[str, str], ...], content_length: int | None
    ) -> None:
        """Only the head of a response; `content_length` None for a chunked body."""
        fields = list(headers)
        if content_length is not None:
            fields.append(("Content-Length", str(content_length)))
        await self.send(h11.Response(status_code=status, headers=fields))

    async def raw(self, data: bytes) -> None:
        """Bytes past h11: the connection can carry nothing after them."""
        await self.stream.send_all(data)

    async def fin(self) -> None:
        await trio.aclose_forcefully(self.stream)

    async def reset(self) -> None:
        # SO_LINGER 0: close() sends RST instead of FIN.
        self.stream.socket.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        await trio.aclose_forcefully(self.stream)

    async def half_close(self) -> None:
        await self.stream.send_eof()


async def flood(http: HttpConnection) -> None:
    """Chunk after chunk of spaces in the body begun, then nothing."""
    for _ in range(FLOOD_CHUNKS):
        await http.send(h11.Data(data=FLOOD_CHUNK))
    await trio.sleep_forever()


def _request(head: h11.Request, body: bytes) -> Request:
    target = urlsplit(head.target.decode("latin-1"))
    query = {name: values[0] for name, values in parse_qs(target.query).items()}
    headers = {
        name.decode("latin-1").lower(): value.decode("latin-1") for name, value in head.headers
    }
    return Request(head.method.decode("latin-1"), target.path, query, headers, body)
