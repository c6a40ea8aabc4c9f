"""Hand-driven clients for the server tests: raw WebSocket frames and raw HTTP.

They use only the protocol core's codecs and no hubcli client code, so what the
tests see is exactly what the server put on the wire.
"""

from __future__ import annotations

from collections import deque
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import trio
from trio_websocket import ConnectionClosed, WebSocketConnection, open_websocket_url

from hubcli.protocol import (
    Completion,
    HubMessage,
    HubProtocol,
    IncomingMessage,
    Invocation,
    StreamInvocation,
    protocol_by_name,
)
from hubcli.protocol.handshake import HandshakeRequest, encode_request
from hubcli.protocol.negotiate import negotiate_url

TIMEOUT = 10.0


def ws_url(url: str) -> str:
    return "ws" + url[len("http") :]


async def negotiate(url: str, **kwargs: Any) -> dict[str, Any]:
    async with httpx.AsyncClient(timeout=TIMEOUT) as client:
        response = await client.post(negotiate_url(url), **kwargs)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


class RawHub:
    """One WebSocket hub connection whose every frame the test controls."""

    def __init__(self, ws: WebSocketConnection, protocol: HubProtocol) -> None:
        self.ws = ws
        self.protocol = protocol
        self.parser = protocol.parser()
        self.messages: deque[IncomingMessage] = deque()
        self.frame_types: list[type] = []
        self.next_id = 0

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
    ) -> AsyncIterator[RawHub]:
        target = ws_url(url)
        separator = "&" if "?" in target else "?"
        if negotiate_first:
            token = (await negotiate(url, headers=dict(headers or [])))["connectionToken"]
            target += f"{separator}id={token}"
            separator = "&"
        if query:
            target += separator + query
        async with open_websocket_url(
            target, extra_headers=headers or [], max_message_size=max_message_size
        ) as ws:
            hub = cls(ws, protocol_by_name(protocol))
            if handshake:
                response = await hub.handshake(protocol)
                assert response == b"{}\x1e", response
            yield hub

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

    async def receive(self) -> IncomingMessage:
        while not self.messages:
            self.messages.extend(self.parser.feed(await self.receive_frame()))
        return self.messages.popleft()

    async def receive_all(self) -> list[IncomingMessage]:
        """Every message until the server closes the socket."""
        received: list[IncomingMessage] = []
        try:
            while True:
                received.append(await self.receive())
        except ConnectionClosed:
            return received

    async def receive_completion(self, invocation_id: str) -> Completion:
        """Skip pings (and other ids) until this invocation's Completion."""
        while True:
            message = await self.receive()
            if isinstance(message, Completion) and message.invocation_id == invocation_id:
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

    async def close_code(self) -> int | None:
        """Wait for the server to close the socket; its close code."""
        with trio.fail_after(TIMEOUT):
            try:
                while True:
                    await self.ws.get_message()
            except ConnectionClosed as closed:
                return closed.reason.code
