"""HubConnection: one handshaken hub connection over a transport.

It owns two background tasks in the nursery it is given: the receive loop (parse each
received chunk in one call, dispatch the messages, enforce the server timeout) and the
keep-alive (a Ping after `keepalive_interval` of send silence). Upload pumps run there
too. Every call in flight is a `Call` in the invocation table; the receive loop hands
a streaming call its items one received frame at a time.

Backpressure. There is one receive loop, so waiting for one stream's consumer stops
every call on the connection. While a stream is the only call in flight, that is
what we want: once it holds STREAM_BUFFER_FRAMES frames its consumer has not taken,
the loop waits, the socket is no longer read, and the server slows down (memory
stays flat however long the stream). With other calls in flight it would deadlock
a consumer that waits for one of them (`async for x in stream: await invoke(...)`:
the invoke's Completion is behind the stream's items), so the loop does not wait
then: the stream buffers, up to `stream_buffer_limit` received bytes, and a stream
that runs further ahead of its consumer fails with StreamBufferFullError (after the
items it holds) and is cancelled on the server. A new call starting while the loop
waits wakes it.
"""

from __future__ import annotations

import contextlib
import logging
import math
from collections import deque
from collections.abc import AsyncIterable, AsyncIterator, Sequence
from dataclasses import dataclass
from typing import Any, Final

import trio

from hubcli.protocol import handshake
from hubcli.protocol.base import HubProtocol, TransferFormat
from hubcli.protocol.errors import HandshakeError, ProtocolError
from hubcli.protocol.messages import (
    PING,
    CancelInvocation,
    Close,
    Completion,
    CompletionKind,
    HubMessage,
    IncomingMessage,
    Invocation,
    InvocationBindingFailure,
    Ping,
    StreamInvocation,
    StreamItem,
    StreamItemBatch,
)

from .errors import (
    ConnectionClosedError,
    ConnectTimeoutError,
    HubError,
    ServerTimeoutError,
    StreamBufferFullError,
)
from .transports.base import Transport, TransportClosed

logger: Final = logging.getLogger("hubcli")

NO_CLIENT_RESULT: Final = "Client didn't provide a result."
SERVER_TIMEOUT_MESSAGE: Final = (
    "Server timeout elapsed without receiving a message from the server."
)
CLOSED_WITHOUT_ERROR: Final = "Invocation canceled due to the underlying connection being closed."
UPLOAD_CANCELLED: Final = "The upload was cancelled by the client."
# Received frames a streaming call may hold before the receive loop waits for its
# consumer (when it is the only call in flight): enough to overlap decoding with
# writing, few enough to bound memory.
STREAM_BUFFER_FRAMES: Final = 4
# Received bytes a stream may hold while other calls are in flight (see above): two
# messages of the default size limit.
DEFAULT_STREAM_BUFFER_LIMIT: Final = 32 * 1024 * 1024
_TRACE_LIMIT: Final = 2000


@dataclass(frozen=True, slots=True)
class ItemBatches:
    """An upload whose source yields lists of items.

    Each list travels in one transport message: the way to upload fast. A plain
    async iterable argument uploads one item per message.
    """

    source: AsyncIterable[Sequence[Any]]


Upload = AsyncIterable[Any] | ItemBatches


def is_upload(value: Any) -> bool:
    return isinstance(value, (AsyncIterable, ItemBatches))


async def _batches_of(upload: Upload) -> AsyncIterator[Sequence[Any]]:
    if isinstance(upload, ItemBatches):
        async for batch in upload.source:
            yield batch
    else:
        async for item in upload:
            yield (item,)


