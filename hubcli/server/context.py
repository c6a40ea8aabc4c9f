"""What a hub method sees: its caller, the other clients, the server state.

The counterpart of the .NET Hub base class (Context, Clients) for the methods in
`methods/`. Upload parameters arrive as `Upload` iterators; a streaming method may
yield `ItemBatch` to have many items encoded and written in one go.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Protocol

import trio

from .asgi import RequestInfo
from .errors import HubMethodError
from .options import ServerOptions
from .state import HubState


@dataclass(frozen=True, slots=True)
class ItemBatch:
    """Several stream items at once; the server encodes them in one call."""

    items: list[Any]


class ConnectionHandle(Protocol):
    @property
    def connection_id(self) -> str: ...

    @property
    def transport_name(self) -> str: ...

    @property
    def protocol_name(self) -> str: ...

    @property
    def request(self) -> RequestInfo: ...

    async def send_invocation(self, target: str, arguments: list[Any]) -> None: ...

    async def invoke_client(self, target: str, arguments: list[Any]) -> tuple[bool, Any]: ...

    def request_close(self, error: str | None, allow_reconnect: bool) -> None: ...


class UploadFailed(HubMethodError):
    """The client ended its stream with an error (the real reader throws Exception)."""


class Upload:
    """One client-to-server stream: items in order until the client completes it."""

    def __init__(self, capacity: int) -> None:
        # A bounded channel, as the real server's per-stream buffer: a full buffer
        # stops the connection reading, which is the backpressure on the uploader.
        self._send, self._receive = trio.open_memory_channel[Any](capacity)
        self._error: str | None = None
        self.completed = False

    async def put(self, item: Any) -> None:
        if self.completed:
            return
        # The method may have stopped reading: the item then goes nowhere.
        with contextlib.suppress(trio.BrokenResourceError, trio.ClosedResourceError):
            await self._send.send(item)

    def complete(self, error: str | None = None) -> None:
        if not self.completed:
            self.completed = True
            self._error = error
            self._send.close()

    def __aiter__(self) -> AsyncIterator[Any]:
        return self._items()

    async def _items(self) -> AsyncIterator[Any]:
        async for item in self._receive:
            yield item
        if self._error is not None:
            raise UploadFailed(self._error)


CancelCallback = Callable[[], Awaitable[None]]


class CallContext:
    def __init__(
        self,
        connection: ConnectionHandle,
        state: HubState,
        options: ServerOptions,
        release_slot: Callable[[], None],
    ) -> None:
        self.connection = connection
        self.state = state
        self.options = options
        self._release_slot = release_slot
        self.cancel_callbacks: list[CancelCallback] = []

    @property
    def connection_id(self) -> str:
        return self.connection.connection_id

    @property
    def request(self) -> RequestInfo:
        return self.connection.request

    async def send_caller(self, target: str, *arguments: Any) -> None:
        await self.connection.send_invocation(target, list(arguments))

    async def send_all(self, target: str, *arguments: Any) -> None:
        for client in list(self.state.clients.values()):
            await client.send_invocation(target, list(arguments))

    async def invoke_caller(self, target: str, *arguments: Any) -> tuple[bool, Any]:
        """(True, result) or (False, error text) from the caller's Completion."""
        # Waiting on the caller while holding the one invocation slot would stop the
        # connection reading the answer; the real server lets go of it too.
        self.release_invocation_slot()
        return await self.connection.invoke_client(target, list(arguments))

    def release_invocation_slot(self) -> None:
        """Let the connection's next plain invocation start (idempotent)."""
        self._release_slot()

    def on_cancel(self, callback: CancelCallback) -> None:
        """Run `callback` when the stream is cancelled (a CancellationToken.Register)."""
        self.cancel_callbacks.append(callback)

    def close_connection(self, error: str | None, allow_reconnect: bool) -> None:
        self.connection.request_close(error, allow_reconnect)
