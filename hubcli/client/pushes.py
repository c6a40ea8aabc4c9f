"""The hub calling the client: handlers (`on`/`off`), event streams, client results.

Server-to-client Invocations are matched to handlers and event streams by target
name, case-insensitively (the TypeScript client's rule; the .NET client matches
case-sensitively, dotnet/aspnetcore#48746: a hub that sends "receiveMessage" and
"ReceiveMessage" to two different handlers cannot be served by hubcli).

Plain pushes (no invocation id) go to each event stream that wants them and to the
handlers registered for their target, which one task runs in arrival order, each
handler awaited in turn (as the .NET client does), so a chat's messages are
handled in the order sent. A handler that raises is logged; the connection goes
on. A push that arrives with neither a handler nor an event stream for it is
logged (at INFO) and dropped, as the official clients do.

Client results (an Invocation with an invocation id; ASP.NET Core 7+) are always
answered: each request runs in a task of its own, so one slow answer does not hold
up the next message, and the Completion carries the handlers' result:

- no handler for the target, or handlers that all return None:
  "Client didn't provide a result." (the official clients' text);
- two or more handlers returning a value: "Client provided multiple results.";
- a handler that raises: an error Completion with the exception's message (the
  first one raised; the TypeScript client lets a later handler's result win);
- otherwise the one value returned. A handler answers null with
  `return ClientResult(None)`, since a plain None means "no result".
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from types import TracebackType
from typing import Any, Final, Generic, TypeVar, cast

from hubcli.errors import InvalidArgumentError
from hubcli.protocol.messages import Completion

from .inbox import Inbox

logger: Final = logging.getLogger("hubcli")

NO_CLIENT_RESULT: Final = "Client didn't provide a result."
MULTIPLE_CLIENT_RESULTS: Final = "Client provided multiple results."
ARGUMENTS_NOT_READ: Final = "Client failed to parse argument(s)."

Handler = Callable[..., Any]
"""A function called with a server invocation's arguments; sync or async. For a
client-result request, what it returns (other than None) is the result."""

HandlerSpec = Mapping[str, Handler | Sequence[Handler]]
"""Handlers as `connect(handlers=...)` takes them: target -> one or several."""


@dataclass(frozen=True, slots=True)
class Event:
    """One server-to-client Invocation.

    `target` is the name as the server sent it; `invocation_id` is set when the
    server waits for a client result (its handlers answer it).
    """

    target: str
    arguments: list[Any]
    invocation_id: str | None = None

    @property
    def expects_result(self) -> bool:
        """Whether the server waits for an answer (a client-result request)."""
        return self.invocation_id is not None


@dataclass(frozen=True, slots=True)
class Reconnecting:
    """Lifecycle record: the connection was lost (`error` says how); the hub is
    connecting again, as its reconnect policy says."""

    error: str


@dataclass(frozen=True, slots=True)
class Reconnected:
    """Lifecycle record: connected again, as a new connection (events sent to the
    old one meanwhile are lost; group memberships too)."""

    connection_id: str | None


Lifecycle = Reconnecting | Reconnected


@dataclass(frozen=True, slots=True)
class ClientResult:
    """A handler's explicit answer to a client-result request: `ClientResult(None)`
    answers null, where returning None would mean "no result"."""

    value: Any


def _key(target: str) -> str:
    return target.lower()


class Registration:
    """What `Hub.on` returns: `off()` removes that one handler again."""

    __slots__ = ("_handler", "_handlers", "target")

    def __init__(self, handlers: Handlers, target: str, handler: Handler) -> None:
        self._handlers = handlers
        self.target = target
        self._handler = handler

    def off(self) -> None:
        """Remove this handler again (nothing happens if it is already gone)."""
        self._handlers.remove(self.target, self._handler)

    def __enter__(self) -> Registration:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.off()


class Handlers:
    """Handlers by target; each list is replaced, never changed in place, so a
    dispatch can keep the one it started with (a handler may remove itself)."""

    def __init__(self) -> None:
        self._by_target: dict[str, tuple[Handler, ...]] = {}

    def add(self, target: str, handler: Handler) -> Registration:
        if not isinstance(target, str) or not target:
            raise InvalidArgumentError("a handler needs a target name")
        if not callable(handler):
            raise InvalidArgumentError(f"a handler must be callable, not {type(handler).__name__}")
        key = _key(target)
        current = self._by_target.get(key, ())
        # As the TypeScript client: the same function is not added twice.
        if handler not in current:
            self._by_target[key] = (*current, handler)
        return Registration(self, target, handler)

    def add_all(self, spec: HandlerSpec) -> None:
        for target, given in spec.items():
            # Anything but a sequence counts as one handler; `add` says why it is not.
            several: Sequence[Handler] = (
                given if isinstance(given, Sequence) and not isinstance(given, str) else (given,)
            )
            for handler in several:
                self.add(target, handler)

    def remove(self, target: str, handler: Handler | None = None) -> None:
        key = _key(target)
        current = self._by_target.get(key, ())
        kept = () if handler is None else tuple(h for h in current if h != handler)
        if kept:
            self._by_target[key] = kept
        else:
            self._by_target.pop(key, None)

    def get(self, target: str) -> tuple[Handler, ...]:
        return self._by_target.get(_key(target), ())


async def call_handler(handler: Handler, arguments: Sequence[Any]) -> Any:
    result = handler(*arguments)
    if inspect.isawaitable(result):
        result = await result
    return result


def describe_error(error: BaseException) -> str:
    return str(error) or type(error).__name__


async def client_result(event: Event, handlers: Sequence[Handler]) -> Completion:
    """Run the handlers of a client-result request; the Completion to answer with."""
    invocation_id = event.invocation_id
    assert invocation_id is not None
    values: list[Any] = []
    failure: Exception | None = None
    for handler in handlers:
        try:
            value = await call_handler(handler, event.arguments)
        except Exception as error:
            logger.warning("a handler for %r raised: %s", event.target, describe_error(error))
            failure = failure or error
            continue
        if value is not None:
            values.append(value)
    if failure is not None:
        return Completion.with_error(invocation_id, describe_error(failure))
    if len(values) > 1:
        logger.warning("several handlers for %r returned a result", event.target)
        return Completion.with_error(invocation_id, MULTIPLE_CLIENT_RESULTS)
    if not values:
        return Completion.with_error(invocation_id, NO_CLIENT_RESULT)
    value = values[0]
    return Completion.with_result(
        invocation_id, value.value if isinstance(value, ClientResult) else value
    )


HandlerCall = tuple[Event, tuple[Handler, ...]]


class Subscription:
    """What the receive loop holds of an event stream: the targets and the inbox.

    Kept apart from EventStream so that an EventStream its owner dropped can be
    garbage collected, which marks this orphaned for the receive loop to drop.
    """

    __slots__ = ("_keys", "inbox", "lifecycle", "orphaned")

    def __init__(self, targets: Sequence[str], lifecycle: bool) -> None:
        self._keys = frozenset(_key(target) for target in targets) or None
        # Events, and Lifecycle records if asked for.
        self.inbox: Inbox[Any] = Inbox()
        self.lifecycle = lifecycle
        self.orphaned = False

    def wants(self, key: str) -> bool:
        return self._keys is None or key in self._keys


E = TypeVar("E", Event, Event | Lifecycle)


class EventStream(Generic[E]):
    """Server invocations of some targets (all of them if none was named), in
    the order they arrived. Made by `Hub.events`; subscribed from that moment.

    Iterate it (`async for event in stream`), or `batches()` for the events of
    each received frame at once. Leaving `async with`, or `aclose()`, ends the
    subscription; so does the connection's end, after the events held, with the
    connection's error. Dropped without either, it is unsubscribed once garbage
    collected and an event for it arrives.
    """

    def __init__(self, pushes: Pushes, subscription: Subscription, targets: Sequence[str]) -> None:
        self._pushes = pushes
        self._subscription = subscription
        self.targets = tuple(targets)
        self._buffer: list[E] = []
        self._index = 0

    async def __aenter__(self) -> EventStream[E]:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Unsubscribe, and drop the events held."""
        self._pushes.unsubscribe(self._subscription)

    def finish(self) -> None:
        """Unsubscribe, keeping the events held: iteration ends after them."""
        self._pushes.unsubscribe(self._subscription, keep_held=True)

    def __del__(self) -> None:
        # Starts nothing (a finalizer may run anywhere): the receive loop drops it.
        self._subscription.orphaned = True

    async def next_batch(self) -> list[E] | None:
        """The events of the next received frame; None once the stream has ended.

        Raises the connection's error once it ended with the connection, or
        EventBufferFullError if its reader fell too far behind.
        """
        if self._index < len(self._buffer):
            rest = self._buffer[self._index :]
            self._buffer, self._index = [], 0
            return rest
        return cast("list[E] | None", await self._subscription.inbox.take())

    def held(self) -> list[E]:
        """Every event received and not yet taken, without waiting."""
        events: list[E] = self._buffer[self._index :]
        self._buffer, self._index = [], 0
        while (batch := self._subscription.inbox.take_nowait()) is not None:
            events.extend(batch)
        return events

    def batches(self) -> _Batches[E]:
        """Iterate the stream one received frame (a list of events) at a time."""
        return _Batches(self)

    def __aiter__(self) -> EventStream[E]:
        return self

    async def __anext__(self) -> E:
        while self._index >= len(self._buffer):
            batch = await self._subscription.inbox.take()
            if batch is None:
                raise StopAsyncIteration
            self._buffer, self._index = batch, 0
        event = self._buffer[self._index]
        self._index += 1
        return event


