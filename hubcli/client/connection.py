"""HubConnection: one handshaken hub connection over a transport.

It owns two background tasks in the nursery it is given: the receive loop (parse each
received chunk in one call, dispatch the messages, enforce the server timeout) and the
keep-alive (a Ping after `keepalive_interval` of send silence). Upload pumps and the
answers to client-result requests run there too. Every call in flight is a `Call` in
the invocation table; the receive loop hands a streaming call its items, and each
event stream and the push handlers their server invocations, one received frame at a
time, each charged the wire bytes of what it holds.

Backpressure. There is one receive loop, so waiting for one consumer (a stream, an
event stream, the handlers) stops everything on the connection. While no other call
is in flight, that is what we want: once a consumer holds BUFFER_BATCHES frames it
has not taken, the loop waits, the socket is no longer read, and the server slows
down (memory stays flat however long the stream or the burst of pushes). With other
calls in flight it could deadlock a consumer that waits for one of them (`async for
x in stream: await invoke(...)`: the invoke's Completion is behind the stream's
items), so the loop does not wait then: the consumer buffers, up to
`stream_buffer_limit` bytes, and one that runs further ahead fails (a stream with
StreamBufferFullError after the items it holds, and is cancelled on the server; an
event stream with EventBufferFullError). A new call starting while the loop waits
wakes it.
"""

from __future__ import annotations

import contextlib
import logging
import math
from collections.abc import AsyncIterable, AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, Final

import trio

from hubcli._defaults import DEFAULT_CLOSE_TIMEOUT_SECONDS
from hubcli.protocol import handshake
from hubcli.protocol.base import HubProtocol, TransferFormat
from hubcli.protocol.errors import HandshakeError, HubCliError, ProtocolError
from hubcli.protocol.messages import (
    PING,
    Ack,
    CancelInvocation,
    Close,
    Completion,
    CompletionKind,
    HubMessage,
    IncomingMessage,
    Invocation,
    InvocationBatch,
    InvocationBindingFailure,
    Ping,
    StreamInvocation,
    StreamItem,
    StreamItemBatch,
)
from hubcli.protocol.messages import Sequence as SequenceMessage
from hubcli.protocol.stateful import tracked_count

from .errors import (
    ConnectError,
    ConnectionClosedError,
    ConnectTimeoutError,
    EventBufferFullError,
    HubError,
    ServerTimeoutError,
    StreamBufferFullError,
)
from .inbox import Inbox
from .pushes import (
    ARGUMENTS_NOT_READ,
    NO_CLIENT_RESULT,
    Event,
    Handler,
    Pushes,
    Subscription,
    client_result,
    describe_error,
)
from .resume import ACK_INTERVAL, Resumption
from .transports.base import Transport, TransportClosed

logger: Final = logging.getLogger("hubcli")

SERVER_TIMEOUT_MESSAGE: Final = (
    "Server timeout elapsed without receiving a message from the server."
)
CLOSED_WITHOUT_ERROR: Final = "Invocation canceled due to the underlying connection being closed."
CLOSED_BY_SERVER_FOR_NOW: Final = "The server closed the connection and allows reconnecting."
UPLOAD_CANCELLED: Final = "The upload was cancelled by the client."
# Received frames a consumer may hold before the receive loop waits for it (when
# no other call is in flight): enough to overlap decoding with writing, few enough
# to bound memory.
BUFFER_BATCHES: Final = 4
# Received bytes a consumer may hold while other calls are in flight (see above):
# two messages of the default size limit.
DEFAULT_STREAM_BUFFER_LIMIT: Final = 32 * 1024 * 1024
# Client-result requests answered at once; beyond, the receive loop waits for one
# to finish (a bound on what a hostile server can make us start).
MAX_PENDING_CLIENT_RESULTS: Final = 1000
_TRACE_LIMIT: Final = 2000
# What a send raises once the connection is over: the transport's end, or the
# failure that ended it, whatever it was (a protocol error, a server timeout...).
SEND_FAILED: Final = (TransportClosed, HubCliError)


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


def _closed_inbox() -> Inbox[Any]:
    inbox: Inbox[Any] = Inbox()
    inbox.close()
    return inbox


_NO_ITEMS: Final = _closed_inbox()


