"""What a hub method sees: its caller, the other clients, the server state.

The counterpart of the .NET Hub base class (Context, Clients, Groups) for the
methods in `methods/`. Upload parameters arrive as `Upload` iterators; a
streaming method may yield `ItemBatch` to have many items encoded and written in
one go.
"""

from __future__ import annotations

from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Any, Protocol

import trio

from hubcli.protocol import HubProtocol

from .asgi import RequestInfo
from .clients import CallerClients, GroupManager
from .errors import HubException
from .naming import Naming, apply
from .options import ServerOptions
from .state import HubState


@dataclass(frozen=True, slots=True)
class ItemBatch:
    """Several stream items at once; the server encodes them in one call."""

    items: Sequence[Any]


class ConnectionHandle(Protocol):
    @property
    def connection_id(self) -> str: ...

    @property
    def user_id(self) -> str | None: ...

    @property
    def transport_name(self) -> str: ...

    @property
    def protocol(self) -> HubProtocol: ...

    @property
    def protocol_name(self) -> str: ...

    @property
    def request(self) -> RequestInfo: ...

    async def write_bytes(self, data: bytes, messages: int) -> None:
        """Write encoded messages, `messages` of them invocation-class (what
        stateful reconnect counts and keeps for a replay)."""
        ...

    def request_close(self, error: str | None, allow_reconnect: bool) -> None: ...

    def drop_transport(self, forget: bool) -> None:
        """Cut the TCP connection under the transport (the chaos hub); `forget`
        also disposes of the connection."""
        ...


class UploadFailed(HubException):
    """The client ended its stream with an error. The real server's reader throws a
    HubException with the client's text (since ASP.NET Core 3; 2.2 threw a plain
    Exception), so the text reaches the caller even without detailed errors."""


class Upload:
    """One client-to-server stream: items in order until the client completes it.

    A bounded buffer, as the real server's per-stream channel: a full buffer stops
    the connection reading, which is the backpressure on the uploader. Not a trio
    memory channel: its receive is a checkpoint per item, a scheduler round for
    each of an upload's items; here the reader takes what is buffered in one go
    and checkpoints once per wait.
    """

    def __init__(self, capacity: int) -> None:
        self._buffer: deque[Any] = deque()
        self._capacity = max(capacity, 1)
        self._error: str | None = None
        self._changed = trio.Event()
        self._reader_done = False
        self.completed = False

    def _wake(self) -> None:
        self._changed.set()
        self._changed = trio.Event()

    def takes_now(self, count: int) -> bool:
        """Whether put()ting `count` items would not wait for the reader."""
        return self.completed or self._reader_done or len(self._buffer) + count <= self._capacity

    async def put(self, item: Any) -> None:
        """Buffer `item`, waiting while the buffer is full; an item the method no
        longer reads (it returned, or the client completed) goes nowhere."""
        while len(self._buffer) >= self._capacity:
            if self.completed or self._reader_done:
                return
            await self._changed.wait()
        if self.completed or self._reader_done:
            return
        self._buffer.append(item)
        if len(self._buffer) == 1:
            self._wake()

    async def put_many(self, items: list[Any]) -> None:
        """put() each of `items` in order, filling the buffer as far as it has room
        at each step instead of one call per item."""
        buffer = self._buffer
        start = 0
        while start < len(items):
            while len(buffer) >= self._capacity:
                if self.completed or self._reader_done:
                    return
                await self._changed.wait()
            if self.completed or self._reader_done:
                return
            end = start + self._capacity - len(buffer)
            was_empty = not buffer
            buffer.extend(items[start:end])
            start = end
            if was_empty:
                self._wake()

    def complete(self, error: str | None = None) -> None:
        if not self.completed:
            self.completed = True
            self._error = error
            self._wake()

    def __aiter__(self) -> AsyncIterator[Any]:
        return self._items()

    async def _items(self) -> AsyncIterator[Any]:
        buffer = self._buffer
        try:
            while True:
                if buffer:
                    full = len(buffer) >= self._capacity
                    item = buffer.popleft()
                    if full:
                        self._wake()  # the connection may read again
                    yield item
                elif self.completed:
                    break
                else:
                    await self._changed.wait()
        finally:
            self._reader_done = True
            self._wake()
        if self._error is not None:
            raise UploadFailed(self._error)


CancelCallback = Callable[[], Awaitable[None]]
BackgroundTask = Callable[[], Awaitable[None]]


class CallContext:
    """Context, Clients and Groups of one hub method call.

    `clients` picks recipients (caller, others, all, groups, users, connections)
    and asks single clients for results; `groups` adds and removes connections.
    """

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
        self.after_completion: list[BackgroundTask] = []

    # Made on first use: most calls (an Echo) touch neither, and a call's context is
    # built for every invocation.
    @cached_property
    def clients(self) -> CallerClients:
        release = self.release_invocation_slot
        return CallerClients(self.state, self.connection.connection_id, release)

    @cached_property
    def groups(self) -> GroupManager:
        return GroupManager(self.state)

    @property
    def connection_id(self) -> str:
        return self.connection.connection_id

    @property
    def naming(self) -> Naming:
        """How this connection's protocol names typed objects' properties: the
        server's JSON policy, or MessagePack's member names."""
        if self.connection.protocol_name == "json":
            return Naming(self.options.json_naming)
        return Naming.PASCAL

    def typed(self, value: Any) -> Any:
        """`value` with its Records (typed objects) named for the caller's protocol."""
        return apply(value, self.naming)

    @property
    def user_id(self) -> str | None:
        """Context.UserIdentifier: see users.py for where it comes from."""
        return self.connection.user_id

    @property
    def request(self) -> RequestInfo:
        return self.connection.request

    def release_invocation_slot(self) -> None:
        """Let the connection's next plain invocation start (idempotent)."""
        self._release_slot()

    def on_cancel(self, callback: CancelCallback) -> None:
        """Run `callback` when the stream is cancelled (a CancellationToken.Register)."""
        self.cancel_callbacks.append(callback)

    def start_after_completion(self, task: BackgroundTask) -> None:
        """Run `task` once the call's Completion is written, beside the connection's
        other work; it is cancelled when the connection ends."""
        self.after_completion.append(task)

    def close_connection(self, error: str | None, allow_reconnect: bool) -> None:
        self.connection.request_close(error, allow_reconnect)
