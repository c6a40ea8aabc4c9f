"""A client WebSocket over a trio stream, read by its one consumer.

wsproto does the opening handshake (its h11 reads the server's answer: a 101, a
refusal with its body, or something invalid, each told apart); the `websockets`
package's sans-IO protocol then does the frames (parsing, masking, the closing
handshake). Measured per Echo round trip (one text frame each way): wsproto's
frame codec 29 us, websockets' 9 us, with its C mask; the frames are most of the
codec's work at a high call rate, the handshake happens once a connection.

This is the I/O around them. Unlike trio-websocket, it has no reader task of its
own: the hub connection's receive loop reads the socket itself when it wants the
next message. That saves a trip through the scheduler per received message
(measured: one epoll round of five per call round trip), and backpressure needs
no queue: an unread socket is the backpressure.

Pings are answered, and a Close from the server is echoed, as soon as they are
read. `aclose` sends Close and waits, within its time limit, for the server's
echo, read by the receive loop if it is reading, else by `aclose` itself.
"""

from __future__ import annotations

import contextlib
import os
import re
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final, cast

import trio
from websockets.exceptions import InvalidState
from websockets.frames import CloseCode, Frame, Opcode
from websockets.protocol import Protocol, Side, State
from wsproto import ConnectionType
from wsproto.events import AcceptConnection, RejectConnection, RejectData, Request
from wsproto.handshake import H11Handshake
from wsproto.utilities import RemoteProtocolError

from hubcli._defaults import DEFAULT_CLOSE_TIMEOUT_SECONDS, WEBSOCKET_FAILURE_CLOSE_SECONDS

MESSAGE_TOO_BIG: Final = 1009
NORMAL_CLOSURE: Final = 1000
INVALID_DATA: Final = 1007
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


class _Frames(Protocol):
    """websockets' protocol for a client connection already open (wsproto did the
    handshake). A message over the limit is closed with 1009 and the reason the
    transport recognises as its own limit (see websockets.py)."""

    def __init__(self, max_message_size: int) -> None:
        super().__init__(Side.CLIENT, state=State.OPEN, max_size=max_message_size)
        self._too_big = f"Exceeded maximum message size: {max_message_size} bytes"

    def fail(self, code: CloseCode | int, reason: str = "") -> None:
        super().fail(code, self._too_big if code == MESSAGE_TOO_BIG else reason)


_TEXT: Final = Opcode.TEXT
_BINARY: Final = Opcode.BINARY
_CONT: Final = Opcode.CONT
_CLOSE: Final = Opcode.CLOSE
# Where h11 ends a response's head (its blank-line rule): what follows the 101 in
# the same read is already WebSocket frames.
_HEAD_END: Final = re.compile(rb"\n\r?\n")


_CLOSED: Final = "closed"
_FAILED: Final = "failed"


def _invalid_text(data: bytes) -> str | None:
    """Why a text message is not UTF-8, or None if it is."""
    if data.isascii():
        return None
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as error:
        return f"{error.reason} at position {error.start}"
    return None


def _descriptor(socket: trio.socket.SocketType) -> int:
    # Read at the moment of use: a closed socket's is -1, never a reused one.
    fd = socket.fileno()
    if fd < 0:
        raise trio.ClosedResourceError("the socket was closed")
    return fd


def _write_now(socket: trio.socket.SocketType, data: bytes) -> int:
    """What the non-blocking socket takes right now (0 when it is full)."""
    try:
        return os.write(_descriptor(socket), data)
    except BlockingIOError:
        return 0
    except OSError as error:
        raise trio.BrokenResourceError(str(error)) from error


def _read_now(socket: trio.socket.SocketType, size: int) -> bytes | None:
    """What the non-blocking socket holds right now (None: nothing yet; b"": its end)."""
    try:
        return os.read(_descriptor(socket), size)
    except BlockingIOError:
        return None
    except OSError as error:
        raise trio.BrokenResourceError(str(error)) from error


