"""Hand-driven clients for the server tests: raw WebSocket frames and raw HTTP.

They use only the protocol core's codecs and no hubcli client code, so what the
tests see is exactly what the server put on the wire. `RawHub` speaks WebSockets,
`RawPollingHub` long polling; `raw_hub(url, transport)` opens either, with the
same methods to send, receive, invoke and stream. `RawHub.connect(stateful=True)`
negotiates stateful reconnect and shakes hands with version 2;
`RawHub.resume(url, token)` opens the WebSocket of a resume (same id, no
handshake).
"""

from __future__ import annotations

from collections import deque
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any, Literal
from urllib.parse import urlsplit

import httpx
import trio
import wsproto
import wsproto.events
from trio_websocket import ConnectionClosed, WebSocketConnection, open_websocket_url

from hubcli.protocol import (
    CancelInvocation,
    Completion,
    HubMessage,
    HubProtocol,
    IncomingMessage,
    Invocation,
    Ping,
    Sequence,
    StreamInvocation,
    StreamItem,
    protocol_by_name,
)
from hubcli.protocol.handshake import HandshakeRequest, encode_request
from hubcli.protocol.negotiate import negotiate_url

TIMEOUT = 10.0


def ws_url(url: str) -> str:
    return "ws" + url[len("http") :]


async def negotiate(url: str, *, stateful: bool = False, **kwargs: Any) -> dict[str, Any]:
    async with httpx.AsyncClient(timeout=TIMEOUT) as client:
        response = await client.post(negotiate_url(url, stateful_reconnect=stateful), **kwargs)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


# What stateful reconnect numbers and keeps for a replay.
COUNTED = (Invocation, StreamItem, Completion, StreamInvocation, CancelInvocation)


class ReplayLog:
    """What a stateful client keeps of what the server sent: each invocation-class
    message numbered from 1, a Sequence rewinding the count, duplicates dropped."""

    def __init__(self) -> None:
        self.latest = 0
        self._next = 1
        self.kept: list[IncomingMessage] = []

    def take(self, message: IncomingMessage) -> None:
        if isinstance(message, Sequence):
            assert message.sequence_id <= self._next, (message, self._next)
            self._next = message.sequence_id
        elif isinstance(message, COUNTED):
            current = self._next
            self._next += 1
            if current > self.latest:
                self.latest = current
                self.kept.append(message)


class HubClosed(Exception):
    """The server ended a long polling connection (a poll answered 204)."""


class RawHubBase:
    """What both raw clients share: parsing, ids, invoke and stream."""

    def __init__(self, protocol: HubProtocol) -> None:
        self.protocol = protocol
        self.parser = protocol.parser()
        self.messages: deque[IncomingMessage] = deque()
        self.invocations: deque[Invocation] = deque()
        self.next_id = 0
        # Transport messages (frames, poll bodies) that carried hub messages.
        self.data_messages = 0

    async def send(self, *messages: HubMessage) -> None:
        raise NotImplementedError

    async def receive_data(self) -> bytes:
        raise NotImplementedError

    async def receive(self) -> IncomingMessage:
        while not self.messages:
            parsed = self.parser.feed(await self.receive_data())
            if parsed:
                self.data_messages += 1
            self.messages.extend(parsed)
        return self.messages.popleft()

    async def receive_until(self, last: Callable[[IncomingMessage], bool]) -> list[IncomingMessage]:
        """Every message up to and including the first for which `last` is true."""
        received: list[IncomingMessage] = []
        while not received or not last(received[-1]):
            received.append(await self.receive())
        return received

    async def receive_all(self) -> list[IncomingMessage]:
        """Every message until the server ends the connection."""
        received: list[IncomingMessage] = []
        try:
            while True:
                received.append(await self.receive())
        except (ConnectionClosed, HubClosed):
            return received

    async def receive_completion(self, invocation_id: str) -> Completion:
        """Skip pings (and other ids) until this invocation's Completion; server
        Invocations on the way are kept for `receive_invocation`."""
        while True:
            message = await self.receive()
            if isinstance(message, Completion) and message.invocation_id == invocation_id:
                return message
            if isinstance(message, Invocation):
                self.invocations.append(message)

    async def receive_invocation(self) -> Invocation:
        """The next server-to-client Invocation; anything but a Ping before it fails."""
        if self.invocations:
            return self.invocations.popleft()
        while True:
            message = await self.receive()
            if isinstance(message, Ping):
                continue
            assert isinstance(message, Invocation), message
            return message

    def new_id(self) -> str:
        self.next_id += 1
        return str(self.next_id)

    async def invoke(self, target: str, *arguments: Any) -> Completion:
        invocation_id = self.new_id()
        await self.send(Invocation(target, list(arguments), invocation_id))
        return await self.receive_completion(invocation_id)

    async def stream(self, target: str, *arguments: Any) -> tuple[list[Any], Completion]:
        invocation_id = self.new_id()
        await self.send(StreamInvocation(invocation_id, target, list(arguments)))
        items: list[Any] = []
        while True:
            message = await self.receive()
            if getattr(message, "invocation_id", None) != invocation_id:
                continue
            if isinstance(message, Completion):
                return items, message
            items.append(message.item)  # type: ignore[union-attr]


