"""The engine of `hubcli session` for programs: JSON-lines requests in, records out.

One hub connection; each call runs in the calls nursery under a cancel scope of
its own (a `cancel` request cancels that scope: the library sends
CancelInvocation), so any number are in flight at once. Records are whole lines,
each written (and so flushed) as it is made; a stream's frame of items is one
write. Pushes are printed as `listen` prints them, for the targets turned `on`.

The session ends at EOF on stdin (after the calls in flight, unless --no-wait),
or when the connection is lost: every call in flight gets its error record first,
then the loss is raised (exit 7). With a reconnect policy a loss is a
`reconnecting` record instead, and the session goes on.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterable, AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Final

import trio

from hubcli.errors import (
    ConnectionClosedError,
    HubcliError,
    HubError,
    HubTimeoutError,
    InvalidArgumentError,
    ProtocolError,
)

from .descriptors import NonBlockingFd
from .events import ALL_TARGETS
from .exit_codes import ExitCode
from .session_requests import (
    BadRequest,
    Cancel,
    Invoke,
    Off,
    On,
    Reply,
    Request,
    RequestId,
    Upload,
    UploadEnd,
    UploadItems,
    parse_request,
)

if TYPE_CHECKING:
    from hubcli.client import Hub

logger: Final = logging.getLogger("hubcli")

CHUNK_SIZE: Final = 64 * 1024
# Batches of upload items a line may get ahead of the hub by before reading
# stdin waits (backpressure from the upload to the script).
UPLOAD_BUFFER: Final = 256


def exit_code_of(error: BaseException) -> ExitCode:
    """The exit status the CLI gives `error`, for a call's error record."""
    if isinstance(error, HubError):
        return ExitCode.HUB_ERROR
    if isinstance(error, InvalidArgumentError):
        return ExitCode.USAGE
    if isinstance(error, HubTimeoutError):
        return ExitCode.TIMED_OUT
    if isinstance(error, ProtocolError):
        return ExitCode.PROTOCOL_ERROR
    if isinstance(error, ConnectionClosedError):
        return ExitCode.CONNECTION_CLOSED
    return ExitCode.CONNECTION_CLOSED


def _key(request_id: RequestId) -> tuple[bool, RequestId]:
    # 1 and "1" are different ids.
    return (isinstance(request_id, str), request_id)


async def read_lines(fd: int, limit: int) -> AsyncIterator[tuple[int, bytes | None]]:
    """(number, line) for each stdin line until EOF; None for a line longer than
    `limit`, which is skipped without being held whole."""
    source = NonBlockingFd(fd, write=False)
    number = 0
    pending = bytearray()
    skipping = False
    try:
        while True:
            try:
                chunk = source.read(CHUNK_SIZE)
            except BlockingIOError:
                await source.wait()
                continue
            await trio.lowlevel.checkpoint()
            if not chunk:
                break
            start = 0
            while True:
                end = chunk.find(b"\n", start)
                if end < 0:
                    if not skipping:
                        pending += chunk[start:]
                        if len(pending) > limit:
                            skipping = True
                            pending.clear()
                    break
                number += 1
                if skipping:
                    skipping = False
                    yield number, None
                else:
                    pending += chunk[start:end]
                    line = bytes(pending)
                    pending.clear()
                    yield number, (None if len(line) > limit else line)
                start = end + 1
    finally:
        trio.lowlevel.notify_closing(source.fileno)
        source.close()
    if skipping:
        yield number + 1, None
    elif pending.strip():
        yield number + 1, bytes(pending)


@dataclass(eq=False)
class _Call:
    id: RequestId
    scope: trio.CancelScope = field(default_factory=trio.CancelScope)
    items: trio.MemorySendChannel[list[Any]] | None = None
    # Reported already (an upload cut off by EOF): the cancel says nothing more.
    reported: bool = False


