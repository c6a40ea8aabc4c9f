"""Server-Sent Events: the exact wire format, sends by POST, the end of the stream."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
import pytest
import trio

from hubcli.server.transports.sse import format_event
from tests.server.conftest import Hub, StartHub
from tests.server.rawclient import negotiate


@pytest.mark.parametrize(
    ("payload", "event"),
    [
        (b"R1\x1eR2\x1e", b"data: R1\x1eR2\x1e\r\n\r\n"),
        (b"", b"\r\n"),
        (b"a\nb", b"data: a\r\ndata: b\r\n\r\n"),
        (b"a\r\nb\r", b"data: a\r\ndata: b\r\r\n\r\n"),
        (b"a\n", b"data: a\r\ndata: \r\n\r\n"),
        # A lone CR line is kept: the real formatter trims only lines of 2+ bytes.
        (b"\r\nx", b"data: \r\r\ndata: x\r\n\r\n"),
    ],
)
def test_event_format(payload: bytes, event: bytes) -> None:
    assert format_event(payload) == event


class SseSession:
    def __init__(self, client: httpx.AsyncClient, url: str, chunks: AsyncIterator[bytes]) -> None:
        self.client = client
        self.url = url
        self.chunks = chunks

    async def post(self, data: bytes) -> httpx.Response:
        return await self.client.post(self.url, content=data)

    async def event(self) -> bytes:
        with trio.fail_after(10):
            return await self.chunks.__anext__()


@asynccontextmanager
async def sse(hub_url: str) -> AsyncIterator[tuple[SseSession, httpx.Response]]:
    token = (await negotiate(hub_url))["connectionToken"]
    url = f"{hub_url}?id={token}"
    async with (
        httpx.AsyncClient(timeout=10) as client,
        client.stream("GET", url, headers={"Accept": "text/event-stream"}) as response,
    ):
        yield SseSession(client, url, response.aiter_raw()), response


async def test_headers_preamble_and_events(hub: Hub) -> None:
    async with sse(hub.url) as (session, response):
        assert response.status_code == 200
        assert response.headers["content-type"] == "text/event-stream"
        assert response.headers["cache-control"] == "no-cache,no-store"
        assert response.headers["pragma"] == "no-cache"
        assert response.headers["content-encoding"] == "identity"
        assert await session.event() == b":\r\n"
        posted = await session.post(b'{"protocol":"json","version":1}\x1e')
        assert posted.status_code == 200
        assert posted.headers["content-type"] == "text/plain"
        assert posted.content == b""
        assert await session.event() == b"data: {}\x1e\r\n\r\n"
        await session.post(
            b'{"type":1,"invocationId":"1","target":"GetActiveTransportName","arguments":[]}\x1e'
        )
        assert await session.event() == (
            b'data: {"type":3,"invocationId":"1","result":"ServerSentEvents"}\x1e\r\n\r\n'
        )


async def test_pings_flow_over_server_sent_events(start_hub: StartHub) -> None:
    hub = await start_hub(keepalive=0.2)
    async with sse(hub.url) as (session, _):
        await session.event()
        await session.post(b'{"protocol":"json","version":1}\x1e')
        assert await session.event() == b"data: {}\x1e\r\n\r\n"
        assert await session.event() == b'data: {"type":6}\x1e\r\n\r\n'


async def test_the_stream_ends_after_close_and_the_connection_is_gone(hub: Hub) -> None:
    async with sse(hub.url) as (session, _):
        await session.event()
        await session.post(
            b'{"protocol":"json","version":1}\x1e'
            b'{"type":1,"invocationId":"1","target":"CloseConnection","arguments":[null,false]}\x1e'
        )
        received = b""
        async for chunk in session.chunks:
            received += chunk
        assert received.endswith(b'{"type":7}\x1e\r\n\r\n')
        after = await session.post(b'{"type":6}\x1e')
        assert after.status_code == 404


async def test_client_dropping_the_event_stream_ends_the_connection(hub: Hub) -> None:
    async with sse(hub.url) as (session, _):
        await session.event()
        await session.post(b'{"protocol":"json","version":1}\x1e')
        await session.event()
        [connection] = hub.app.connections.all()
        url = session.url
    with trio.fail_after(5):
        await connection.application_done.wait()
    async with httpx.AsyncClient() as client:
        assert (await client.post(url, content=b"x")).status_code == 404