class RawHub(RawHubBase):
    """One WebSocket hub connection whose every frame the test controls."""

    def __init__(self, ws: WebSocketConnection, protocol: HubProtocol, token: str = "") -> None:
        super().__init__(protocol)
        self.ws = ws
        self.frame_types: list[type] = []
        # The connection token the socket was opened with ("" without negotiate).
        self.token = token

    @classmethod
    @asynccontextmanager
    async def connect(
        cls,
        url: str,
        *,
        protocol: str = "json",
        negotiate_first: bool = True,
        handshake: bool = True,
        headers: list[tuple[str, str]] | None = None,
        query: str = "",
        max_message_size: int = 2**20,
        stateful: bool = False,
        version: int | None = None,
    ) -> AsyncIterator[RawHub]:
        """`stateful`: negotiate stateful reconnect, and shake hands with version 2
        unless `version` says otherwise."""
        target = ws_url(url)
        separator = "&" if "?" in target else "?"
        token = ""
        if negotiate_first:
            body = await negotiate(url, stateful=stateful, headers=dict(headers or []))
            token = body["connectionToken"]
            target += f"{separator}id={token}"
            separator = "&"
        if query:
            target += separator + query
        async with open_websocket_url(
            target,
            extra_headers=[(name.encode(), value.encode()) for name, value in headers or []],
            max_message_size=max_message_size,
        ) as ws:
            hub = cls(ws, protocol_by_name(protocol), token)
            if handshake:
                if version is None:
                    version = 2 if stateful else 1
                response = await hub.handshake(protocol, version)
                assert response == b"{}\x1e", response
            yield hub

    @classmethod
    @asynccontextmanager
    async def resume(
        cls, url: str, token: str, *, protocol: str = "json", max_message_size: int = 2**20
    ) -> AsyncIterator[RawHub]:
        """A WebSocket with the id of an existing connection, and no handshake."""
        separator = "&" if "?" in url else "?"
        async with open_websocket_url(
            f"{ws_url(url)}{separator}id={token}", max_message_size=max_message_size
        ) as ws:
            yield cls(ws, protocol_by_name(protocol), token)

    async def handshake(self, protocol: str, version: int = 1) -> bytes:
        await self.ws.send_message(encode_request(HandshakeRequest(protocol, version)).decode())
        return await self.receive_frame()

    async def receive_frame(self) -> bytes:
        with trio.fail_after(TIMEOUT):
            frame = await self.ws.get_message()
        self.frame_types.append(type(frame))
        return frame.encode() if isinstance(frame, str) else frame

    async def send_raw(self, data: bytes | str) -> None:
        await self.ws.send_message(data)

    async def send(self, *messages: HubMessage) -> None:
        data = self.protocol.encode_many(messages)
        if self.protocol.name == "json":
            await self.ws.send_message(data.decode())
        else:
            await self.ws.send_message(data)

    async def receive_data(self) -> bytes:
        return await self.receive_frame()

    async def close_code(self) -> int | None:
        """Wait for the server to close the socket; its close code."""
        with trio.fail_after(TIMEOUT):
            try:
                while True:
                    await self.ws.get_message()
            except ConnectionClosed as closed:
                reason = closed.reason
        assert reason is not None
        return reason.code


