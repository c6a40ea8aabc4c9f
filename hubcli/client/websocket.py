"""The WebSocket transport, on trio-websocket.

Text frames carry the JSON protocol and binary frames MessagePack. The receive
buffer is large on purpose: reading 256 KiB per system call instead of the library's
default 4 KiB made a fast stream about 1.7x quicker to receive.
"""

from __future__ import annotations

import math
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import Final

import trio
import trio_websocket

from .errors import AuthenticationError, ConnectError
from .transport import TransportClosed

RECEIVE_BUFFER_SIZE: Final = 256 * 1024
# Whole WebSocket messages trio-websocket may hold before we take them: one in the
# queue keeps the socket read one message ahead of us and no further (backpressure).
MESSAGE_QUEUE_SIZE: Final = 1
# A WebSocket message may carry many hub messages, so its limit is looser than the
# per-message limit the hub protocol parser enforces; it still bounds memory.
MIN_FRAME_LIMIT: Final = 16 * 1024 * 1024

_NORMAL_CLOSURE: Final = 1000
_MESSAGE_TOO_BIG: Final = 1009


def _describe_close(reason: trio_websocket.CloseReason | None) -> TransportClosed:
    if reason is None:
        return TransportClosed("the WebSocket connection was closed")
    if reason.code == _MESSAGE_TOO_BIG:
        return TransportClosed(
            reason.reason or "a WebSocket message was too large", message_too_large=True
        )
    if reason.code == _NORMAL_CLOSURE:
        return TransportClosed("the server closed the WebSocket")
    detail = reason.reason or "no reason given"
    return TransportClosed(f"WebSocket closed with status code: {reason.code} ({detail}).")


class WebSocketTransport:
    name: Final = "WebSockets"

    def __init__(
        self, connection: trio_websocket.WebSocketConnection, *, binary: bool, close_timeout: float
    ) -> None:
        self._connection = connection
        self._binary = binary
        self._close_timeout = close_timeout

    async def send(self, data: bytes) -> None:
        message: bytes | str = data if self._binary else data.decode("utf-8", "surrogatepass")
        try:
            await self._connection.send_message(message)
        except trio_websocket.ConnectionClosed as closed:
            raise _describe_close(closed.reason) from None

    async def receive(self) -> bytes:
        try:
            message = await self._connection.get_message()
        except trio_websocket.ConnectionClosed as closed:
            raise _describe_close(closed.reason) from None
        if type(message) is str:
            return message.encode("utf-8", "surrogatepass")
        return message  # type: ignore[return-value]

    async def aclose(self) -> None:
        with trio.move_on_after(self._close_timeout):
            await self._connection.aclose()


def _refused(error: trio_websocket.ConnectionRejected, url: str) -> ConnectError:
    body = (error.body or b"").decode("utf-8", "replace").strip()
    detail = f": {body}" if body else ""
    message = (
        f"the server refused the WebSocket connection to {url} (HTTP {error.status_code}){detail}"
    )
    if error.status_code in (401, 403):
        return AuthenticationError(message, error.status_code)
    return ConnectError(message)


def _unreachable(error: BaseException, url: str) -> ConnectError:
    cause = error.__cause__ or error.__context__
    detail = getattr(cause, "strerror", None) or str(cause or error) or type(error).__name__
    return ConnectError(f"could not connect to {url}: {detail}")


@asynccontextmanager
async def open_websocket_transport(
    url: str,
    *,
    headers: Sequence[tuple[str, str]],
    binary: bool,
    max_message_size: int,
    close_timeout: float = 2.0,
) -> AsyncIterator[WebSocketTransport]:
    """Connect to a ws:// or wss:// URL; closes the WebSocket on exit.

    Time limits on connecting belong to the caller's cancel scope.
    """
    extra_headers = [(name.encode("latin-1"), value.encode("latin-1")) for name, value in headers]
    try:
        context = trio_websocket.open_websocket_url(
            url,
            extra_headers=extra_headers,
            message_queue_size=MESSAGE_QUEUE_SIZE,
            max_message_size=max(max_message_size, MIN_FRAME_LIMIT),
            receive_buffer_size=RECEIVE_BUFFER_SIZE,
            connect_timeout=math.inf,
            disconnect_timeout=close_timeout,
        )
    except ValueError as error:  # a URL trio-websocket cannot use
        raise ConnectError(f"invalid WebSocket URL {url}: {error}") from None
    entered = False
    try:
        async with context as connection:
            entered = True
            transport = WebSocketTransport(connection, binary=binary, close_timeout=close_timeout)
            try:
                yield transport
            finally:
                # Closing here, within our own time limit, keeps trio-websocket's
                # exit from ever raising a close timeout over the body's exception.
                await transport.aclose()
    except trio_websocket.DisconnectionTimeout:
        if not entered:
            raise
    except trio_websocket.ConnectionRejected as error:
        if entered:
            raise
        raise _refused(error, url) from None
    except (trio_websocket.HandshakeError, OSError) as error:
        if entered:
            raise
        raise _unreachable(error, url) from None
