"""WebSockets served by the front itself: one socket for both directions.

The front (front.py) parsed the upgrade request; this carries the connection over
the socket with the `websockets` package's sans-IO protocol, with no ASGI server
in between. Per received chunk (up to 64 KiB) every frame in it is parsed and all
the messages it completes go to the hub in one pipe write; everything ready to
send (hub output, pongs, the close frame) goes out in one socket write.

Frames go out as Text for a text protocol and Binary for MessagePack (the format
fixed by the handshake); incoming frames of either type are just bytes, Text ones
checked to be UTF-8 (1007 if not), and a message over the frame limit is refused
with 1009. Like the real server's WebSocket (.NET's ManagedWebSocket), such a
close carries the code only, no description. When the hub ends, what it wrote is
flushed and the socket closed with 1000. When the socket ends first, the
connection manager decides whether the connection waits for a resume (stateful
reconnect) or is over.

A request that takes a stateful connection over from this one completes this
one's output: the socket then gets a close frame (1000), and its peer
`websocket_close_timeout` seconds to answer it, as the real server's transport
gives before it aborts the socket.
"""

from __future__ import annotations

import logging
import os
from functools import partial
from typing import Final

import trio
from websockets.frames import Close, CloseCode, Frame, Opcode
from websockets.http11 import Request, Response
from websockets.protocol import SEND_EOF, State
from websockets.server import ServerProtocol

from hubcli.protocol import TransferFormat
from hubcli.server.connections import Attachment, ConnectionManager, HttpConnection

log = logging.getLogger("hubcli.server")

RECEIVE_CHUNK: Final = 64 * 1024
_DATA = (Opcode.TEXT, Opcode.BINARY, Opcode.CONT)


class _Protocol(ServerProtocol):
    """The `websockets` protocol, answering as the real server's transport does."""

    def __init__(self, *, max_size: int, logger: logging.Logger) -> None:
        super().__init__(max_size=max_size, logger=logger)
        self._close_answered = False

    def data_to_send(self) -> list[bytes]:
        # `websockets` answers a peer's close by echoing its frame; the real server's
        # transport ends its side with NormalClosure and no description whatever the
        # peer sent (a close without a code included), so the echo is swapped for that.
        writes = super().data_to_send()
        received = self.close_rcvd
        if received is None or not self.close_rcvd_then_sent or self._close_answered:
            return writes
        self._close_answered = True
        echoed_data = b"" if received.code == CloseCode.NO_STATUS_RCVD else received.serialize()
        echo = Frame(Opcode.CLOSE, echoed_data).serialize(mask=False)
        normal = Close(CloseCode.NORMAL_CLOSURE, "")
        answer = Frame(Opcode.CLOSE, normal.serialize()).serialize(mask=False)
        self.close_sent = normal
        return [answer if write == echo else write for write in writes]

    def fail(self, code: int, reason: str = "") -> None:
        # .NET's WebSocket closes a failed receive with the code and an empty
        # description (CloseWithReceiveErrorAndThrowAsync); the reason is logged only.
        if reason:
            log.info("WebSocket failed (%d): %s", code, reason)
        super().fail(code, "")