class RawPollingHub(RawHubBase):
    """One long polling hub connection: POSTs to send, one GET at a time to receive."""

    def __init__(self, client: httpx.AsyncClient, url: str, protocol: HubProtocol) -> None:
        super().__init__(protocol)
        self.client = client
        self.url = url

    @classmethod
    @asynccontextmanager
    async def connect(
        cls,
        url: str,
        *,
        protocol: str = "json",
        headers: list[tuple[str, str]] | None = None,
        query: str = "",
        stateful: bool = False,
        version: int = 1,
    ) -> AsyncIterator[RawPollingHub]:
        body = await negotiate(url, stateful=stateful, headers=dict(headers or []))
        token = body["connectionToken"]
        target = f"{url}{'&' if '?' in url else '?'}id={token}" + (f"&{query}" if query else "")
        async with httpx.AsyncClient(timeout=TIMEOUT, headers=headers or []) as client:
            hub = cls(client, target, protocol_by_name(protocol))
            first = await client.get(target)
            assert (first.status_code, first.content) == (200, b""), first
            await hub.post(encode_request(HandshakeRequest(protocol, version)))
            response = await hub.poll()
            assert response.startswith(b"{}\x1e"), response
            hub.messages.extend(hub.parser.feed(response[len(b"{}\x1e") :]))
            try:
                yield hub
            finally:
                await client.delete(target)

    async def post(self, data: bytes) -> None:
        response = await self.client.post(self.url, content=data)
        assert response.status_code == 200, response

    async def send(self, *messages: HubMessage) -> None:
        await self.post(self.protocol.encode_many(messages))

    async def poll(self) -> bytes:
        """The next non-empty poll's body; HubClosed on 204."""
        while True:
            with trio.fail_after(TIMEOUT):
                response = await self.client.get(self.url)
            if response.status_code == 204:
                raise HubClosed
            assert response.status_code == 200, response
            if response.content:
                return response.content

    async def receive_data(self) -> bytes:
        return await self.poll()


class BareWebSocket:
    """A WebSocket on a plain TCP stream, where the test decides everything:
    whether a close frame is answered, and how the TCP connection ended (a reset
    raises ConnectionResetError, an orderly end reads b"")."""

    def __init__(self, stream: trio.SocketStream, connection: wsproto.WSConnection) -> None:
        self.stream = stream
        self.connection = connection

    @classmethod
    @asynccontextmanager
    async def connect(cls, url: str) -> AsyncIterator[BareWebSocket]:
        parts = urlsplit(ws_url(url))
        assert parts.hostname is not None
        assert parts.port is not None
        stream = await trio.open_tcp_stream(parts.hostname, parts.port)
        async with stream:
            connection = wsproto.WSConnection(wsproto.ConnectionType.CLIENT)
            target = f"{parts.path}?{parts.query}" if parts.query else parts.path
            await stream.send_all(
                connection.send(wsproto.events.Request(host=parts.netloc, target=target))
            )
            bare = cls(stream, connection)
            accepted = await bare.next_event()
            assert isinstance(accepted, wsproto.events.AcceptConnection), accepted
            yield bare

    async def send_text(self, text: str) -> None:
        await self.stream.send_all(self.connection.send(wsproto.events.Message(data=text)))

    async def next_event(self) -> wsproto.events.Event:
        """The next WebSocket event; ConnectionResetError if the TCP connection was
        reset, EOFError if it ended in order."""
        while True:
            for event in self.connection.events():
                return event
            with trio.fail_after(TIMEOUT):
                data = await self.stream.socket.recv(65536)
            if not data:
                raise EOFError
            self.connection.receive_data(data)


Transport = Literal["websockets", "longpolling"]


@asynccontextmanager
async def raw_hub(
    url: str,
    transport: Transport = "websockets",
    *,
    protocol: str = "json",
    headers: list[tuple[str, str]] | None = None,
    query: str = "",
) -> AsyncIterator[RawHubBase]:
    """A raw hub connection past its handshake over `transport`."""
    if transport == "websockets":
        async with RawHub.connect(url, protocol=protocol, headers=headers, query=query) as ws:
            yield ws
    else:
        async with RawPollingHub.connect(
            url, protocol=protocol, headers=headers, query=query
        ) as polling:
            yield polling
