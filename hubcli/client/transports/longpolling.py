"""The Long Polling transport: GET after GET for server-to-client, POSTs back.

The first poll of a connection answers at once with 200 and nothing (it starts the
hub on the server; like the official clients, whatever it carries is not data);
that answer is when the transport has started, so a refusal
there (401, 404) fails the start and lets the caller fall back. Then: 200 with a
body is data, 200 empty is a poll that timed out (poll again), 204 is the end of the
connection, anything else an error. Polls never overlap, and each carries a cache
buster. Stopping sends DELETE so the server lets go of the connection at once.
Binary protocols travel as they are, in octet-stream bodies.
"""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from typing import Final

import httpx
import trio

from hubcli._defaults import DEFAULT_CLOSE_TIMEOUT_SECONDS
from hubcli.client.errors import ConnectError
from hubcli.client.network import HttpState

from .base import TransportClosed, background_tasks
from .http import (
    PostQueue,
    http_client,
    lost,
    request_failure,
    send_following,
    status_failure,
)

logger: Final = logging.getLogger("hubcli")


def poll_url(url: str) -> str:
    joiner = "&" if "?" in url else "?"
    return f"{url}{joiner}_={int(time.time() * 1000)}"


class LongPollingTransport:
    name: Final = "LongPolling"
    concurrent_sends: Final = True
    inherent_keepalive: Final = True

    def __init__(
        self,
        *,
        client: httpx.AsyncClient,
        http: HttpState,
        url: str,
        data: trio.MemoryReceiveChannel[bytes],
        posts: PostQueue,
        polling: trio.CancelScope,
        ended: list[TransportClosed],
        close_timeout: float,
    ) -> None:
        self._client = client
        self._http = http
        self._url = url
        self._data = data
        self._posts = posts
        self._polling = polling
        self._ended = ended
        self._close_timeout = close_timeout
        self._closed = False
        self._close_done = trio.Event()

    async def send(self, data: bytes) -> None:
        await self._posts.send(data)

    async def receive(self) -> bytes:
        try:
            return await self._data.receive()
        except (trio.EndOfChannel, trio.ClosedResourceError):
            raise (self._ended or [TransportClosed("polling has stopped")])[0] from None

    async def reconnect(self) -> None:
        raise ConnectError("only a WebSocket can be reopened on the same connection")

    async def aclose(self) -> None:
        """Stop polling, then DELETE the connection (a 404 means it is gone already).

        A second caller waits for the first one's DELETE: the HTTP client must outlive
        it, redirects and all.
        """
        if self._closed:
            await self._close_done.wait()
            return
        self._closed = True
        try:
            self._posts.close(TransportClosed("the Long Polling connection is closed"))
            self._polling.cancel()
            with trio.move_on_after(self._close_timeout), suppress(httpx.HTTPError):
                request = self._client.build_request("DELETE", self._url)
                response = await send_following(self._client, request, self._http)
                logger.debug("DELETE answered %d", response.status_code)
        finally:
            self._close_done.set()


async def _poll(
    client: httpx.AsyncClient,
    http: HttpState,
    url: str,
    *,
    timeout: float,
    data: trio.MemorySendChannel[bytes],
    ended: list[TransportClosed],
) -> None:
    async with data:
        while True:
            try:
                response = await send_following(
                    client,
                    client.build_request("GET", poll_url(url), timeout=timeout),
                    http,
                )
            except httpx.TimeoutException:
                logger.debug("poll timed out: polling again")
                continue
            except httpx.HTTPError as error:
                ended.append(lost(error))
                return
            if response.status_code == 204:
                ended.append(TransportClosed("the server ended the connection (poll: HTTP 204)"))
                return
            if response.status_code != 200:
                status = f"{response.status_code} {response.reason_phrase}".strip()
                ended.append(TransportClosed(f"a poll was answered HTTP {status}"))
                return
            if response.content:
                try:
                    # Waiting here until the hub connection takes it is the
                    # backpressure: no new poll until then.
                    await data.send(response.content)
                except trio.BrokenResourceError:
                    return


@asynccontextmanager
async def open_longpolling_transport(
    url: str, *, http: HttpState, binary: bool, close_timeout: float = DEFAULT_CLOSE_TIMEOUT_SECONDS
) -> AsyncIterator[LongPollingTransport]:
    """Start long polling the connection at `url` (http or https)."""
    url = http.transport_url(url)
    timeout = http.settings.request_timeout
    async with http_client(http, url, timeout=timeout) as client:
        try:
            request = client.build_request("GET", poll_url(url))
            first = await send_following(client, request, http)
        except httpx.HTTPError as error:
            raise request_failure(error, url) from None
        if first.status_code != 200:
            raise status_failure("the first poll of", first, url)
        logger.info("Long Polling: connected")
        data_in, data_out = trio.open_memory_channel[bytes](0)
        ended: list[TransportClosed] = []
        posts = PostQueue(client, http, url, binary=binary, transport="Long Polling")
        async with background_tasks() as nursery:
            # Shielded, and stopped by `aclose` alone: when the caller is cancelled
            # (Ctrl-C), its clean-up still waits for the server's answers to come in.
            polling = trio.CancelScope(shield=True)

            async def poll() -> None:
                with polling:
                    await _poll(client, http, url, timeout=timeout, data=data_in, ended=ended)

            nursery.start_soon(poll)
            transport = LongPollingTransport(
                client=client,
                http=http,
                url=url,
                data=data_out,
                posts=posts,
                polling=polling,
                ended=ended,
                close_timeout=close_timeout,
            )
            try:
                yield transport
            finally:
                with trio.CancelScope(shield=True):
                    await transport.aclose()
                nursery.cancel_scope.cancel()