class Call:
    """One invocation in flight: its outcome and, for streams, its received frames.

    A stream's frames wait in a queue between the receive loop (`put`, which never
    blocks; `wait_for_room`) and the consumer (`take`).
    """

    __slots__ = (
        "_frames",
        "_readable",
        "_taken",
        "completion",
        "done",
        "error",
        "held_bytes",
        "invocation_id",
        "orphaned",
        "pending_uploads",
        "released",
        "stream_ids",
        "streaming",
        "upload_scopes",
    )

    def __init__(self, invocation_id: str | None, stream_ids: list[str], streaming: bool) -> None:
        self.invocation_id = invocation_id
        self.stream_ids = stream_ids
        self.streaming = streaming
        self.done = trio.Event()
        self.completion: Completion | None = None
        self.error: BaseException | None = None
        self.upload_scopes: list[trio.CancelScope] = []
        self.pending_uploads = len(stream_ids)
        # (items, received bytes they are charged with), oldest first
        self._frames: deque[tuple[list[Any], int]] = deque()
        self.held_bytes = 0
        self.released = False
        # Set (and nothing else) by a finalizer: see StreamCall.__del__.
        self.orphaned = False
        self._readable = trio.Event()
        self._taken = trio.Event()

    @property
    def frames_held(self) -> int:
        return len(self._frames)

    def put(self, items: list[Any], size: int) -> None:
        """Queue a received frame of items for the consumer."""
        # A plain invocation has no one to give items to; a released one no reader.
        if self.streaming and not self.released and not self.done.is_set():
            self._frames.append((items, size))
            self.held_bytes += size
            self._readable.set()

    async def wait_for_room(self, frames: int) -> None:
        """Until the consumer has taken all but `frames` frames, or let go."""
        while len(self._frames) > frames and not self.released and not self.done.is_set():
            if self._taken.is_set():
                self._taken = trio.Event()
            await self._taken.wait()

    async def take(self) -> list[Any] | None:
        """The next frame's items; None once the stream ended (or was released) and
        every frame it received is taken."""
        while not self._frames:
            if self.done.is_set() or self.released:
                return None
            if self._readable.is_set():
                self._readable = trio.Event()
            await self._readable.wait()
        items, size = self._frames.popleft()
        self.held_bytes -= size
        self._taken.set()
        return items

    def complete(self, completion: Completion) -> None:
        if not self.done.is_set():
            self.completion = completion
            self._end()

    def fail(self, error: BaseException) -> None:
        if not self.done.is_set():
            self.error = error
            self._end()

    def release(self) -> None:
        """The consumer will read no more: drop what is held, stop the uploads."""
        self.released = True
        self._frames.clear()
        self.held_bytes = 0
        self._wake()
        for scope in self.upload_scopes:
            scope.cancel()

    def _end(self) -> None:
        # Frames already held stay readable; `done` marks their end.
        for scope in self.upload_scopes:
            scope.cancel()
        self.done.set()
        self._wake()

    def _wake(self) -> None:
        self._readable.set()
        self._taken.set()

    def outcome(self, *, hub_errors_raise: bool = True) -> Completion:
        """The completion; raises the connection's failure, and the hub's error if asked."""
        if self.error is not None:
            raise self.error
        assert self.completion is not None
        if hub_errors_raise and self.completion.kind is CompletionKind.ERROR:
            raise HubError(self.completion.error or "The hub reported an error.")
        return self.completion


async def perform_handshake(transport: Transport, protocol: HubProtocol, timeout: float) -> bytes:
    """Send the handshake request, read the answer; returns the bytes that follow it."""
    request = handshake.HandshakeRequest(protocol.name, protocol.version)
    await transport.send(handshake.encode_request(request))
    buffer = b""
    parsed = None
    with trio.move_on_after(timeout):
        while parsed is None:
            try:
                buffer += await transport.receive()
            except TransportClosed as closed:
                raise HandshakeError(
                    f"The server closed the connection during the handshake: {closed.reason}"
                ) from None
            parsed = handshake.parse_response(buffer)
    if parsed is None:
        raise ConnectTimeoutError(f"The server did not answer the handshake within {timeout:g} s.")
    response, rest = parsed
    if not response.ok:
        raise HandshakeError(f"Server returned handshake error: {response.error}")
    return rest


def _trace(direction: str, data: bytes | Sequence[object], text: bool) -> None:
    shown = (
        bytes(data).decode("utf-8", "replace").replace("\x1e", "\u241e")
        if text and isinstance(data, bytes)
        else repr(data)
    )
    if len(shown) > _TRACE_LIMIT:
        shown = f"{shown[:_TRACE_LIMIT]}... ({len(shown)} characters)"
    logger.debug("%s %s", direction, shown)