class NativeWebSocket:
    """One upgraded connection: its stream, its protocol state, the handshake answer."""

    def __init__(
        self,
        stream: trio.abc.Stream,
        head: bytes,
        trailing: bytes,
        max_size: int,
    ) -> None:
        self._stream = stream
        self._send_lock = trio.Lock()
        self._trailing = trailing
        self.protocol = _Protocol(max_size=max_size, logger=log)
        # The protocol parses the request head itself (the front's h11 only routed it).
        self.protocol.receive_data(head)
        events = self.protocol.events_received()
        if events and isinstance(events[0], Request):
            self._response: Response = self.protocol.accept(events[0])
        else:
            self._response = self.protocol.reject(400, "Failed to open a WebSocket connection.\n")
        self.accepted = False
        self._eof_sent = False
        # Whether the last read took all the socket had (see _receive).
        self._drained = False
        # A fragmented message under way: its type and pieces.
        self._text_pending = False
        self._fragments: list[bytes] = []

    @property
    def handshake_refusal(self) -> Response | None:
        """The refusal of an invalid upgrade request (no key, wrong version), if so."""
        return self._response if self._response.status_code != 101 else None

    async def _flush(self) -> None:
        """Write what the protocol has to send."""
        writes = self.protocol.data_to_send()
        if not writes:
            return
        eof = writes[-1] is SEND_EOF or SEND_EOF in writes
        data = b"".join(writes)
        lock = self._send_lock
        sent = 0
        if not lock.locked() and not eof:
            # Nobody is writing: a write the socket takes whole needs no lock, as
            # nothing can come between its start and its end.
            sent = self._send_now(data)
            if sent == len(data):
                return
        try:
            # Uncontended (nearly always), the lock is taken without the schedule
            # point `async with` adds: send_all is one already, and a round of the
            # scheduler per frame sent was a sixth of an invoke's server time.
            lock.acquire_nowait()
        except trio.WouldBlock:
            await lock.acquire()
        try:
            if data:
                if not sent:
                    sent = self._send_now(data)
                if sent < len(data):
                    await self._stream.send_all(memoryview(data)[sent:])
            if eof and not self._eof_sent:
                self._eof_sent = True
                if isinstance(self._stream, trio.SocketStream):
                    await self._stream.send_eof()
        finally:
            lock.release()

    def _send_now(self, data: bytes) -> int:
        """Write what the socket takes right now, without the scheduler: the bytes
        written (0 if it is full, or under TLS, where send_all does it all).

        trio's send_all is a schedule point and a few layers per call; a write the
        kernel takes at once needs neither. The socket is non-blocking (trio made it
        so), and its descriptor is read at the moment of the write, so a closed
        socket (-1) is never confused with a descriptor since reused.
        """
        stream = self._stream
        if not isinstance(stream, trio.SocketStream):
            return 0
        fd = stream.socket.fileno()
        if fd < 0:
            raise trio.ClosedResourceError("the socket was closed")
        try:
            return os.write(fd, data)
        except BlockingIOError:
            return 0
        except OSError as exc:
            raise trio.BrokenResourceError(str(exc)) from exc

    async def _receive(self) -> bytes:
        """What the socket holds, else the next bytes to come (b"" at its end).

        trio's receive_some first tries the read, and on a socket with nothing yet
        (nearly every read of a request-response exchange) pays a raised
        BlockingIOError, two layers of helpers and a schedule point before waiting;
        a read that finds data is also a schedule point. Here a read is a bare
        os.read, and only an empty socket waits (wait_readable: the one schedule
        point, where cancellation is delivered). Under TLS, receive_some does it all.
        """
        stream = self._stream
        if not isinstance(stream, trio.SocketStream):
            return bytes(await stream.receive_some(RECEIVE_CHUNK))
        sock = stream.socket
        if self._drained:
            # The last read did not fill the buffer, so the socket was empty then:
            # wait before reading rather than fail a read (a syscall and a raised
            # BlockingIOError) on nearly every request-response exchange. Bytes
            # that came meanwhile make the wait end at once.
            await trio.lowlevel.wait_readable(sock)
        while True:
            # Read at the moment of the read: a closed socket is -1, never a
            # descriptor since reused.
            fd = sock.fileno()
            if fd < 0:
                raise trio.ClosedResourceError("the socket was closed")
            try:
                data = os.read(fd, RECEIVE_CHUNK)
                self._drained = len(data) < RECEIVE_CHUNK
                return data
            except BlockingIOError:
                await trio.lowlevel.wait_readable(sock)
            except OSError as exc:
                raise trio.BrokenResourceError(str(exc)) from exc

    async def serve(
        self,
        connection: HttpConnection,
        attachment: Attachment,
        manager: ConnectionManager,
        *,
        close_timeout: float,
    ) -> None:
        self.protocol.send_response(self._response)
        self.accepted = True
        await self._flush()
        manager.start_application(connection)
        outbound = attachment.outbound
        try:
            async with trio.open_nursery() as nursery:
                nursery.start_soon(
                    self._send_outbound, connection, attachment, nursery.cancel_scope, close_timeout
                )
                outbound.express = partial(self._send_express, connection, nursery.cancel_scope)
                await self._receive_inbound(connection)
                nursery.cancel_scope.cancel()
        finally:
            outbound.express = None
            manager.transport_ended(connection, attachment)

    async def _receive_inbound(self, connection: HttpConnection) -> None:
        protocol = self.protocol
        try:
            data = self._trailing or await self._receive()
            self._trailing = b""
            while True:
                messages: list[bytes] = []
                self._take_frames(data, messages)
                if messages:
                    inbound = connection.inbound
                    direct = inbound.direct
                    if direct is not None and inbound.reader_idle:
                        # The hub waits for input: this task dispatches it.
                        await direct(b"".join(messages))
                    # One write per chunk, and no wait unless the hub is behind.
                    elif inbound.write_nowait(b"".join(messages)) and inbound.over_threshold:
                        await inbound.drained()
                await self._flush()
                if protocol.state is not State.OPEN or not data:
                    return
                data = await self._receive()
        except (trio.BrokenResourceError, trio.ClosedResourceError):
            return

    def _take_frames(self, data: bytes, messages: list[bytes]) -> None:
        """The messages that `data` (b"" at the end of the stream) completes."""
        protocol = self.protocol
        if data:
            protocol.receive_data(data)
        else:
            protocol.receive_eof()
        fragments = self._fragments
        for frame in protocol.events_received():
            if not isinstance(frame, Frame) or frame.opcode not in _DATA:
                continue
            opcode = frame.opcode
            if opcode is not Opcode.CONT:
                self._text_pending = opcode is Opcode.TEXT
            payload = bytes(frame.data)
            if not frame.fin:
                fragments.append(payload)
                continue
            if fragments:
                fragments.append(payload)
                payload = b"".join(fragments)
                fragments.clear()
            if self._text_pending and not payload.isascii() and not self._valid_text(payload):
                return
            messages.append(payload)

    def _valid_text(self, payload: bytes) -> bool:
        try:
            payload.decode("utf-8")
        except UnicodeDecodeError as exc:
            self.protocol.fail(1007, f"{exc.reason} at position {exc.start}")
            return False
        return True

    def _frame(self, connection: HttpConnection, data: bytes) -> None:
        if connection.active_format is TransferFormat.BINARY:
            self.protocol.send_binary(data)
        else:
            self.protocol.send_text(data)

    async def _send_express(
        self, connection: HttpConnection, scope: trio.CancelScope, data: bytes
    ) -> None:
        """A message from the hub's own task, the outbound pipe being empty: framed
        and written as _send_outbound would, in order behind what it is writing (the
        send lock), waiting only while the socket is full."""
        if self.protocol.state is not State.OPEN:
            return
        self._frame(connection, data)
        try:
            await self._flush()
        except (trio.BrokenResourceError, trio.ClosedResourceError):
            # As when the sender fails: the transport is over.
            scope.cancel()

    async def _send_outbound(
        self,
        connection: HttpConnection,
        attachment: Attachment,
        scope: trio.CancelScope,
        close_timeout: float,
    ) -> None:
        protocol = self.protocol
        # This request's own pipe: after a takeover the connection has a new one.
        outbound = attachment.outbound
        try:
            while (data := await outbound.read()) is not None:
                if protocol.state is not State.OPEN:
                    continue
                self._frame(connection, data)
                await self._flush()
            if protocol.state is State.OPEN:
                protocol.send_close(1000)
                await self._flush()
        except (trio.BrokenResourceError, trio.ClosedResourceError):
            pass
        if attachment.taken_over:
            scope.deadline = min(scope.deadline, trio.current_time() + close_timeout)
        else:
            scope.cancel()

    def _closed(self) -> bool:
        return self.protocol.state is State.CLOSED

    async def finish(self, close_timeout: float) -> None:
        """After the request: give the peer up to `close_timeout` to answer our close
        frame (closing with its data unread would reset the connection, and the close
        frame might be lost), then let the front close the stream."""
        protocol = self.protocol
        if not self.accepted or protocol.state is State.CLOSED:
            return
        with trio.move_on_after(close_timeout):
            try:
                if protocol.state is State.OPEN:
                    protocol.send_close(1000)
                    await self._flush()
                while not self._closed():
                    data = await self._stream.receive_some(RECEIVE_CHUNK)
                    if not data:
                        return
                    protocol.receive_data(data)
                    protocol.events_received()
                    await self._flush()
            except (trio.BrokenResourceError, trio.ClosedResourceError):
                return
