"""A client WebSocket over a trio stream, on wsproto, read by its one consumer.

wsproto does the protocol (the opening handshake, framing, masking, UTF-8, the
closing handshake); this is the I/O around it. Unlike trio-websocket (built on the
same wsproto), it has no reader task of its own: the hub connection's receive loop
reads the socket itself when it wants the next message. That saves a trip through
the scheduler per received message (measured: one epoll round of five per call
round trip), and backpressure needs no queue: an unread socket is the backpressure.

Pings are answered, and a Close from the server is echoed, when they are read.
`aclose` sends Close and waits, within its time limit, for the server's echo,
read by the receive loop if it is reading, else by `aclose` itself.
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

import trio
from wsproto import ConnectionType, WSConnection
from wsproto.connection import ConnectionState
from wsproto.events import (
    AcceptConnection,
    BytesMessage,
    CloseConnection,
    Event,
    Ping,
    RejectConnection,
    RejectData,
    Request,
    TextMessage,
)
from wsproto.utilities import LocalProtocolError, RemoteProtocolError

from hubcli._defaults import DEFAULT_CLOSE_TIMEOUT_SECONDS, WEBSOCKET_FAILURE_CLOSE_SECONDS

MESSAGE_TOO_BIG: Final = 1009
NORMAL_CLOSURE: Final = 1000
PROTOCOL_ERROR: Final = 1002
# What a rejected handshake's body may hold before the rest is dropped.
MAX_REJECTION_BODY: Final = 64 * 1024


class WebSocketClosed(Exception):
    """The WebSocket is closed: `code` and `reason` of the Close frame, or None for
    a connection that ended without one."""

    def __init__(self, code: int | None, reason: str = "") -> None:
        super().__init__(f"WebSocket closed ({code}: {reason})")
        self.code = code
        self.reason = reason


@dataclass(frozen=True, slots=True)
class _Close:
    code: int | None
    reason: str

    def error(self) -> WebSocketClosed:
        return WebSocketClosed(self.code, self.reason)


_ENDED: Final = _Close(None, "")


class HandshakeRejected(Exception):
    """The server answered the upgrade with an HTTP response instead of 101."""

    def __init__(self, status_code: int, body: bytes) -> None:
        super().__init__(f"HTTP {status_code}")
        self.status_code = status_code
        self.body = body


class HandshakeInterrupted(Exception):
    """The connection ended before the server answered the upgrade."""


class HandshakeInvalid(Exception):
    """The server's answer to the upgrade is not HTTP, or not a valid WebSocket
    handshake (a wrong Sec-WebSocket-Accept, say); the message says which."""


class WebSocketConnection:
    def __init__(
        self,
        stream: trio.abc.Stream,
        protocol: WSConnection,
        *,
        max_message_size: int,
        receive_buffer_size: int,
        events: list[Event],
    ) -> None:
        self._stream = stream
        self._protocol = protocol
        self._max_message_size = max_message_size
        self._receive_buffer_size = receive_buffer_size
        self._events = events  # received, not yet handled
        self._send_lock = trio.StrictFIFOLock()
        self._fragments: list[bytes | str] = []
        self._fragments_size = 0
        # The Close as data, never as a kept exception: a raised exception holds
        # its traceback, whose frames hold this connection, a cycle only the
        # collector frees (about 18 KB a reconnect under the CLI's settings).
        self._close: _Close | None = None
        self._close_received = trio.Event()
        self._reading = False

    @property
    def closed(self) -> WebSocketClosed | None:
        return None if self._close is None else self._close.error()

    def _closed_error(self) -> WebSocketClosed:
        return (self._close or _ENDED).error()

    def _closing(self, code: int | None, reason: str = "") -> None:
        """Record why the connection closed, unless something did before."""
        if self._close is None:
            self._close = _Close(code, reason)

    # ------------------------------------------------------------------ sending

    async def _send_bytes(self, data: bytes, *, explain: bool = True) -> None:
        lock = self._send_lock
        try:
            if lock.locked():
                async with lock:
                    await self._stream.send_all(data)
            else:
                # No checkpoint of its own when nobody else is sending: send_all
                # checkpoints, and each extra one costs a trip through the scheduler.
                lock.acquire_nowait()
                try:
                    await self._stream.send_all(data)
                finally:
                    lock.release()
        except (trio.BrokenResourceError, trio.ClosedResourceError) as error:
            if explain:
                # The server may have said why before it hung up (1009: too big for it).
                with trio.move_on_after(WEBSOCKET_FAILURE_CLOSE_SECONDS):
                    await self._await_close()
            self._lost()
            raise self._closed_error() from error

    async def send_message(self, message: bytes | str) -> None:
        if self._close is not None:
            raise self._close.error()
        event: TextMessage | BytesMessage = (
            TextMessage(data=message) if isinstance(message, str) else BytesMessage(data=message)
        )
        try:
            data = self._protocol.send(event)
        except LocalProtocolError:
            raise self._closed_error() from None
        await self._send_bytes(data)

    # ---------------------------------------------------------------- receiving

    async def get_message(self) -> bytes | str:
        """The next whole message; WebSocketClosed once the connection is closed."""
        while True:
            while self._events:
                message = await self._handle(self._events.pop(0))
                if message is not None:
                    return message
            if self._close is not None:
                raise self._close.error()
            await self._read()

    async def _read(self) -> None:
        self._reading = True
        try:
            data = await self._stream.receive_some(self._receive_buffer_size)
        except (trio.BrokenResourceError, trio.ClosedResourceError):
            data = b""
        finally:
            self._reading = False
        if not data:
            self._lost()
            return
        try:
            self._protocol.receive_data(bytes(data))
            self._events.extend(self._protocol.events())
        except RemoteProtocolError as error:
            await self._fail(PROTOCOL_ERROR, str(error))

    async def _handle(self, event: Event) -> bytes | str | None:
        if isinstance(event, (TextMessage, BytesMessage)):
            return await self._message_part(event)
        if isinstance(event, Ping):
            await self._reply(event.response())
        elif isinstance(event, CloseConnection):
            self._closing(event.code, event.reason or "")
            self._close_received.set()
            if self._protocol.state is ConnectionState.REMOTE_CLOSING:
                await self._reply(event.response())
            await trio.aclose_forcefully(self._stream)
        return None

    async def _message_part(self, event: TextMessage | BytesMessage) -> bytes | str | None:
        data: bytes | str = event.data if isinstance(event.data, str) else bytes(event.data)
        if event.message_finished and not self._fragments:
            if len(data) > self._max_message_size:
                await self._too_big()
            return data
        self._fragments.append(data)
        self._fragments_size += len(data)
        if self._fragments_size > self._max_message_size:
            await self._too_big()
        if not event.message_finished:
            return None
        parts, self._fragments, self._fragments_size = self._fragments, [], 0
        if isinstance(event, TextMessage):
            return "".join(part for part in parts if isinstance(part, str))
        return b"".join(part for part in parts if isinstance(part, bytes))

    async def _too_big(self) -> None:
        await self._fail(
            MESSAGE_TOO_BIG, f"Exceeded maximum message size: {self._max_message_size} bytes"
        )

    async def _fail(self, code: int, reason: str) -> None:
        """Close from our side because of what the server sent; raises."""
        self._close = _Close(code, reason)
        self._events.clear()
        with trio.move_on_after(WEBSOCKET_FAILURE_CLOSE_SECONDS):
            await self._reply(CloseConnection(code=code, reason=reason))
        await trio.aclose_forcefully(self._stream)
        raise self._closed_error()

    async def _reply(self, event: Event) -> None:
        try:
            data = self._protocol.send(event)
        except LocalProtocolError:
            return
        with contextlib.suppress(WebSocketClosed):
            await self._send_bytes(data, explain=False)

    def _lost(self) -> None:
        self._closing(None)
        self._close_received.set()

    # ------------------------------------------------------------------ closing

    async def aclose(
        self, code: int = NORMAL_CLOSURE, timeout: float = DEFAULT_CLOSE_TIMEOUT_SECONDS
    ) -> None:
        """Close: send Close, wait up to `timeout` for the server's, then hang up."""
        try:
            if self._close is None and self._protocol.state is ConnectionState.OPEN:
                self._close = _Close(code, "")
                with trio.move_on_after(timeout):
                    await self._reply(CloseConnection(code=code))
                    await self._await_close()
        finally:
            await trio.aclose_forcefully(self._stream)

    async def _await_close(self) -> None:
        """Until the server's Close frame (or the connection's end) is received.

        Reads only if the receive loop is not reading; the messages read stay
        queued for it."""
        while not self._close_received.is_set():
            for event in self._events:
                if isinstance(event, CloseConnection):
                    self._closing(event.code, event.reason or "")
                    self._close_received.set()
                    return
            if self._reading:
                await self._close_received.wait()
            else:
                await self._read()


