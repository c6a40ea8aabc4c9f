"""The WebSocket transport, on our own WebSocket connection (wsconnection.py) over a stream
from `network_streams.open_stream`.

The stream comes from hubcli's own opener (direct or through the proxy's CONNECT
tunnel, TLS from the connection's context). Text frames carry the JSON protocol and
binary frames MessagePack. The receive buffer is large on purpose: reading 256 KiB
per system call instead of 4 KiB made a fast stream about 1.7x quicker to receive.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from typing import Final
from urllib.parse import urlsplit

import trio

from hubcli._defaults import DEFAULT_CLOSE_TIMEOUT_SECONDS
from hubcli.client.errors import (
    AuthenticationError,
    ConnectError,
    ConnectionClosedError,
    FrameTooLargeError,
)
from hubcli.client.network import HttpState, display_url
from hubcli.client.network_streams import host_and_port, is_secure, open_stream

from .base import TransportClosed
from .wsconnection import (
    HandshakeInterrupted,
    HandshakeInvalid,
    HandshakeRejected,
    WebSocketClosed,
    WebSocketConnection,
    connect,
)

logger: Final = logging.getLogger("hubcli")

RECEIVE_BUFFER_SIZE: Final = 256 * 1024
# A WebSocket message may carry many hub messages, so its limit is looser than the
# per-message limit the hub protocol parser enforces; it still bounds memory.
MIN_FRAME_LIMIT: Final = 16 * 1024 * 1024

_NORMAL_CLOSURE: Final = 1000
_MESSAGE_TOO_BIG: Final = 1009


def _describe_close(closed: WebSocketClosed) -> TransportClosed:
    if closed.code is None:
        return TransportClosed("the WebSocket connection was closed", abrupt=True)
    if closed.code == _NORMAL_CLOSURE:
        return TransportClosed("the server closed the WebSocket")
    detail = closed.reason or "no reason given"
    return TransportClosed(f"WebSocket closed with status code: {closed.code} ({detail}).")


class WebSocketTransport:
    name: Final = "WebSockets"
    concurrent_sends: Final = False
    inherent_keepalive: Final = False

    def __init__(
        self,
        connection: WebSocketConnection,
        *,
        binary: bool,
        close_timeout: float,
        frame_limit: int,
        reopen: Callable[[], Awaitable[WebSocketConnection]],
    ) -> None:
        self._connection = connection
        self._reopen = reopen
        self._binary = binary
        self._close_timeout = close_timeout
        self._frame_limit = frame_limit
        self._largest_sent = 0

    def _closed(self, closed: WebSocketClosed) -> TransportClosed:
        if closed.code != _MESSAGE_TOO_BIG:
            return _describe_close(closed)
        # 1009 says the side that closed got a message too big for it. Ours closes
        # with these very words when the server's message exceeds our limit; any
        # other 1009 is the server refusing one of ours.
        if closed.reason == f"Exceeded maximum message size: {self._frame_limit} bytes":
            return TransportClosed(closed.reason, failure=FrameTooLargeError(self._frame_limit))
        refused = (
            f"The server refused a message of {self._largest_sent} bytes as too large "
            f"(WebSocket close code 1009{f': {closed.reason}' if closed.reason else ''})."
        )
        return TransportClosed(refused, failure=ConnectionClosedError(refused))

    async def send(self, data: bytes) -> None:
        self._largest_sent = max(self._largest_sent, len(data))
        try:
            await self._connection.send_message(data, text=not self._binary)
        except WebSocketClosed as closed:
            raise self._closed(closed) from None

    async def receive(self) -> bytes:
        try:
            return await self._connection.get_message()
        except WebSocketClosed as closed:
            raise self._closed(closed) from None

    async def aclose(self) -> None:
        await self._connection.aclose(timeout=self._close_timeout)

    async def reconnect(self) -> None:
        """A new WebSocket on the same URL in place of the one that dropped."""
        await self._connection.aclose(timeout=0)
        self._connection = await self._reopen()


def _refused(error: HandshakeRejected, url: str) -> ConnectError:
    body = error.body.decode("utf-8", "replace").strip()
    detail = f": {body}" if body else ""
    message = (
        f"the server refused the WebSocket connection to {display_url(url)} "
        f"(HTTP {error.status_code}){detail}"
    )
    if error.status_code in (401, 403):
        return AuthenticationError(message, error.status_code)
    if 300 <= error.status_code < 400:
        # As in the official clients and browsers: only the HTTP requests follow it.
        message += (
            "; a WebSocket upgrade is not redirected (SSE and Long Polling follow "
            "redirects: -t auto goes on to them)"
        )
    return ConnectError(message)


async def _open_connection(url: str, http: HttpState, frame_limit: int) -> WebSocketConnection:
    """The opening handshake to a ws:// or wss:// URL, with the connection's headers,
    bearer token and cookies. Time limits belong to the caller's cancel scope."""
    parts = urlsplit(url)
    if parts.scheme.lower() not in ("ws", "wss") or not parts.hostname:
        raise ConnectError(f"invalid WebSocket URL {display_url(url)}")
    headers: list[tuple[str, str]] = http.headers()
    cookie = None if http.overrides("cookie") else http.cookie_header(url)
    if cookie:
        headers.append(("Cookie", cookie))
    proxy = http.settings.proxy_for(url)
    if proxy is not None:
        logger.info("WebSockets: through the proxy %s", urlsplit(proxy).netloc.rpartition("@")[2])
    stream = await open_stream(
        url, proxy=proxy, ssl_context=http.ssl_context() if is_secure(url) else None
    )
    host, port = host_and_port(url)
    default_port = 443 if is_secure(url) else 80
    host_header = http.host_header() or (
        parts.netloc.rpartition("@")[2] if port != default_port else host
    )
    resource = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    try:
        return await connect(
            stream,
            host_header,
            resource,
            extra_headers=_upgrade_headers(headers),
            max_message_size=frame_limit,
            receive_buffer_size=RECEIVE_BUFFER_SIZE,
        )
    except BaseException as error:
        with trio.CancelScope(shield=True):
            await trio.aclose_forcefully(stream)
        if isinstance(error, HandshakeRejected):
            raise _refused(error, url) from None
        if isinstance(error, HandshakeInterrupted):
            raise ConnectError(
                f"could not connect to {display_url(url)}: the server closed the "
                "connection during the WebSocket handshake"
            ) from None
        if isinstance(error, HandshakeInvalid):
            raise ConnectError(
                f"could not connect to {display_url(url)}: the server's answer to the "
                f"WebSocket upgrade is invalid ({error})"
            ) from None
        raise


@asynccontextmanager
async def open_websocket_transport(
    url: str,
    *,
    http: HttpState,
    binary: bool,
    max_message_size: int,
    close_timeout: float = DEFAULT_CLOSE_TIMEOUT_SECONDS,
) -> AsyncIterator[WebSocketTransport]:
    """Connect to a ws:// or wss:// URL; closes the WebSocket on exit."""
    frame_limit = max(max_message_size, MIN_FRAME_LIMIT)
    connection = await _open_connection(url, http, frame_limit)

    async def reopen() -> WebSocketConnection:
        await http.refresh_token()
        return await _open_connection(url, http, frame_limit)

    transport = WebSocketTransport(
        connection,
        binary=binary,
        close_timeout=close_timeout,
        frame_limit=frame_limit,
        reopen=reopen,
    )
    try:
        yield transport
    finally:
        await transport.aclose()


def _upgrade_headers(headers: Sequence[tuple[str, str]]) -> list[tuple[str, str]]:
    # wsproto's handshake writes Host and the upgrade headers itself.
    return [(name, value) for name, value in headers if name.lower() != "host"]
