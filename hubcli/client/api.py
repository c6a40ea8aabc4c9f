"""The public library API: `async with connect(url) as hub:` and the calls on `hub`.

    async with hubcli.connect("http://127.0.0.1:5000/hub") as hub:
        print(await hub.invoke("Add", 1, 2))
        async for item in hub.stream("Counter", 10, 0):
            print(item)
        await hub.send("Broadcast", "hi")
        summary = await hub.invoke("UploadSummary", some_async_iterable)

Any argument that is an async iterable (or `ItemBatches`) is uploaded as a client
stream. Leaving `async with hub.stream(...)` early cancels the stream on the server;
leaving `connect` says Close. Clean-up after a cancellation is shielded but bounded
by `close_timeout`, and `hub.abort()` ends even that at once.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import AsyncIterator, Iterator, Sequence
from contextlib import asynccontextmanager, contextmanager
from types import TracebackType
from typing import Any, Final

import trio

from hubcli import __version__
from hubcli.protocol import PROTOCOLS
from hubcli.protocol import negotiate as wire
from hubcli.protocol.messages import Completion, CompletionKind

from .connection import Call, HubConnection, perform_handshake
from .errors import ConnectTimeoutError, HubError
from .negotiation import Endpoint, negotiate, with_bearer
from .websocket import open_websocket_transport

DEFAULT_MAX_MESSAGE_SIZE: Final = 16 * 1024 * 1024
# Transport choices a user can make, and what each allows of negotiate's list.
TRANSPORT_CHOICES: Final[dict[str, tuple[str, ...]]] = {
    "auto": ("WebSockets",),
    "websockets": ("WebSockets",),
}


class Hub:
    """A connected hub. Made by `connect`; valid inside its `async with` block."""

    def __init__(
        self, connection: HubConnection, endpoint: Endpoint, protocol: str, close_timeout: float
    ) -> None:
        self._connection = connection
        self._close_timeout = close_timeout
        self._cleanup_scopes: set[trio.CancelScope] = set()
        self._aborted = False
        self.connection_id = endpoint.connection_id
        self.transport = endpoint.transport
        self.protocol = protocol

    async def invoke(self, method: str, *args: Any) -> Any:
        """Call `method` and return its result (None for a void method).

        Raises HubError when the hub answers with an error.
        """
        completion = await self.invoke_completion(method, *args)
        if completion.kind is CompletionKind.ERROR:
            raise HubError(completion.error or "The hub reported an error.")
        return completion.result

    async def invoke_completion(self, method: str, *args: Any) -> Completion:
        """Like `invoke`, but returns the Completion, error ones too (and void apart
        from null); still raises when the connection fails."""
        call = await self._connection.begin(method, args, streaming=False)
        try:
            await call.done.wait()
        except BaseException:
            with self.cleanup_scope():
                await self._connection.cancel(call, self._close_timeout)
            raise
        return call.outcome(hub_errors_raise=False)

    async def send(self, method: str, *args: Any) -> None:
        """Invoke without waiting for (or getting) an answer.

        Returns once the message is written, and any uploads among `args` are sent.
        """
        call = await self._connection.begin(method, args, streaming=False, expect_result=False)
        try:
            await call.done.wait()
        except BaseException:
            with self.cleanup_scope():
                await self._connection.cancel(call, self._close_timeout)
            raise
        call.outcome()

    def stream(self, method: str, *args: Any) -> StreamCall:
        """A server-to-client stream: iterate it for items, or `batches()` for frames."""
        return StreamCall(self, method, args)

    @contextmanager
    def cleanup_scope(self) -> Iterator[trio.CancelScope]:
        """Shield clean-up from the cancellation that caused it, for a bounded time."""
        with trio.CancelScope(shield=True) as scope:
            scope.deadline = trio.current_time() + self._close_timeout
            if self._aborted:
                scope.cancel()
            self._cleanup_scopes.add(scope)
            try:
                yield scope
            finally:
                self._cleanup_scopes.discard(scope)

    def abort(self) -> None:
        """Stop clean-up in progress (CancelInvocation, Close) at once."""
        self._aborted = True
        for scope in list(self._cleanup_scopes):
            scope.cancel()


class _Batches:
    def __init__(self, stream: StreamCall) -> None:
        self._stream = stream

    def __aiter__(self) -> _Batches:
        return self

    async def __anext__(self) -> list[Any]:
        batch = await self._stream.next_batch()
        if batch is None:
            raise StopAsyncIteration
        return batch


class StreamCall:
    """A stream in flight. Starts on `async with` or on the first item asked for."""

    def __init__(self, hub: Hub, method: str, args: Sequence[Any]) -> None:
        self._hub = hub
        self._method = method
        self._args = args
        self._call: Call | None = None
        self._buffer: list[Any] = []
        self._index = 0

    @property
    def invocation_id(self) -> str | None:
        return None if self._call is None else self._call.invocation_id

    @property
    def completion(self) -> Completion | None:
        """The stream's Completion once it has ended (error ones included), else None."""
        return None if self._call is None else self._call.completion

    async def start(self) -> None:
        if self._call is None:
            self._call = await self._hub._connection.begin(self._method, self._args, streaming=True)

    async def __aenter__(self) -> StreamCall:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Cancel the stream on the server unless it has ended; waits briefly for it."""
        call = self._call
        if call is None or call.done.is_set():
            return
        with self._hub.cleanup_scope():
            await self._hub._connection.cancel(call, self._hub._close_timeout)

    def __del__(self) -> None:
        call = self._call
        if call is not None and not call.done.is_set():
            with contextlib.suppress(RuntimeError):  # the connection is already gone
                self._hub._connection.abandon(call)

    async def next_batch(self) -> list[Any] | None:
        """The items of the next received frame, or None once the stream has ended.

        Raises HubError if the stream ended with an error, and the connection's
        failure if it ended with the connection.
        """
        await self.start()
        call = self._call
        assert call is not None
        assert call.items is not None
        try:
            return await call.items.receive()
        except (trio.EndOfChannel, trio.ClosedResourceError):
            call.outcome()
            return None

    def batches(self) -> AsyncIterator[list[Any]]:
        """Iterate the stream one received frame (a list of items) at a time."""
        return _Batches(self)

    def __aiter__(self) -> StreamCall:
        return self

    async def __anext__(self) -> Any:
        while self._index >= len(self._buffer):
            batch = await self.next_batch()
            if batch is None:
                raise StopAsyncIteration
            self._buffer, self._index = batch, 0
        item = self._buffer[self._index]
        self._index += 1
        return item


def _sole_exception(group: BaseExceptionGroup[BaseException]) -> BaseException:
    """The one exception a group carries, or the group when there are more."""
    leaves: list[BaseException] = []

    def collect(error: BaseException) -> None:
        if isinstance(error, BaseExceptionGroup):
            for inner in error.exceptions:
                collect(inner)
        else:
            leaves.append(error)

    collect(group)
    failures = [leaf for leaf in leaves if not isinstance(leaf, trio.Cancelled)]
    if len(failures) == 1:
        return failures[0]
    if not failures and leaves:
        return leaves[0]
    return group


@asynccontextmanager
async def connect(
    url: str,
    *,
    protocol: str = "json",
    transport: str = "auto",
    skip_negotiation: bool = False,
    headers: Sequence[tuple[str, str]] = (),
    access_token: str | None = None,
    connect_timeout: float | None = None,
    handshake_timeout: float = 15.0,
    keepalive_interval: float = 15.0,
    server_timeout: float | None = 30.0,
    max_message_size: int | None = DEFAULT_MAX_MESSAGE_SIZE,
    close_timeout: float = 2.0,
) -> AsyncIterator[Hub]:
    """Negotiate, open the transport, handshake; yield the Hub; Close on the way out.

    `headers` go on every HTTP request and the WebSocket upgrade; `access_token` is
    sent as `Authorization: Bearer` unless `headers` has an Authorization of its own.
    `server_timeout=None` waits for the server forever; `keepalive_interval=0` sends
    no pings.
    """
    if protocol not in PROTOCOLS:
        raise ValueError(f"unknown protocol {protocol!r}; use json or messagepack")
    if transport not in TRANSPORT_CHOICES:
        raise ValueError(f"unknown transport {transport!r}; use auto or websockets")
    hub_protocol = PROTOCOLS[protocol]()
    headers = tuple(headers)
    if not any(name.lower() == "user-agent" for name, _ in headers):
        headers = (*headers, ("User-Agent", f"hubcli/{__version__}"))
    deadline = math.inf if connect_timeout is None else trio.current_time() + connect_timeout
    connected = False
    with trio.CancelScope(deadline=deadline) as connecting:
        if skip_negotiation:
            endpoint = Endpoint(url, "WebSockets", with_bearer(headers, access_token))
        else:
            endpoint = await negotiate(
                url,
                headers=headers,
                access_token=access_token,
                transfer_format=hub_protocol.transfer_format,
                transports=TRANSPORT_CHOICES[transport],
            )
        async with open_websocket_transport(
            wire.websocket_url(endpoint.url),
            headers=endpoint.headers,
            binary=protocol != "json",
            max_message_size=max_message_size or DEFAULT_MAX_MESSAGE_SIZE,
            close_timeout=close_timeout,
        ) as hub_transport:
            received = await perform_handshake(hub_transport, hub_protocol, handshake_timeout)
            connecting.deadline = math.inf
            connected = True
            connection = HubConnection(
                hub_transport,
                hub_protocol,
                keepalive_interval=keepalive_interval,
                server_timeout=math.inf if server_timeout is None else server_timeout,
                max_message_size=max_message_size,
            )
            hub = Hub(connection, endpoint, protocol, close_timeout)
            try:
                async with trio.open_nursery() as nursery:
                    connection.start(nursery, received)
                    try:
                        yield hub
                    finally:
                        with hub.cleanup_scope():
                            await connection.close()
                        nursery.cancel_scope.cancel()
            except BaseExceptionGroup as group:
                raise _sole_exception(group) from None
    if connecting.cancelled_caught and not connected:
        raise ConnectTimeoutError(
            f"Could not connect within {connect_timeout:g} s (--connect-timeout)."
        )