async def connect(
    stream: trio.abc.Stream,
    host: str,
    resource: str,
    *,
    extra_headers: Sequence[tuple[str, str]],
    max_message_size: int,
    receive_buffer_size: int,
) -> WebSocketConnection:
    """The opening handshake over `stream`; HandshakeRejected for an HTTP answer,
    HandshakeInvalid for one that is not a handshake, HandshakeInterrupted if the
    connection ends first."""
    protocol = WSConnection(ConnectionType.CLIENT)
    request = Request(
        host=host,
        target=resource,
        extra_headers=[
            (name.encode("latin-1"), value.encode("latin-1")) for name, value in extra_headers
        ],
    )
    try:
        await stream.send_all(protocol.send(request))
    except (trio.BrokenResourceError, trio.ClosedResourceError):
        raise HandshakeInterrupted from None
    rejected: RejectConnection | None = None
    body = bytearray()
    while True:
        try:
            data = await stream.receive_some(receive_buffer_size)
        except (trio.BrokenResourceError, trio.ClosedResourceError):
            data = b""
        if not data:
            if rejected is not None:
                raise HandshakeRejected(rejected.status_code, bytes(body))
            raise HandshakeInterrupted
        try:
            # wsproto checks the answer's HTTP as it is fed, and its handshake once
            # events are asked for: either may find it wrong.
            protocol.receive_data(bytes(data))
            events = list(protocol.events())
        except RemoteProtocolError as error:
            raise HandshakeInvalid(str(error)) from None
        for index, event in enumerate(events):
            if isinstance(event, AcceptConnection):
                return WebSocketConnection(
                    stream,
                    protocol,
                    max_message_size=max_message_size,
                    receive_buffer_size=receive_buffer_size,
                    events=events[index + 1 :],
                )
            if isinstance(event, RejectConnection):
                rejected = event
                if not event.has_body:
                    raise HandshakeRejected(event.status_code, b"")
            elif isinstance(event, RejectData) and rejected is not None:
                if len(body) < MAX_REJECTION_BODY:
                    body += event.data[: MAX_REJECTION_BODY - len(body)]
                if event.body_finished:
                    raise HandshakeRejected(rejected.status_code, bytes(body))