class _Batches(Generic[E]):
    def __init__(self, stream: EventStream[E]) -> None:
        self._stream: EventStream[E] = stream

    def __aiter__(self) -> _Batches[E]:
        return self

    async def __anext__(self) -> list[E]:
        batch: list[E] | None = await self._stream.next_batch()
        if batch is None:
            raise StopAsyncIteration
        return batch


class Pushes:
    """A hub's handlers and event streams, and the pushes a frame brought them."""

    def __init__(self) -> None:
        self.handlers = Handlers()
        self._subscriptions: list[Subscription] = []
        # Plain pushes with handlers, for the task that runs them in order.
        self.handler_inbox: Inbox[HandlerCall] = Inbox()
        self._frame_events: dict[Subscription, tuple[list[Event], int]] = {}
        self._frame_calls: list[HandlerCall] = []
        self._frame_calls_size = 0

    def subscribe(self, targets: Sequence[str], *, lifecycle: bool = False) -> EventStream[Any]:
        for target in targets:
            if not isinstance(target, str) or not target:
                raise InvalidArgumentError("event targets must be non-empty names")
        subscription = Subscription(targets, lifecycle)
        self._subscriptions.append(subscription)
        return EventStream(self, subscription, targets)

    def lifecycle(self, record: Lifecycle) -> None:
        """Tell the event streams that asked (in order with their events)."""
        for subscription in self._subscriptions:
            if subscription.lifecycle:
                subscription.inbox.put([record], 0)

    def unsubscribe(self, subscription: Subscription, *, keep_held: bool = False) -> None:
        if subscription in self._subscriptions:
            self._subscriptions.remove(subscription)
        if keep_held:
            subscription.inbox.close()
        else:
            subscription.inbox.release()

    def subscriptions_for(self, key: str) -> list[Subscription]:
        wanting: list[Subscription] = []
        for subscription in list(self._subscriptions):
            if subscription.orphaned:
                self.unsubscribe(subscription)
            elif subscription.wants(key):
                wanting.append(subscription)
        return wanting

    def collect(self, target: str, events: list[Event], size: int) -> bool:
        """Hold plain pushes of `target` (from `size` bytes) for the deliveries at
        the end of the frame; False if no one wants them."""
        key = _key(target)
        wanted = False
        for subscription in self.subscriptions_for(key):
            held, held_size = self._frame_events.get(subscription, ([], 0))
            held.extend(events)
            self._frame_events[subscription] = (held, held_size + size)
            wanted = True
        handlers = self.handlers.get(key)
        if handlers:
            self._frame_calls.extend((event, handlers) for event in events)
            self._frame_calls_size += size
            wanted = True
        return wanted

    @property
    def collecting(self) -> bool:
        return bool(self._frame_events or self._frame_calls)

    def take_frame(
        self,
    ) -> tuple[list[tuple[Subscription, list[Event], int]], list[HandlerCall], int]:
        """What `collect` gathered: (subscription, events, bytes) each, and the
        handler calls with their bytes; starts a new frame."""
        streams = [(sub, events, size) for sub, (events, size) in self._frame_events.items()]
        calls, size = self._frame_calls, self._frame_calls_size
        self._frame_events, self._frame_calls, self._frame_calls_size = {}, [], 0
        return streams, calls, size

    def end(self, error: BaseException) -> None:
        """The connection is over: readers get what they hold, then `error`."""
        for subscription in self._subscriptions:
            subscription.inbox.close(error)
        self.handler_inbox.close()

    async def run_handlers(self) -> None:
        """Run the handlers of plain pushes, in arrival order, until the end."""
        inbox = self.handler_inbox
        while (batch := await inbox.take()) is not None:
            for event, handlers in batch:
                for handler in handlers:
                    try:
                        await call_handler(handler, event.arguments)
                    except Exception as error:
                        logger.warning(
                            "a handler for %r raised: %s", event.target, describe_error(error)
                        )