class SessionEngine:
    def __init__(
        self,
        hub: Hub,
        write: Callable[[bytes], Awaitable[None]],
        json: Callable[[Any], bytes],
        *,
        watched: tuple[str, ...] = (),
        wait: bool = True,
        line_limit: int,
    ) -> None:
        """`write`: whole record lines to their reader; `json`: a value as compact
        JSON (MessagePack values as hubcli prints them)."""
        self._hub = hub
        self._write = write
        self._json = json
        self._watched = {target.lower() for target in watched}
        self._wait = wait
        self._line_limit = line_limit
        self._calls: dict[tuple[bool, RequestId], _Call] = {}
        self._replies: dict[str, Reply] = {}
        self._lost: BaseException | None = None
        self._reading = trio.CancelScope()

    def in_flight(self) -> list[RequestId]:
        """The ids of the calls in flight, the oldest first."""
        return [call.id for call in self._calls.values()]

    def cancel(self, request_id: RequestId) -> None:
        """Cancel the call in flight with that id, if any (its record says so)."""
        call = self._calls.get(_key(request_id))
        if call is not None:
            call.scope.cancel()

    # -- records

    def _id_field(self, request_id: RequestId | None) -> bytes:
        return b"" if request_id is None else b'"id":' + self._json(request_id) + b","

    async def _record(self, request_id: RequestId | None, key: str, value: bytes) -> None:
        await self._write(b"{" + self._id_field(request_id) + f'"{key}":'.encode() + value + b"}\n")

    async def _error(self, request_id: RequestId, error: BaseException) -> None:
        text = self._json(str(error) or type(error).__name__)
        code = int(exit_code_of(error))
        await self._write(
            b"{" + self._id_field(request_id) + b'"error":' + text + f',"exit":{code}}}\n'.encode()
        )

    async def _bad(self, line: int, request_id: RequestId | None, text: str) -> None:
        await self._write(
            b'{"line":%d,' % line
            + self._id_field(request_id)
            + b'"error":'
            + self._json(text)
            + b',"exit":%d}\n' % ExitCode.USAGE
        )

    async def _done(self, request_id: RequestId | None) -> None:
        if request_id is not None:
            await self._record(request_id, "done", b"true")

    # -- the session

    async def run(self, lines: AsyncIterable[tuple[int, bytes | None]]) -> None:
        """Serve the request `lines` (number, text; None for one too long) until
        they end, or the connection's loss (raised at the end)."""
        events = self._hub.events(lifecycle=True)
        async with trio.open_nursery() as outer:
            outer.start_soon(self._print_pushes, events)
            async with trio.open_nursery() as calls:
                with self._reading:
                    async for number, line in lines:
                        await self._handle(calls, number, line)
                if self._lost is None:
                    await self._stdin_ended()
            outer.cancel_scope.cancel()
        if self._lost is not None:
            raise self._lost

    async def _stdin_ended(self) -> None:
        for call in list(self._calls.values()):
            if call.items is not None:
                call.reported = True
                await self._write(
                    b"{"
                    + self._id_field(call.id)
                    + b'"error":"stdin ended before the upload\'s end line","exit":2}\n'
                )
                call.scope.cancel()
            elif not self._wait:
                call.scope.cancel()
        if self._calls:
            logger.info("stdin ended: waiting for %d call(s) in flight", len(self._calls))

    async def _print_pushes(self, events: Any) -> None:
        from hubcli.client import Event, Reconnecting

        try:
            async for batch in events.batches():
                buffer = bytearray()
                for item in batch:
                    if type(item) is Event:
                        if not self._watches(item.target):
                            continue
                        buffer += b'{"target":' + self._json(item.target)
                        buffer += b',"arguments":' + self._json(item.arguments)
                        if item.invocation_id is not None:
                            buffer += b',"invocationId":' + self._json(item.invocation_id)
                        buffer += b"}\n"
                    elif isinstance(item, Reconnecting):
                        buffer += b'{"reconnecting":' + self._json(item.error) + b"}\n"
                    else:
                        buffer += b'{"reconnected":' + self._json(item.connection_id) + b"}\n"
                if buffer:
                    await self._write(bytes(buffer))
        except HubcliError as error:
            # The connection is over: the calls in flight fail on their own (their
            # records), nothing more is read, and the session ends with the loss.
            self._lost = error
            self._reading.cancel()

    def _watches(self, target: str) -> bool:
        return ALL_TARGETS in self._watched or target.lower() in self._watched

    async def _handle(self, calls: trio.Nursery, number: int, line: bytes | None) -> None:
        if line is None:
            await self._bad(number, None, f"line {number} is longer than {self._line_limit} bytes")
            return
        if not line.strip():
            return  # blank lines may stand between requests: there is nothing to skip
        request = parse_request(line, number)
        if isinstance(request, BadRequest):
            await self._bad(request.line, request.id, request.error)
            return
        await self._dispatch(calls, number, request)

    async def _dispatch(self, calls: trio.Nursery, number: int, request: Request) -> None:
        if isinstance(request, (Invoke, Upload)):
            key = _key(request.id)
            if key in self._calls:
                await self._bad(
                    number, request.id, f"line {number}: id {request.id!r} is in flight"
                )
                return
            call = _Call(request.id)
            if isinstance(request, Upload):
                send, receive = trio.open_memory_channel[list[Any]](UPLOAD_BUFFER)
                call.items = send
                self._calls[key] = call
                calls.start_soon(self._run_call, call, request, receive)
            else:
                self._calls[key] = call
                calls.start_soon(self._run_call, call, request, None)
        elif isinstance(request, (UploadItems, UploadEnd)):
            found = self._calls.get(_key(request.id))
            if found is None or found.items is None:
                await self._bad(
                    number, request.id, f"line {number}: no upload in flight with id {request.id!r}"
                )
                return
            if isinstance(request, UploadEnd):
                found.items.close()
                found.items = None
            elif request.items:
                try:
                    await found.items.send(request.items)
                except trio.BrokenResourceError:
                    # The call ended meanwhile (its record says how).
                    await self._bad(
                        number, request.id, f"line {number}: the upload {request.id!r} has ended"
                    )
        elif isinstance(request, Cancel):
            found = self._calls.get(_key(request.target))
            if found is None:
                await self._bad(
                    number,
                    request.id,
                    f"line {number}: no call in flight with id {request.target!r}",
                )
                return
            found.scope.cancel()
            await self._done(request.id)
        elif isinstance(request, On):
            self._watched.add(request.target.lower())
            await self._done(request.id)
        elif isinstance(request, Off):
            self._watched.discard(request.target.lower())
            await self._done(request.id)
        else:
            target = request.target.lower()
            if target not in self._replies:
                self._hub.on(request.target, self._answerer(target))
            self._replies[target] = request
            await self._done(request.id)

    def _answerer(self, key: str) -> Any:
        from hubcli.client import ClientResult

        def answer(*arguments: Any) -> ClientResult:
            reply = self._replies[key]
            if reply.error is not None:
                raise RuntimeError(reply.error)
            return ClientResult(reply.result)

        return answer

    async def _run_call(
        self,
        call: _Call,
        request: Invoke | Upload,
        receive: trio.MemoryReceiveChannel[list[Any]] | None,
    ) -> None:
        try:
            with call.scope:
                try:
                    await self._perform(request, receive)
                except HubcliError as error:
                    await self._error(call.id, error)
            if call.scope.cancelled_caught and not call.reported:
                await self._record(call.id, "cancelled", b"true")
        finally:
            self._calls.pop(_key(call.id), None)
            if call.items is not None:
                call.items.close()

    async def _perform(
        self, request: Invoke | Upload, receive: trio.MemoryReceiveChannel[list[Any]] | None
    ) -> None:
        from hubcli.client import ItemBatches
        from hubcli.protocol.messages import CompletionKind

        hub = self._hub
        args = list(request.args)
        streaming = isinstance(request, Invoke) and request.kind == "stream"
        if isinstance(request, Upload):
            assert receive is not None
            args.insert(request.position, ItemBatches(_drain(receive)))
            streaming = request.stream_back
        elif request.kind == "send":
            await hub.send(request.method, *args)
            await self._done(request.id)
            return
        if streaming:
            async with hub.stream(request.method, *args) as stream:
                async for batch in stream.batches():
                    buffer = bytearray()
                    prefix = b'{"id":' + self._json(request.id) + b',"item":'
                    for item in batch:
                        buffer += prefix + self._json(item) + b"}\n"
                    await self._write(bytes(buffer))
            await self._done(request.id)
            return
        completion = await hub.invoke_completion(request.method, *args)
        if completion.kind is CompletionKind.ERROR:
            raise HubError(completion.error or "The hub reported an error.")
        if completion.kind is CompletionKind.RESULT:
            await self._record(request.id, "result", self._json(completion.result))
        else:
            await self._record(request.id, "void", b"true")


async def _drain(receive: trio.MemoryReceiveChannel[list[Any]]) -> AsyncIterator[list[Any]]:
    """The upload's batches: what has arrived meanwhile goes in one message."""
    async with receive:
        async for batch in receive:
            items = list(batch)
            while True:
                try:
                    items.extend(receive.receive_nowait())
                except (trio.WouldBlock, trio.EndOfChannel):
                    break
            yield items
