"""Invocations of one connection: binding, running methods, streams both ways.

The order of checks and every error text follow DefaultHubDispatcher: unknown
method and argument binding first, then the invocation mode, then the number of
client streams. Only one plain invocation runs at a time (the real server's
MaximumParallelInvocationsPerClient = 1): the next one holds up the read loop until
the slot frees, or until the running method asks a client for a result, which
gives the slot back (ASP.NET Core 8). A plain method whose body never awaits runs
in the read loop itself (unless the connection is stateful); the others get a task
each. Streaming methods and methods with client streams run beside it. A Completion
ends a client stream, else answers a client result (clientresults.py).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import trio

from hubcli.protocol import (
    CancelInvocation,
    Completion,
    CompletionKind,
    HubProtocol,
    IncomingMessage,
    Invocation,
    InvocationBatch,
    InvocationBindingFailure,
    StreamInvocation,
    StreamItem,
    StreamItemBatch,
)

from . import errors
from .binding import ArgType, HubMethod, matches
from .bulk import stream_item_encoder
from .context import CallContext, ItemBatch, Upload
from .options import ServerOptions
from .state import HubState

if TYPE_CHECKING:
    from .session import HubSession

log = logging.getLogger("hubcli.server")

STREAM_BINDING_FAILURE = "Failed to bind Stream message."


class _ActiveStream:
    def __init__(self, invocation_id: str) -> None:
        self.invocation_id = invocation_id
        self.scope = trio.CancelScope()
        self.cancelled_by_client = False


def _no_slot() -> None:
    """What releases the slot of a call that never took it."""


# Not frozen: one is made per call, and a frozen dataclass's __init__ costs twice as
# much (it writes each field through object.__setattr__).
@dataclass(slots=True)
class _Call:
    """One bound invocation, ready to run."""

    message: Invocation | StreamInvocation
    method: HubMethod
    arguments: list[Any]
    # Taken at dispatch: a client stream may be over (and gone from `_uploads`) by
    # the time the call's task starts.
    uploads: list[Upload]
    context: CallContext


class Invocations:
    def __init__(
        self,
        connection: HubSession,
        methods: dict[str, HubMethod],
        state: HubState,
        options: ServerOptions,
        nursery: trio.Nursery,
    ) -> None:
        self._connection = connection
        self._methods = methods
        self._state = state
        self._options = options
        self._nursery = nursery
        self._slot = trio.Semaphore(1)
        self._streams: dict[str, _ActiveStream] = {}
        self._uploads: dict[str, tuple[Upload, ArgType]] = {}

    @property
    def _detailed(self) -> bool:
        return self._options.detailed_errors

    async def _send_error(self, invocation_id: str | None, error: str) -> None:
        # Invocations without an id ("send") never get an answer, errors included.
        if invocation_id:
            await self._connection.write_message(Completion.with_error(invocation_id, error))

    def ready(self, message: IncomingMessage) -> bool:
        """Whether dispatch(message) would not wait for other work to finish: the
        invocation slot it needs is free, or the upload it feeds has room."""
        if isinstance(message, Invocation):
            return bool(message.stream_ids) or self._slot.value > 0
        if isinstance(message, InvocationBatch):
            method = self._methods.get(message.target.lower())
            # Each send takes the slot in turn: only one that never awaits frees it
            # before the next.
            one_at_once = len(message.arguments) == 1 or (
                method is not None and method.never_suspends
            )
            return one_at_once and self._slot.value > 0
        if isinstance(message, (StreamItem, StreamItemBatch)):
            entry = self._uploads.get(message.invocation_id)
            count = 1 if isinstance(message, StreamItem) else len(message.items)
            return entry is None or entry[0].takes_now(count)
        return True

    async def dispatch(self, message: IncomingMessage) -> None:
        if isinstance(message, (Invocation, StreamInvocation)):
            await self._invoke(message)
        elif isinstance(message, InvocationBindingFailure):
            await self._send_error(
                message.invocation_id,
                errors.build_error_message(
                    errors.binding_failure(message.target),
                    errors.InvalidDataException(message.error),
                    self._detailed,
                ),
            )
        elif isinstance(message, StreamItem):
            await self._upload_item(message.invocation_id, message.item)
        elif isinstance(message, StreamItemBatch):
            await self._upload_items(message.invocation_id, message.items)
        elif isinstance(message, InvocationBatch):
            # Plain sends of one target, batched by the parser: each is its own call.
            for arguments in message.arguments:
                await self._invoke(Invocation(message.target, arguments))
        elif isinstance(message, Completion):
            self._complete(message)
        elif isinstance(message, CancelInvocation):
            self._cancel(message.invocation_id)

    # --------------------------------------------------------------- client input

    async def _upload_item(self, stream_id: str, item: Any) -> None:
        entry = self._uploads.get(stream_id)
        if entry is None:
            log.debug("stream item for unknown stream %s ignored", stream_id)
            return
        upload, item_type = entry
        if not matches(item, item_type):
            del self._uploads[stream_id]
            upload.complete(
                errors.build_error_message(
                    STREAM_BINDING_FAILURE,
                    errors.InvalidDataException(errors.ARGUMENT_TYPES),
                    self._detailed,
                )
            )
            return
        await upload.put(item)

    async def _upload_items(self, stream_id: str, items: list[Any]) -> None:
        """The items of one stream from one read, as _upload_item one by one would
        take them, with one buffer call for the lot."""
        entry = self._uploads.get(stream_id)
        if entry is None:
            log.debug("stream items for unknown stream %s ignored", stream_id)
            return
        upload, item_type = entry
        if item_type is not ArgType.ANY:
            for index, item in enumerate(items):
                if not matches(item, item_type):
                    await upload.put_many(items[:index])
                    # The method may have ended (and closed the stream) meanwhile.
                    if self._uploads.get(stream_id) is entry:
                        del self._uploads[stream_id]
                        upload.complete(
                            errors.build_error_message(
                                STREAM_BINDING_FAILURE,
                                errors.InvalidDataException(errors.ARGUMENT_TYPES),
                                self._detailed,
                            )
                        )
                    return
        await upload.put_many(items)

    def _complete(self, message: Completion) -> None:
        entry = self._uploads.pop(message.invocation_id, None)
        if entry is not None:
            entry[0].complete(message.error if message.kind is CompletionKind.ERROR else None)
            return
        results = self._state.results
        if not results.is_pending(message.invocation_id):
            # Late (the call gave up or its connection left) or never asked for.
            log.debug("completion for unknown invocation %s ignored", message.invocation_id)
            return
        # Raises for an id that was asked of another connection: the real
        # dispatcher lets that end this connection with an error.
        results.complete(self._connection.connection_id, message)

    def _cancel(self, invocation_id: str) -> None:
        stream = self._streams.get(invocation_id)
        if stream is None:
            # The stream may have ended while the client was cancelling it.
            log.debug("cancel for unknown stream %s ignored", invocation_id)
            return
        stream.cancelled_by_client = True
        stream.scope.cancel()

    # -------------------------------------------------------------- invocations

    async def _invoke(self, message: Invocation | StreamInvocation) -> None:
        target = message.target
        invocation_id = message.invocation_id
        stream_response = isinstance(message, StreamInvocation)
        method = self._methods.get(target.lower())
        if method is None:
            await self._send_error(
                invocation_id,
                errors.build_error_message(
                    errors.binding_failure(target),
                    errors.HubException(errors.METHOD_DOES_NOT_EXIST),
                    self._detailed,
                ),
            )
            return
        try:
            arguments = method.bind(message.arguments)
        except errors.InvalidDataException as exc:
            await self._send_error(
                invocation_id,
                errors.build_error_message(errors.binding_failure(target), exc, self._detailed),
            )
            return
        if method.streaming and not stream_response:
            await self._send_error(invocation_id, errors.streaming_with_invoke(target))
            return
        if not method.streaming and stream_response:
            await self._send_error(invocation_id, errors.invoke_with_streaming(target))
            return
        if len(message.stream_ids) != len(method.uploads):
            await self._send_error(
                invocation_id,
                errors.build_error_message(
                    errors.invocation_failure(target),
                    errors.HubException(
                        errors.stream_count(len(message.stream_ids), len(method.uploads))
                    ),
                    self._detailed,
                ),
            )
            return
        uploads: list[Upload] = []
        for stream_id, item_type in zip(message.stream_ids, method.uploads, strict=True):
            upload = Upload(self._options.stream_buffer_capacity)
            self._uploads[stream_id] = (upload, item_type)
            uploads.append(upload)

        if method.streaming:
            assert invocation_id is not None
            # Registered here, not in the task: a CancelInvocation read right after
            # (even from the same frame) must find it, as the real dispatcher's
            # synchronous TryAdd guarantees.
            if invocation_id in self._streams:
                self._close_uploads(message)
                await self._send_error(invocation_id, errors.invocation_id_in_use(invocation_id))
                return
            active = _ActiveStream(invocation_id)
            self._streams[invocation_id] = active
            call = _Call(message, method, arguments, uploads, self._context(_no_slot))
            self._nursery.start_soon(self._run_stream, call, active)
            return
        release = _no_slot
        # A stateful connection's Completion may wait for the client's Acks, which
        # only this loop reads: there every method gets a task.
        inline = method.never_suspends and self._connection.hold_back_limit is None
        if not message.stream_ids:
            if inline and self._slot.value:
                # It cannot wait for anything (a client result, an item), so it runs
                # to its end here, in the read loop, as the real dispatcher runs a hub
                # method until its first incomplete await: no task to start and wake
                # (a third of an invoke's scheduler rounds). The slot is free, and
                # only this loop takes it, which is busy with this call meanwhile:
                # it need not be taken.
                call = _Call(message, method, arguments, uploads, self._context(_no_slot))
                await self._run_invocation(call)
                return
            # Only plain invocations take the slot, as ActiveInvocationLimit: one with
            # client streams waiting on it would hold up the reads its items need.
            try:
                # A free slot is taken without a schedule point of its own: the read
                # loop that runs this checkpoints on its next read anyway.
                self._slot.acquire_nowait()
            except trio.WouldBlock:
                await self._slot.acquire()
            release = self._releaser()
        call = _Call(message, method, arguments, uploads, self._context(release))
        if inline and not uploads:
            # As above, once the slot is ours.
            await self._run_invocation(call)
            return
        self._nursery.start_soon(self._run_invocation, call)

    def _releaser(self) -> Callable[[], None]:
        released = False

        def release() -> None:
            nonlocal released
            if not released:
                released = True
                self._slot.release()

        return release

    def _context(self, release_slot: Callable[[], None]) -> CallContext:
        return CallContext(self._connection, self._state, self._options, release_slot)

    def _close_uploads(self, message: Invocation | StreamInvocation) -> None:
        # When the method returns, its client streams are over whatever the client does.
        for stream_id in message.stream_ids:
            entry = self._uploads.pop(stream_id, None)
            if entry is not None:
                entry[0].complete()

    async def _run_invocation(self, call: _Call) -> None:
        invocation_id, target, method = call.message.invocation_id, call.message.target, call.method
        try:
            try:
                result = await method.func(call.context, *call.arguments, *call.uploads)
            except Exception as exc:
                log.debug("method %s failed: %r", target, exc)
                error = errors.build_error_message(
                    errors.invocation_failure(target), exc, self._detailed
                )
                await self._send_error(invocation_id, error)
                return
            finally:
                self._close_uploads(call.message)
            if invocation_id:
                if method.empty_completion:
                    completion = Completion.void(invocation_id)
                else:
                    # A void .NET method completes with a null result, not without one.
                    completion = Completion.with_result(invocation_id, result)
                await self._connection.write_last(completion)
            self._start_background(call.context)
        finally:
            call.context.release_invocation_slot()

    def _start_background(self, context: CallContext) -> None:
        for task in context.after_completion:
            self._nursery.start_soon(task)

    async def _run_stream(self, call: _Call, active: _ActiveStream) -> None:
        invocation_id = active.invocation_id
        error: str | None = None
        try:
            with active.scope:
                error = await self._stream_items(call, invocation_id)
        finally:
            del self._streams[invocation_id]
            self._close_uploads(call.message)
        if active.cancelled_by_client:
            error = None
            self._state.record_cancelled_stream()
            log.info(
                "connection %s: stream %s (%s) cancelled by the client",
                self._connection.connection_id,
                invocation_id,
                call.method.name,
            )
            for callback in call.context.cancel_callbacks:
                await callback()
        if error is None:
            await self._connection.write_message(Completion.void(invocation_id))
            self._start_background(call.context)
        else:
            await self._connection.write_message(Completion.with_error(invocation_id, error))

    async def _stream_items(self, call: _Call, invocation_id: str) -> str | None:
        """Write the method's items; the error text to complete with, if any."""
        try:
            stream = call.method.func(call.context, *call.arguments, *call.uploads)
        except Exception as exc:
            return errors.build_error_message(
                errors.invocation_failure(call.message.target), exc, self._detailed
            )
        if stream is None:
            return errors.not_a_stream(call.method.name)
        protocol = self._connection.protocol
        encode_batch = stream_item_encoder(protocol, invocation_id)
        write = self._connection.write_bytes
        try:
            limit = self._connection.hold_back_limit
            if limit is not None:
                return await _pipelined(
                    stream,
                    _chunked_encoder(encode_batch, protocol, invocation_id, limit),
                    write,
                    self._detailed,
                    limit,
                )
            async for item in stream:
                if isinstance(item, ItemBatch):
                    await write(encode_batch(item.items), len(item.items))
                else:
                    await write(protocol.encode(StreamItem(invocation_id, item)), 1)
        except Exception as exc:
            return errors.build_error_message(errors.STREAMING_FAILURE, exc, self._detailed)
        finally:
            aclose = getattr(stream, "aclose", None)
            if aclose is not None:
                with trio.CancelScope(shield=True):
                    await aclose()
        return None