class WebSocketConnection:
    def __init__(
        self,
        stream: trio.abc.Stream,
        protocol: _Frames,
        *,
        receive_buffer_size: int,
        received: bytes,
    ) -> None:
        self._stream = stream
        # A plain TCP stream's socket, read and written directly (see _receive).
        self._socket = stream.socket if isinstance(stream, trio.SocketStream) else None
        self._protocol = protocol
        self._receive_buffer_size = receive_buffer_size
        # Read but not yet parsed: what followed the handshake's answer.
        self._unparsed = received
        self._messages: deque[bytes] = deque()  # received whole, not yet taken
        self._send_lock = trio.StrictFIFOLock()
        self._fragments: list[bytes] = []
        self._fragments_text = False
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
                    await self._write(data)
                finally:
                    lock.release()
        except (trio.BrokenResourceError, trio.ClosedResourceError) as error:
            if explain:
                # The server may have said why before it hung up (1009: too big for it).
                with trio.move_on_after(WEBSOCKET_FAILURE_CLOSE_SECONDS):
                    await self._await_close()
            self._lost()
            raise self._closed_error() from error

    async def _write(self, data: bytes) -> None:
        """send_all, but a write the kernel takes whole at once is made directly,
        without trio's layers and its schedule point (as the server's front does):
        an invoke waits for its answer next, which is a schedule point anyway, and
        a trip through the scheduler per message sent was a sixth of a call's
        client CPU. Cancellation is still honoured before anything is written."""
        socket = self._socket
        if socket is not None:
            await trio.lowlevel.checkpoint_if_cancelled()
            sent = _write_now(socket, data)
            if sent == len(data):
                return
            if sent:
                await self._stream.send_all(memoryview(data)[sent:])
                return
        await self._stream.send_all(data)

    async def send_message(self, message: bytes, *, text: bool) -> None:
        """One message, in a Text frame (UTF-8 already) or a Binary one."""
        if self._close is not None:
            raise self._close.error()
        protocol = self._protocol
        try:
            if text:
                protocol.send_text(message)
            else:
                protocol.send_binary(message)
        except InvalidState:
            raise self._closed_error() from None
        await self._send_bytes(b"".join(protocol.data_to_send()))

    async def _reply(self) -> None:
        """Send what the protocol has to say on its own (pongs, Close frames)."""
        writes = self._protocol.data_to_send()
        if writes:
            with contextlib.suppress(WebSocketClosed):
                await self._send_bytes(b"".join(writes), explain=False)

    # ---------------------------------------------------------------- receiving

    async def get_message(self) -> bytes:
        """The next whole message; WebSocketClosed once the connection is closed."""
        while True:
            if self._messages:
                return self._messages.popleft()
            if self._close is not None:
                raise self._close.error()
            await self._read()

    async def _read(self) -> None:
        data: bytes | bytearray = self._unparsed
        if data:
            self._unparsed = b""
        else:
            self._reading = True
            try:
                data = await self._receive()
            except (trio.BrokenResourceError, trio.ClosedResourceError):
                data = b""
            finally:
                self._reading = False
            if not data:
                self._lost()
                return
        ended = self._parse(data)
        if ended is None:
            await self._reply()  # pongs
            return
        self._close_received.set()
        if ended is _FAILED:
            # Our Close, with why: the server may not be reading any more.
            with trio.move_on_after(WEBSOCKET_FAILURE_CLOSE_SECONDS):
                await self._reply()
        else:
            await self._reply()  # the echo of the server's Close
        await trio.aclose_forcefully(self._stream)

    async def _receive(self) -> bytes | bytearray:
        """receive_some, with one schedule point instead of two when the socket has
        to be waited for: trio's receive_some yields again after the wait that woke
        it. Data already waiting still yields once (cancel-shielded, as trio does:
        what was read must not be lost), so a server that never pauses cannot
        starve the other tasks."""
        socket = self._socket
        if socket is None:
            return await self._stream.receive_some(self._receive_buffer_size)
        await trio.lowlevel.checkpoint_if_cancelled()
        data = _read_now(socket, self._receive_buffer_size)
        if data is not None:
            await trio.lowlevel.cancel_shielded_checkpoint()
            return data
        while True:
            await trio.lowlevel.wait_readable(socket)
            data = _read_now(socket, self._receive_buffer_size)
            if data is not None:
                return data

    def _parse(self, data: bytes | bytearray) -> str | None:
        """Take the messages out of `data`: None while the connection stays open,
        else _CLOSED (by the server's Close) or _FAILED (on what the server sent),
        with the Close recorded."""
        protocol = self._protocol
        protocol.receive_data(data)
        messages = self._messages
        # Open from the start, the protocol has no handshake events: frames only.
        for frame in cast(list[Frame], protocol.events_received()):
            opcode = frame.opcode
            if opcode is _TEXT or opcode is _BINARY:
                message = bytes(frame.data)
                if not frame.fin:
                    self._fragments = [message]
                    self._fragments_text = opcode is _TEXT
                    continue
                if opcode is _TEXT and (invalid := _invalid_text(message)) is not None:
                    return self._fail(INVALID_DATA, invalid)
                messages.append(message)
            elif opcode is _CONT:
                self._fragments.append(bytes(frame.data))
                if frame.fin:
                    message = b"".join(self._fragments)
                    self._fragments = []
                    if self._fragments_text and (invalid := _invalid_text(message)) is not None:
                        return self._fail(INVALID_DATA, invalid)
                    messages.append(message)
            elif opcode is _CLOSE:
                received = protocol.close_rcvd
                assert received is not None
                self._closing(received.code, received.reason)
                return _CLOSED
        if protocol.parser_exc is not None:
            # websockets failed the connection: its Close (1002, 1009...) is queued.
            sent = protocol.close_sent
            self._closing(None if sent is None else sent.code, "" if sent is None else sent.reason)
            return _FAILED
        return None

    def _fail(self, code: int, reason: str) -> str:
        """Close from our side because of what the server sent."""
        self._protocol.fail(code, reason)
        self._closing(code, reason)
        return _FAILED

    def _lost(self) -> None:
        self._closing(None)
        self._close_received.set()

    # ------------------------------------------------------------------ closing

    async def aclose(
        self, code: int = NORMAL_CLOSURE, timeout: float = DEFAULT_CLOSE_TIMEOUT_SECONDS
    ) -> None:
        """Close: send Close, wait up to `timeout` for the server's, then hang up."""
        try:
            if self._close is None and self._protocol.state is State.OPEN:
                self._close = _Close(code, "")
                with trio.move_on_after(timeout):
                    self._protocol.send_close(code)
                    await self._reply()
                    await self._await_close()
        finally:
            await trio.aclose_forcefully(self._stream)

    async def _await_close(self) -> None:
        """Until the server's Close frame (or the connection's end) is received.

        Reads only if the receive loop is not reading; the messages read stay
        queued for it."""
        while not self._close_received.is_set():
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
    handshake = H11Handshake(ConnectionType.CLIENT)
    request = Request(
        host=host,
        target=resource,
        extra_headers=[
            (name.encode("latin-1"), value.encode("latin-1")) for name, value in extra_headers
        ],
    )
    try:
        await stream.send_all(handshake.send(request))
    except (trio.BrokenResourceError, trio.ClosedResourceError):
        raise HandshakeInterrupted from None
    rejected: RejectConnection | None = None
    body = bytearray()
    # What was read until the answer's head is whole (h11 bounds a head's size).
    head = bytearray()
    while True:
        try:
            data = await stream.receive_some(receive_buffer_size)
        except (trio.BrokenResourceError, trio.ClosedResourceError):
            data = b""
        if not data:
            if rejected is not None:
                raise HandshakeRejected(rejected.status_code, bytes(body))
            raise HandshakeInterrupted
        if rejected is None:
            head += data
        try:
            # h11 checks the answer's HTTP as it is fed, and wsproto its handshake.
            handshake.receive_data(bytes(data))
            events = list(handshake.events())
        except RemoteProtocolError as error:
            raise HandshakeInvalid(str(error)) from None
        for event in events:
            if isinstance(event, AcceptConnection):
                end = _HEAD_END.search(head)
                assert end is not None  # h11 found the head's end there too
                return WebSocketConnection(
                    stream,
                    _Frames(max_message_size),
                    receive_buffer_size=receive_buffer_size,
                    received=bytes(head[end.end() :]),
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