class Call:
    """One invocation in flight: its outcome and, for streams, its received frames."""

    __slots__ = (
        "completion",
        "done",
        "error",
        "inbox",
        "invocation_id",
        "orphaned",
        "pending_uploads",
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
        # A stream's items; a plain invocation has none (and shares an empty inbox).
        self.inbox: Inbox[Any] = Inbox() if streaming else _NO_ITEMS
        # Set (and nothing else) by a finalizer: see StreamCall.__del__.
        self.orphaned = False

    @property
    def released(self) -> bool:
        return self.inbox.released

    async def take(self) -> list[Any] | None:
        """The next frame's items; None once the stream ended (or was released) and
        every frame it received is taken."""
        return await self.inbox.take()

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
        if self.streaming:
            self.inbox.release()
        for scope in self.upload_scopes:
            scope.cancel()

    def _end(self) -> None:
        # Frames already held stay readable; the inbox's end marks theirs.
        for scope in self.upload_scopes:
            scope.cancel()
        if self.streaming:
            self.inbox.close()
        self.done.set()

    def outcome(self, *, hub_errors_raise: bool = True) -> Completion:
        """The completion; raises the connection's failure, and the hub's error if asked."""
        if self.error is not None:
            raise self.error
        assert self.completion is not None
        if hub_errors_raise and self.completion.kind is CompletionKind.ERROR:
            raise HubError(self.completion.error or "The hub reported an error.")
        return self.completion


async def perform_handshake(
    transport: Transport, protocol: HubProtocol, timeout: float, *, version: int | None = None
) -> bytes:
    """Send the handshake request, read the answer; returns the bytes that follow it.

    `version`: the hub protocol version to ask for, the protocol's own by default
    (stateful reconnect asks for 2). The transport failing on either way (a POST
    refused, the connection dropped) means the connection could not start:
    ConnectError with the transport's reason, or the failure the transport names
    (a message too large).
    """
    request = handshake.HandshakeRequest(protocol.name, version or protocol.version)
    buffer = b""
    parsed = None
    with trio.move_on_after(timeout):
        try:
            await transport.send(handshake.encode_request(request))
            while parsed is None:
                buffer += await transport.receive()
                parsed = handshake.parse_response(buffer)
        except TransportClosed as closed:
            raise closed.failure or ConnectError(
                f"The connection failed during the handshake: {closed.reason}"
            ) from None
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
        pushes: Pushes | None = None,
        resumption: Resumption | None = None,
        close_timeout: float = DEFAULT_CLOSE_TIMEOUT_SECONDS,
    ) -> None:
        self._transport = transport
        self._resumption = resumption
        self._pushes = pushes or Pushes()
        self._answer_slots = trio.Semaphore(MAX_PENDING_CLIENT_RESULTS)
        self._stream_buffer_limit = stream_buffer_limit
        # Set while the receive loop waits for a consumer with no other call in
        # flight; a call that begins cancels it (see the module's docstring).
        self._backpressure: trio.CancelScope | None = None
        self._protocol = protocol
        self._parser = protocol.parser(
            max_message_size=max_message_size, batching=True, ignore_unknown_types=True
        )
        self._keepalive_interval = keepalive_interval
        self._server_timeout = server_timeout
        # The limit on a clean-up step this connection takes on its own.
        self._close_timeout = close_timeout
        # When the receive loop began waiting for the server; None while it works.
        self._waiting_since: float | None = None
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
        self._ack_scope = trio.CancelScope()
        self._receive_scope = trio.CancelScope(shield=True)
        # Set once the connection can no longer be used (`failure` says why).
        self.ended = trio.Event()
        self._text = protocol.transfer_format is TransferFormat.TEXT
        self._trace = logger.isEnabledFor(logging.DEBUG)

    # ------------------------------------------------------------------ lifetime

    def start(
        self, nursery: trio.Nursery, received: bytes = b"", *, gate: trio.Event | None = None
    ) -> None:
        """Run the background tasks in `nursery`; `received` is what followed the
        handshake. Nothing received is dispatched before `gate` is set (the hub's
        user has had the chance to subscribe)."""
        self._nursery = nursery
        nursery.start_soon(self._receive_until_closed, received, gate)
        if self._keepalive_interval > 0:
            nursery.start_soon(self._guarded, self._keepalive_loop)
        if self._resumption is not None:
            nursery.start_soon(self._guarded, self._ack_loop)

    async def _guarded(self, task: Callable[..., Awaitable[None]], *args: Any) -> None:
        """Run a background task; if it fails (a bug), stop the shielded receive
        loop too, so the error ends the connection instead of hanging it."""
        try:
            await task(*args)
        except Exception:
            self._receive_scope.cancel()
            raise

    @property
    def resumes(self) -> int:
        """Transport drops survived by stateful reconnect."""
        return 0 if self._resumption is None else self._resumption.resumes

    @property
    def failure(self) -> BaseException | None:
        """Why the connection can no longer be used, once it cannot."""
        return self._failure

    async def close(self) -> None:
        """Say Close to the server if it is still listening, then close the transport.

        Stops the receive loop on the way out, however it goes (see `start`).
        """
        self._closing = True
        if self._resumption is not None:
            self._resumption.disable()
        # A server gone silent (the server timeout) would answer neither a Close
        # POST nor a closing handshake: waiting for them would only delay the exit.
        silent = isinstance(self._failure, ServerTimeoutError)
        try:
            try:
                if not self._transport_closed and not silent:
                    with contextlib.suppress(*SEND_FAILED):
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
        uploads: list[Upload] = [arg for arg in args if is_upload(arg)]
        arguments = [arg for arg in args if not is_upload(arg)] if uploads else list(args)
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
        if self._failure is not None:
            # The connection ended while the invocation was on its way: the call was
            # failed with it, and its uploads would have no nursery left to run in.
            self.forget(call)
            raise self._failure
        if invocation_id is None and not uploads:
            call.complete(Completion.void(""))
        nursery = self._nursery
        assert nursery is not None
        for stream_id, upload in zip(stream_ids, uploads, strict=True):
            scope = trio.CancelScope()
            call.upload_scopes.append(scope)
            nursery.start_soon(self._guarded, self._pump, call, stream_id, upload, scope)
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
        except SEND_FAILED:
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
                    # A send the socket takes at once is no schedule point (see
                    # wsconnection.py): a source that never waits must not hold
                    # the receive loop off until the socket is full.
                    await trio.lowlevel.checkpoint()
                await self.send(Completion.void(stream_id))
            except Exception as error:
                if self._ended_by(error):
                    if call.invocation_id is not None:
                        # The hub may have answered before it hung up (a method can
                        # return before its upload is over), and its Completion be
                        # in the receive loop's hands: let that loop end the call.
                        with trio.move_on_after(self._close_timeout):
                            await call.done.wait()
                    # Unless the receive loop ended it first: a call without an
                    # invocation id has no one else to end it.
                    call.fail(self._failure or error)
                    return
                # The source failed: hand its error to the caller first (the hub's
                # answer to what follows must not take its place), then end the
                # stream with an error so the server's method fails too.
                call.fail(error)
                with (
                    trio.CancelScope(shield=True),
                    trio.move_on_after(self._close_timeout),
                    contextlib.suppress(*SEND_FAILED),
                ):
                    await self.send(Completion.with_error(stream_id, str(error) or repr(error)))
                return
            call.pending_uploads -= 1
            if call.invocation_id is None and call.pending_uploads == 0:
                self._sends.discard(call)
                call.complete(Completion.void(""))

    # ------------------------------------------------------------------- sending

    def _ended_by(self, error: BaseException) -> bool:
        """Whether a send raised `error` because the connection is over."""
        return error is self._failure or isinstance(error, (TransportClosed, ConnectionClosedError))

    async def send(self, message: HubMessage) -> None:
        if self._trace and not self._text:
            _trace("->", [message], text=False)
        count = tracked_count(message) if self._resumption is not None else 0
        await self._send_bytes(self._protocol.encode(message), count)

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
        count = sum(map(tracked_count, messages)) if self._resumption is not None else 0
        await self._send_bytes(bytes(buffer), count)

    async def _send_bytes(self, data: bytes, count: int = 0) -> None:
        """Send `data`, the encoding of `count` messages a stateful reconnect numbers
        (and keeps until the server acknowledges them)."""
        resumption = self._resumption
        if resumption is not None:
            await resumption.before_send(count)
            # Kept before it is sent: if the transport drops meanwhile, the resume
            # sends it again.
            if count and not self._transport_closed:
                resumption.sent(data, count)
        if self._transport_closed:
            raise self._failure or ConnectionClosedError(CLOSED_WITHOUT_ERROR)
        if self._trace and self._text:
            _trace("->", data, text=True)
        try:
            await self._transport_send(data)
        except TransportClosed as closed:
            if resumption is not None and resumption.enabled and closed.abrupt:
                # The receive loop sees the drop too and reopens the transport: the
                # data was kept, and goes again with the replay.
                await resumption.ready.wait()
                if not self._transport_closed:
                    return
            self._transport_closed = True
            raise (
                self._failure
                or closed.failure
                or ConnectionClosedError(f"The connection was closed: {closed.reason}")
            ) from None
        self._last_send = trio.current_time()

    async def _transport_send(self, data: bytes) -> None:
        if self._concurrent_sends:
            # The transport keeps callers' order and joins what queues up
            # behind a POST in flight into the next one: no turns to take.
            await self._transport.send(data)
            return
        lock = self._send_lock
        if lock.locked():
            async with lock:
                await self._transport.send(data)
        else:
            # Not `async with`: its checkpoint would cost every call one more
            # trip through the scheduler (the send checkpoints anyway).
            lock.acquire_nowait()
            try:
                await self._transport.send(data)
            finally:
                lock.release()

    async def _ack_loop(self) -> None:
        """Acknowledge what arrived at least once a second (stateful reconnect)."""
        resumption = self._resumption
        assert resumption is not None
        with self._ack_scope:
            while True:
                await trio.sleep(ACK_INTERVAL)
                ack = resumption.ack_due()
                if ack is not None:
                    try:
                        await self._send_bytes(self._protocol.encode(ack))
                    except (TransportClosed, ConnectionClosedError):
                        return

    async def _keepalive_loop(self) -> None:
        ping = self._protocol.encode(PING)
        with self._keepalive_scope:
            while True:
                await trio.sleep_until(self._last_send + self._keepalive_interval)
                if trio.current_time() >= self._last_send + self._keepalive_interval:
                    try:
                        await self._send_bytes(ping)
                    except SEND_FAILED:
                        return

    # ----------------------------------------------------------------- receiving

    async def _receive_until_closed(self, received: bytes, gate: trio.Event | None) -> None:
        # Shielded, and stopped by `close` alone: when the caller is cancelled (Ctrl-C),
        # the clean-up that follows still needs the server's answers, the Completion
        # of a CancelInvocation, and the transport's own closing handshake.
        with self._receive_scope:
            if gate is not None:
                await gate.wait()
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
        except (ProtocolError, ConnectionClosedError, EventBufferFullError) as error:
            failure = error
        if not self._closing:
            logger.info("connection ended: %s", failure)
        self._fail_all(failure)

    async def _deliver_items(self, call: Call, items: list[Any], size: int) -> None:
        """Hand a stream `items` from `size` received bytes, and hold the loop back
        as the module's docstring says."""
        if call.orphaned:
            # Its owner dropped it unfinished: cancel it from this task, since a
            # finalizer must not start anything (not even a task).
            self.forget(call)
            call.release()
            logger.info("stream %s was dropped unfinished: cancelling it", call.invocation_id)
            if call.invocation_id is not None:
                with contextlib.suppress(*SEND_FAILED):
                    await self.send(CancelInvocation(call.invocation_id))
            return
        if not call.streaming or call.done.is_set():
            return
        call.inbox.put(items, size)
        if await self._hold_back(call.inbox, own=call):
            return
        if call.invocation_id is not None:
            self.forget(call)
            call.fail(
                StreamBufferFullError(
                    f"The stream ran more than {self._stream_buffer_limit} bytes ahead of "
                    "its reader while other calls were in flight."
                )
            )
            logger.info("stream %s ran too far ahead: cancelling it", call.invocation_id)
            with contextlib.suppress(*SEND_FAILED):
                await self.send(CancelInvocation(call.invocation_id))

    async def _hold_back(self, inbox: Inbox[Any], own: Call | None = None) -> bool:
        """After a put into `inbox`: wait for its consumer while no other call is in
        flight; False if it cannot wait and the inbox is over the byte limit."""
        if inbox.batches_held <= BUFFER_BATCHES:
            return True
        others = len(self._calls) - (own is not None and own.invocation_id in self._calls)
        if not others:
            with trio.CancelScope() as self._backpressure:
                await inbox.wait_for_room(BUFFER_BATCHES)
            self._backpressure = None
            return True
        return inbox.held_bytes <= self._stream_buffer_limit

    async def _deliver_pushes(self) -> None:
        """Hand the plain pushes of the frame so far to their event streams and
        handlers (before anything that follows them is dispatched)."""
        subscriptions, calls, calls_size = self._pushes.take_frame()
        for subscription, events, size in subscriptions:
            await self._deliver_events(subscription, events, size)
        if calls:
            inbox = self._pushes.handler_inbox
            inbox.put(calls, calls_size)
            if not await self._hold_back(inbox):
                raise EventBufferFullError(
                    f"The push handlers fell more than {self._stream_buffer_limit} bytes "
                    "behind the server while calls were in flight."
                )

    async def _deliver_events(
        self, subscription: Subscription, events: list[Event], size: int
    ) -> None:
        inbox = subscription.inbox
        inbox.put(events, size)
        if not await self._hold_back(inbox):
            self._pushes.unsubscribe(subscription)
            inbox.close(
                EventBufferFullError(
                    f"The events ran more than {self._stream_buffer_limit} bytes ahead of "
                    "their reader while calls were in flight."
                )
            )
            logger.info("an event stream ran too far ahead: it was ended")

    async def _receive_client_result_request(self, message: Invocation, size: int) -> None:
        """An invocation the server waits on: shown to event streams, and always
        answered (see pushes.py)."""
        assert message.invocation_id is not None
        event = Event(message.target, message.arguments, message.invocation_id)
        for subscription in self._pushes.subscriptions_for(message.target.lower()):
            await self._deliver_events(subscription, [event], size)
        handlers = self._pushes.handlers.get(message.target)
        if not handlers:
            logger.info("no handler for %r: answered %r", message.target, NO_CLIENT_RESULT)
            await self.send(Completion.with_error(message.invocation_id, NO_CLIENT_RESULT))
            return
        await self._answer_slots.acquire()
        nursery = self._nursery
        assert nursery is not None
        nursery.start_soon(self._guarded, self._answer, event, handlers)

    async def _answer(self, event: Event, handlers: Sequence[Handler]) -> None:
        """Run a client-result request's handlers and send what they answer."""
        try:
            completion = await client_result(event, handlers)
            try:
                data = self._protocol.encode(completion)
            except (TypeError, ValueError) as error:
                logger.warning("the result for %r cannot be sent: %s", event.target, error)
                data = self._protocol.encode(
                    Completion.with_error(
                        completion.invocation_id,
                        f"Client failed to serialize the result: {describe_error(error)}",
                    )
                )
            with contextlib.suppress(*SEND_FAILED):
                await self._send_bytes(data)
        finally:
            self._answer_slots.release()

    def _fail_all(self, failure: BaseException) -> None:
        if self._failure is None:
            self._failure = failure
        calls, self._calls = self._calls, {}
        sends, self._sends = self._sends, set()
        for call in [*calls.values(), *sends]:
            call.fail(failure)
        self._keepalive_scope.cancel()
        self._ack_scope.cancel()
        self.ended.set()

    async def _read_messages(self, received: bytes) -> BaseException:
        """Dispatch until the server says Close; returns the error that leaves behind."""
        ended: BaseException | None = None
        failed: Exception | None = None
        with trio.CancelScope() as silence:
            async with trio.open_nursery() as watchdog:
                if math.isfinite(self._server_timeout):
                    watchdog.start_soon(self._watch_for_silence, silence)
                try:
                    ended = await self._dispatch_frames(received)
                except Exception as error:
                    # Raised again outside the nursery, which would wrap it in a group.
                    failed = error
                finally:
                    watchdog.cancel_scope.cancel()
        if failed is not None:
            raise failed
        return ended or ServerTimeoutError(SERVER_TIMEOUT_MESSAGE)

    async def _watch_for_silence(self, silence: trio.CancelScope) -> None:
        """Cancel `silence` once the receive loop has waited `server_timeout` for
        the server; time it spends on the frames it has (a slow consumer holding
        it back included) is not the server's silence."""
        timeout = self._server_timeout
        while True:
            since = self._waiting_since
            if since is None:
                await trio.sleep(timeout)
            elif trio.current_time() - since >= timeout:
                silence.cancel()
                return
            else:
                await trio.sleep_until(since + timeout)

    async def _dispatch_frames(self, received: bytes) -> BaseException:
        """The receive loop proper; returns what ends it (the server's Close)."""
        receive = self._transport.receive
        parser = self._parser
        feed = parser.feed
        calls = self._calls
        pushes = self._pushes
        trace = self._trace
        current_time = trio.current_time
        resumption = self._resumption
        data = received
        while True:
            if data:
                if trace and self._text:
                    _trace("<-", data, text=True)
                messages = feed(data)
                sizes = parser.sizes
                if resumption is not None:
                    messages, sizes = resumption.admit_all(messages, sizes)
                    # Acknowledged on receipt, before the work on it: the server,
                    # which holds back past its buffer, goes on sending meanwhile.
                    if (ack := resumption.ack_now()) is not None:
                        with contextlib.suppress(TransportClosed, ConnectionClosedError):
                            await self._send_bytes(self._protocol.encode(ack))
                for message, size in zip(messages, sizes, strict=True):
                    kind = type(message)
                    # The hot path: a whole frame of stream items in one batch.
                    if kind is StreamItemBatch:
                        assert isinstance(message, StreamItemBatch)
                        call = calls.get(message.invocation_id)
                        if call is not None:
                            await self._deliver_items(call, message.items, size)
                        continue
                    if trace and not self._text:
                        _trace("<-", [message], text=False)
                    # Plain pushes are gathered per frame, handed over in one batch.
                    if kind is InvocationBatch:
                        assert isinstance(message, InvocationBatch)
                        target = message.target
                        events = [Event(target, arguments) for arguments in message.arguments]
                        if not pushes.collect(target, events, size):
                            logger.info("no handler for %r: ignored", target)
                        continue
                    if kind is Invocation:
                        assert isinstance(message, Invocation)
                        if message.invocation_id is None:
                            event = Event(message.target, message.arguments)
                            if not pushes.collect(message.target, [event], size):
                                logger.info("no handler for %r: ignored", message.target)
                            continue
                    if pushes.collecting:
                        await self._deliver_pushes()
                    if kind is Completion:
                        # The commonest message at a high call rate, ended here
                        # without a coroutine of _dispatch's for it.
                        assert isinstance(message, Completion)
                        call = calls.pop(message.invocation_id, None)
                        if call is not None:
                            call.complete(message)
                        continue
                    ended = await self._dispatch(message, size)
                    if ended is not None:
                        return ended
                if pushes.collecting:
                    await self._deliver_pushes()
            self._waiting_since = current_time()
            try:
                data = await receive()
            except TransportClosed as closed:
                if not await self._resume(closed):
                    raise
                data = b""
            self._waiting_since = None

    async def _resume(self, closed: TransportClosed) -> bool:
        """After the transport dropped: stateful reconnect, when it applies; True if
        the connection goes on."""
        resumption = self._resumption
        if resumption is None or not resumption.enabled or self._closing or not closed.abrupt:
            return False
        logger.info("the transport dropped (%s): stateful reconnect", closed.reason)

        async def send(data: bytes) -> None:
            await self._transport_send(data)

        if await resumption.resume(send, self._protocol.encode):
            return True
        resumption.disable()
        return False

    async def _dispatch(self, message: IncomingMessage, size: int) -> BaseException | None:
        """Act on one message from `size` received bytes (a Completion is handled by
        the loop itself); the error that ends the connection if it does (Close)."""
        kind = type(message)
        if kind is StreamItem:
            assert isinstance(message, StreamItem)
            call = self._calls.get(message.invocation_id)
            if call is not None:
                await self._deliver_items(call, [message.item], size)
        elif kind is Ping:
            pass
        elif kind is Ack:
            assert isinstance(message, Ack)
            if self._resumption is not None:
                self._resumption.acked(message)
        elif kind is SequenceMessage:
            pass  # taken in order with the frame's messages (Resumption.admit_all)
        elif kind is Close:
            assert isinstance(message, Close)
            if self._resumption is not None:
                self._resumption.disable()
            logger.info("server sent Close%s", f": {message.error}" if message.error else "")
            self._transport_closed = True
            allow = message.allow_reconnect
            if message.error:
                closed = ConnectionClosedError(
                    f"Server returned an error on close: {message.error}", allow_reconnect=allow
                )
            elif allow:
                closed = ConnectionClosedError(CLOSED_BY_SERVER_FOR_NOW)
            else:
                closed = ConnectionClosedError(CLOSED_WITHOUT_ERROR, allow_reconnect=False)
            # Now, not when the receive loop ends: that waits for its watchdog, and
            # a send meanwhile would find the transport closed and no reason given.
            if self._failure is None:
                self._failure = closed
            return closed
        elif kind is Invocation:
            assert isinstance(message, Invocation)
            await self._receive_client_result_request(message, size)
        elif kind is InvocationBindingFailure:
            assert isinstance(message, InvocationBindingFailure)
            logger.info(
                "the server invoked %r with arguments that cannot be read: %s",
                message.target,
                message.error,
            )
            if message.invocation_id is not None:
                await self.send(Completion.with_error(message.invocation_id, ARGUMENTS_NOT_READ))
        else:
            logger.debug("ignored %s from the server", kind.__name__)
        return None