# The first slice of a batch, whose size per item sizes the next ones.
_FIRST_SLICE = 64
_MOST_FIRST = 4 * _FIRST_SLICE
# Encoded slices (a quarter of the replay buffer each) waiting for the writer.
_QUEUED_SLICES = 4


def _chunked_encoder(
    encode_batch: Callable[[Sequence[Any]], bytes],
    protocol: HubProtocol,
    invocation_id: str,
    limit: int,
) -> Callable[[Any], Iterator[tuple[bytes, int]]]:
    """Encode an item, or a batch in slices of about a quarter of `limit` bytes
    each (unless what is left of it fits in `limit`).

    On a stateful connection the encoding of a large batch is cut up so that
    between slices the connection reads the client's Acks and sends what they
    make room for: encoded in one go, a batch of 2,048 objects held the server
    for longer than the client took to work through the whole window (the
    real server runs producer and writer on threads of their own)."""

    target = max(limit // 4, 1)
    # Bytes an item, from the last slice: later batches are sliced by it from their
    # first item (a small probe slice per batch was an eighth of a stream's frames).
    per_item = 0.0

    def encode(item: Any) -> Iterator[tuple[bytes, int]]:
        nonlocal per_item
        if not isinstance(item, ItemBatch):
            yield protocol.encode(StreamItem(invocation_id, item)), 1
            return
        items = item.items
        total = len(items)
        start = 0
        # A later batch's first slice is sized by the last measure, but holds a few
        # probes at most: items much larger than the last ones (a stream whose items
        # grow) are never encoded whole on a stale estimate.
        step = _FIRST_SLICE if not per_item else min(max(int(target / per_item), 1), _MOST_FIRST)
        while start < total:
            stop = min(start + step, total)
            data = encode_batch(items[start:stop] if start or stop < total else items)
            yield data, stop - start
            per_item = max(len(data), 1) / (stop - start)
            if start == 0 and (total - stop) * len(data) <= limit * stop:
                # The rest fits in the buffer (FastStream's ints): slicing it
                # would add trips through the scheduler and gain no Ack earlier.
                step = total
            else:
                step = max(int(target / per_item), 1)
            start = stop

    return encode


async def _pipelined(
    stream: Any,
    encode: Callable[[Any], Iterator[tuple[bytes, int]]],
    write: Callable[[bytes, int], Any],
    detailed: bool,
    limit: int,
) -> str | None:
    """Produce and encode the next items while the last ones wait for the client's
    Acks: a stateful connection holds writes back past its replay buffer, and a
    producer that only ran after each write would leave the client idle meanwhile
    (a ChannelReader's producer runs on, as here).

    Up to about a buffer's worth of slices wait encoded, and the writer takes
    all that wait at once: what the Acks make room for goes out in one frame."""
    failure: list[str] = []
    sender, receiver = trio.open_memory_channel[tuple[bytes, int]](_QUEUED_SLICES)

    async def produce() -> None:
        async with sender:
            try:
                async for item in stream:
                    for piece in encode(item):
                        await sender.send(piece)
            except Exception as exc:
                failure.append(errors.build_error_message(errors.STREAMING_FAILURE, exc, detailed))

    async with trio.open_nursery() as nursery:
        nursery.start_soon(produce)
        async with receiver:
            async for data, first_count in receiver:
                parts = [data]
                size = len(data)
                count = first_count
                while size < limit:
                    try:
                        more, more_count = receiver.receive_nowait()
                    except (trio.WouldBlock, trio.EndOfChannel):
                        break
                    parts.append(more)
                    size += len(more)
                    count += more_count
                await write(data if len(parts) == 1 else b"".join(parts), count)
    return failure[0] if failure else None