class HubConnection:
    def __init__(
        self,
        transport: Transport,
        protocol: HubProtocol,
        *,
        keepalive_interval: float,
        server_timeout: float,
        max_message_size: int | None,
        stream_buffer_limit: int = DEFAULT_STREAM_BUFFER_LIMIT,
    ) -> None:
        self._transport = transport
        self._stream_buffer_limit = stream_buffer_limit
        # Set while the receive loop waits for the consumer of the only call in
        # flight; a call that begins cancels it (see the module's docstring).
        self._backpressure: trio.CancelScope | None = None
        self._protocol = protocol
        self._parser = protocol.parser(
            max_message_size=max_message_size, batch_stream_items=True, ignore_unknown_types=True
        )
        self._keepalive_interval = keepalive_interval
        self._server_timeout = server_timeout
        self._calls: dict[str, Call] = {}
        # Calls without an invocation id whose uploads are still going: no message
        # from the server names them, but the connection's end must still fail them.
        self._sends: set[Call] = set()
        self._next_id = 0
        self._send_lock = trio.StrictFIFOLock()
        self._concurrent_sends = transport.concurrent_sends
        self._last_send = trio.current_time()
        self._failure: BaseException | None = None
        self._transport_closed = False
        self._closing = False
        self._nursery: trio.Nursery | None = None
        self._keepalive_scope = trio.CancelScope()
        self._receive_scope = trio.CancelScope(shield=True)
        self._text = protocol.transfer_format is TransferFormat.TEXT
        self._trace = logger.isEnabledFor(logging.DEBUG)

    # ------------------------------------------------------------------ lifetime

    def start(self, nursery: trio.Nursery, received: bytes = b"") -> None:
        """Run the background tasks in `nursery`; `received` is what followed the handshake."""
        self._nursery = nursery
        nursery.start_soon(self._receive_until_closed, received)
        if self._keepalive_interval > 0:
            nursery.start_soon(self._keepalive_loop)

    @property
    def failure(self) -> BaseException | None:
        """Why the connection can no longer be used, once it cannot."""
        return self._failure

    async def close(self) -> None:
        """Say Close to the server if it is still listening, then close the transport.

        Stops the receive loop on the way out, however it goes (see `start`).
        """
        self._closing = True
        # A server gone silent (the server timeout) would answer neither a Close
        # POST nor a closing handshake: waiting for them would only delay the exit.
        silent = isinstance(self._failure, ServerTimeoutError)
        try:
            try:
                if not self._transport_closed and not silent:
                    with contextlib.suppress(TransportClosed, ConnectionClosedError):
                        await self._send_bytes(self._protocol.encode(Close()))
                    logger.info("sent Close")
            finally:
                # Even when cancelled (the clean-up aborted): a transport's aclose
                # cancelled from the start drops the connection without waiting.
                with trio.CancelScope() as closing:
                    if silent:
                        closing.cancel()
                    await self._transport.aclose()
            self._transport_closed = True
            if self._failure is None:
                self._fail_all(ConnectionClosedError(CLOSED_WITHOUT_ERROR))
        finally:
            self._receive_scope.cancel()

    # --------------------------------------------------------------------- calls

    def _new_id(self) -> str:
        invocation_id = str(self._next_id)
        self._next_id += 1
        return invocation_id

    async def begin(
        self, target: str, args: Sequence[Any], *, streaming: bool, expect_result: bool = True
    ) -> Call:
        """Send the invocation and start its uploads; the Call tracks the rest."""
        if self._failure is not None:
            raise self._failure
        arguments = [arg for arg in args if not is_upload(arg)]
        uploads: list[Upload] = [arg for arg in args if is_upload(arg)]
        # As the TS client: upload stream ids first, then the invocation id, one counter.
        stream_ids = [self._new_id() for _ in uploads]
        invocation_id = self._new_id() if expect_result or streaming else None
        call = Call(invocation_id, stream_ids, streaming)
        message: HubMessage
        if streaming:
            assert invocation_id is not None
            message = StreamInvocation(invocation_id, target, arguments, stream_ids)
        else:
            message = Invocation(target, arguments, invocation_id, stream_ids)
        if invocation_id is not None:
            self._calls[invocation_id] = call
            if self._backpressure is not None:
                self._backpressure.cancel()  # a second call in flight: stop waiting
        elif uploads:
            self._sends.add(call)
        try:
            await self.send(message)
        except BaseException:
            self.forget(call)
            raise
        if invocation_id is None and not uploads:
            call.complete(Completion.void(""))
        nursery = self._nursery
        assert nursery is not None
        for stream_id, upload in zip(stream_ids, uploads, strict=True):
            scope = trio.CancelScope()
            call.upload_scopes.append(scope)
            nursery.start_soon(self._pump, call, stream_id, upload, scope)
        return call

    def forget(self, call: Call) -> None:
        if call.invocation_id is not None:
            self._calls.pop(call.invocation_id, None)
        self._sends.discard(call)

    async def cancel(self, call: Call, wait: float) -> None:
        """Cancel a call in flight: CancelInvocation for a stream, error-end its uploads.

        A stream is waited for, up to `wait` seconds: the hub answers a
        CancelInvocation with the stream's Completion at once, and taking it before
        anything that follows (such as Close) leaves nothing of the stream unread.
        A plain invocation is not: the protocol cannot cancel it on the server, so
        its Completion comes whenever the method ends, and no one wants it now.
        """
        call.release()
        if call.done.is_set() or self._failure is not None:
            self.forget(call)
            return
        messages: list[HubMessage] = [
            Completion.with_error(stream_id, UPLOAD_CANCELLED) for stream_id in call.stream_ids
        ]
        if call.streaming and call.invocation_id is not None:
            messages.append(CancelInvocation(call.invocation_id))
        try:
            if messages:
                await self.send_many(messages)
            logger.info("cancelled invocation %s", call.invocation_id)
            if call.streaming:
                with trio.move_on_after(wait):
                    await call.done.wait()
        except (TransportClosed, ConnectionClosedError):
            pass
        finally:
            self.forget(call)

    async def _pump(
        self, call: Call, stream_id: str, upload: Upload, scope: trio.CancelScope
    ) -> None:
        with scope:
            try:
                async for batch in _batches_of(upload):
                    if batch:
                        await self.send_many([StreamItem(stream_id, item) for item in batch])
                await self.send(Completion.void(stream_id))
            except (TransportClosed, ConnectionClosedError) as error:
                # Unless the receive loop failed it first (with the same failure):
                # a call without an invocation id has no one else to end it.
                call.fail(self._failure or error)
                return
            except Exception as error:
                # The source failed: end the stream with an error so the server's
                # method fails too, and hand the source's error to the caller.
                with (
                    trio.CancelScope(shield=True),
                    trio.move_on_after(2.0),
                    contextlib.suppress(TransportClosed, ConnectionClosedError),
                ):
                    await self.send(Completion.with_error(stream_id, str(error) or repr(error)))
                call.fail(error)
                return
            call.pending_uploads -= 1
            if call.invocation_id is None and call.pending_uploads == 0:
                self._sends.discard(call)
                call.complete(Completion.void(""))

    # ------------------------------------------------------------------- sending

    async def send(self, message: HubMessage) -> None:
        if self._trace and not self._text:
            _trace("->", [message], text=False)
        await self._send_bytes(self._protocol.encode(message))

    async def send_many(self, messages: Sequence[HubMessage]) -> None:
        """Several messages in one transport message."""
        encode = self._protocol.encode
        buffer = bytearray()
        for message in messages:
            # Appending each encoding at once keeps few encoded objects alive at a
            # time, which matters: orjson's results hold more memory than they show.
            buffer += encode(message)
        if self._trace and not self._text:
            _trace("->", messages, text=False)
        await self._send_bytes(bytes(buffer))

    async def _send_bytes(self, data: bytes) -> None:
        if self._transport_closed:
            raise self._failure or ConnectionClosedError(CLOSED_WITHOUT_ERROR)
        if self._trace and self._text:
            _trace("->", data, text=True)
        try:
            if self._concurrent_sends:
                # The transport keeps callers' order and joins what queues up
                # behind a POST in flight into the next one: no turns to take.
                await self._transport.send(data)
            else:
                async with self._send_lock:
                    await self._transport.send(data)
        except TransportClosed as closed:
            self._transport_closed = True
            raise (
                self._failure
                or closed.failure
                or ConnectionClosedError(f"The connection was closed: {closed.reason}")
            ) from None
        self._last_send = trio.current_time()

    async def _keepalive_loop(self) -> None:
        ping = self._protocol.encode(PING)
        with self._keepalive_scope:
            while True:
                await trio.sleep_until(self._last_send + self._keepalive_interval)
                if trio.current_time() >= self._last_send + self._keepalive_interval:
                    try:
                        await self._send_bytes(ping)
                    except (TransportClosed, ConnectionClosedError):
                        return

    # ----------------------------------------------------------------- receiving

    async def _receive_until_closed(self, received: bytes) -> None:
        # Shielded, and stopped by `close` alone: when the caller is cancelled (Ctrl-C),
        # the clean-up that follows still needs the server's answers, the Completion
        # of a CancelInvocation, and the transport's own closing handshake.
        with self._receive_scope:
            await self._receive_loop(received)

    async def _receive_loop(self, received: bytes) -> None:
        failure: BaseException
        try:
            failure = await self._read_messages(received)
        except TransportClosed as closed:
            self._transport_closed = True
            failure = closed.failure or ConnectionClosedError(
                f"The connection was lost: {closed.reason}"
            )
        except (ProtocolError, ConnectionClosedError) as error:
            failure = error
        if not self._closing:
            logger.info("connection ended: %s", failure)
        self._fail_all(failure)

    async def _deliver(self, call: Call, items: list[Any], size: int) -> None:
        """Hand `items` (from `size` received bytes) to `call`, and hold the loop
        back as the module's docstring says."""
        if call.orphaned:
            # Its owner dropped it unfinished: cancel it from this task, since a
            # finalizer must not start anything (not even a task).
            self.forget(call)
            call.release()
            logger.info("stream %s was dropped unfinished: cancelling it", call.invocation_id)
            if call.invocation_id is not None:
                with contextlib.suppress(TransportClosed, ConnectionClosedError):
                    await self.send(CancelInvocation(call.invocation_id))
            return
        call.put(items, size)
        if call.frames_held <= STREAM_BUFFER_FRAMES:
            return
        if len(self._calls) == 1:
            with trio.CancelScope() as self._backpressure:
                await call.wait_for_room(STREAM_BUFFER_FRAMES)
            self._backpressure = None
        elif call.held_bytes > self._stream_buffer_limit and call.invocation_id is not None:
            self.forget(call)
            call.fail(
                StreamBufferFullError(
                    f"The stream ran more than {self._stream_buffer_limit} bytes ahead of "
                    "its reader while other calls were in flight."
                )
            )
            logger.info("stream %s ran too far ahead: cancelling it", call.invocation_id)
            with contextlib.suppress(TransportClosed, ConnectionClosedError):
                await self.send(CancelInvocation(call.invocation_id))

    def _fail_all(self, failure: BaseException) -> None:
        if self._failure is None:
            self._failure = failure
        calls, self._calls = self._calls, {}
        sends, self._sends = self._sends, set()
        for call in [*calls.values(), *sends]:
            call.fail(failure)
        self._keepalive_scope.cancel()

    async def _read_messages(self, received: bytes) -> BaseException:
        """Dispatch until the server says Close; returns the error that leaves behind."""
        receive = self._transport.receive
        feed = self._parser.feed
        calls = self._calls
        trace = self._trace
        with trio.CancelScope() as silence:
            data = received
            while True:
                if data:
                    if trace and self._text:
                        _trace("<-", data, text=True)
                    for message in feed(data):
                        # The hot path: a whole frame of stream items in one batch.
                        if type(message) is StreamItemBatch:
                            call = calls.get(message.invocation_id)
                            if call is not None:
                                await self._deliver(call, message.items, len(data))
                            continue
                        if trace and not self._text:
                            _trace("<-", [message], text=False)
                        ended = await self._dispatch(message, len(data))
                        if ended is not None:
                            return ended
                # Time spent waiting for a slow consumer above is not server silence.
                silence.deadline = trio.current_time() + self._server_timeout
                data = await receive()
                silence.deadline = math.inf
        return ServerTimeoutError(SERVER_TIMEOUT_MESSAGE)

    async def _dispatch(self, message: IncomingMessage, size: int) -> BaseException | None:
        """Act on one message from `size` received bytes; the error that ends the
        connection if it does (Close)."""
        kind = type(message)
        if kind is StreamItem:
            assert isinstance(message, StreamItem)
            call = self._calls.get(message.invocation_id)
            if call is not None:
                await self._deliver(call, [message.item], size)
        elif kind is Completion:
            assert isinstance(message, Completion)
            call = self._calls.pop(message.invocation_id, None)
            if call is not None:
                call.complete(message)
        elif kind is Ping:
            pass
        elif kind is Close:
            assert isinstance(message, Close)
            logger.info("server sent Close%s", f": {message.error}" if message.error else "")
            self._transport_closed = True
            if message.error:
                return ConnectionClosedError(f"Server returned an error on close: {message.error}")
            return ConnectionClosedError(CLOSED_WITHOUT_ERROR)
        elif kind is Invocation or kind is InvocationBindingFailure:
            assert isinstance(message, (Invocation, InvocationBindingFailure))
            logger.info("server invoked %r on the client (no handler)", message.target)
            if message.invocation_id is not None:
                # The server waits for a result; say there is none rather than hang it.
                await self.send(Completion.with_error(message.invocation_id, NO_CLIENT_RESULT))
        else:
            logger.debug("ignored %s from the server", kind.__name__)
        return None
