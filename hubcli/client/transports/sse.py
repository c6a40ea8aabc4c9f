"""The Server-Sent Events transport: a streamed GET for server-to-client, POSTs back.

The GET asks for `text/event-stream` (that header is how the server tells it from a
long poll); the transport has started once the server answers 200. Each event's
data is handed on as it arrives. SSE carries text only, so MessagePack cannot use
it, and closing is just dropping the GET.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Final

import httpx
import trio

from hubcli._defaults import DEFAULT_CLOSE_TIMEOUT_SECONDS
from hubcli.client.errors import ConnectError
from hubcli.client.network import HttpState
from hubcli.protocol.sse import EventStreamParser

from .base import TransportClosed, background_tasks
from .http import PostQueue, http_client, lost, refusal, request_failure, send_following

logger: Final = logging.getLogger("hubcli")

TEXT_ONLY: Final = "The Server-Sent Events transport only supports the 'Text' transfer format"


class ServerSentEventsTransport:
    name: Final = "ServerSentEvents"
    concurrent_sends: Final = True
    inherent_keepalive: Final = False

    def __init__(
        self,
        events: trio.MemoryReceiveChannel[bytes],
        posts: PostQueue,
        stop: trio.CancelScope,
        ended: list[TransportClosed],
    ) -> None:
        self._events = events
        self._posts = posts
        self._stop = stop
        self._ended = ended

    async def send(self, data: bytes) -> None:
        await self._posts.send(data)

    async def receive(self) -> bytes:
        try:
            return await self._events.receive()
        except (trio.EndOfChannel, trio.ClosedResourceError):
            raise (self._ended or [TransportClosed("the event stream was closed")])[0] from None

    async def reconnect(self) -> None:
        raise ConnectError("only a WebSocket can be reopened on the same connection")

    async def aclose(self) -> None:
        self._posts.close(TransportClosed("the Server-Sent Events connection is closed"))
        self._stop.cancel()


async def _read_events(
    response: httpx.Response,
    events: trio.MemorySendChannel[bytes],
    ended: list[TransportClosed],
) -> None:
    parser = EventStreamParser()
    async with events:
        try:
            async for chunk in response.aiter_raw():
                data = parser.feed(chunk)
                if data:
                    # Waiting here until the hub connection takes it is the backpressure.
                    await events.send(b"".join(data))
        except httpx.HTTPError as error:
            ended.append(lost(error))
            return
        except trio.BrokenResourceError:
            return  # the receiving side is gone: nothing more to hand over
        ended.append(TransportClosed("the server ended the event stream"))


@asynccontextmanager
async def open_sse_transport(
    url: str, *, http: HttpState, binary: bool, close_timeout: float = DEFAULT_CLOSE_TIMEOUT_SECONDS
) -> AsyncIterator[ServerSentEventsTransport]:
    """Open the event stream of the connection at `url` (http or https)."""
    if binary:
        raise ConnectError(TEXT_ONLY)
    url = http.transport_url(url)
    # No read timeout on the stream: silence is the hub connection's to judge.
    async with http_client(http, url, timeout=http.settings.request_timeout) as client:
        request = client.build_request(
            "GET",
            url,
            headers={"Accept": "text/event-stream", "Cache-Control": "no-cache"},
            timeout=httpx.Timeout(http.settings.request_timeout, read=None),
        )
        try:
            response = await send_following(client, request, http, stream=True)
        except httpx.HTTPError as error:
            raise request_failure(error, url) from None
        try:
            if response.status_code != 200:
                raise await refusal("the event stream at", response, url)
            logger.info("Server-Sent Events: connected")
            events_in, events_out = trio.open_memory_channel[bytes](0)
            ended: list[TransportClosed] = []
            posts = PostQueue(client, http, url, binary=False, transport="Server-Sent Events")
            # Shielded: cancelling the caller (Ctrl-C) must not drop the event stream,
            # for the server ends an SSE connection with its GET, and the clean-up
            # (CancelInvocation, Close) still has to reach the hub. `aclose` stops it.
            reading = trio.CancelScope(shield=True)

            async def read() -> None:
                with reading:
                    await _read_events(response, events_in, ended)

            async with background_tasks() as nursery:
                nursery.start_soon(read)
                transport = ServerSentEventsTransport(events_out, posts, reading, ended)
                try:
                    yield transport
                finally:
                    await transport.aclose()
        finally:
            with trio.CancelScope(shield=True), trio.move_on_after(close_timeout):
                await response.aclose()
