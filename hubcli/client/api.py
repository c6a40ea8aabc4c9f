"""The public library API: `async with connect(url) as hub:` and the calls on `hub`.

    async with hubcli.connect("http://127.0.0.1:5000/hub") as hub:
        print(await hub.invoke("Add", 1, 2))
        async for item in hub.stream("Counter", 10, 0):
            print(item)
        await hub.send("Broadcast", "hi")
        summary = await hub.invoke("UploadSummary", some_async_iterable)

The hub calls the client too: `hub.on("Target", handler)` runs a handler for each
such invocation (its return value answers a client-result request), and `async for
event in hub.events("Target")` reads them in order; handlers given to `connect(url,
handlers={...})` are in place before the first message is read.

Any argument that is an async iterable (or `ItemBatches`) is uploaded as a client
stream. Leaving `async with hub.stream(...)` early cancels the stream on the server;
leaving `connect` says Close. Clean-up after a cancellation is shielded but bounded
by `close_timeout`, and `hub.abort()` ends even that at once.
"""

from __future__ import annotations

import enum
import logging
import math
import ssl
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from types import TracebackType
from typing import Any, Final, Literal, overload

import trio

from hubcli._defaults import (
    DEFAULT_CLOSE_TIMEOUT_SECONDS,
    DEFAULT_HANDSHAKE_TIMEOUT_SECONDS,
    DEFAULT_KEEPALIVE_SECONDS,
    DEFAULT_MAX_MESSAGE_SIZE,
)
from hubcli._groups import sole_exception
from hubcli.protocol import PROTOCOL_NAMES, protocol_by_name
from hubcli.protocol.messages import Completion, CompletionKind
from hubcli.protocol.negotiate import transport_named
from hubcli.protocol.stateful import DEFAULT_BUFFER_SIZE

from .arguments import (
    check_count,
    check_hub_url,
    check_seconds,
    skips_negotiation,
)
from .connection import DEFAULT_STREAM_BUFFER_LIMIT, Call, HubConnection
from .errors import HubError, InvalidArgumentError
from .hubparts import HubParts
from .links import LinkSpec, keep_linked
from .network import (
    AccessToken,
    NetworkSettings,
    check_proxy_url,
    environment_proxies,
    parse_cookie_string,
)
from .pushes import Event, EventStream, Handler, HandlerSpec, Lifecycle, Pushes, Registration
from .reconnect import ReconnectPolicy
from .transports import LONG_POLLING, SERVER_SENT_EVENTS, WEBSOCKETS

logger: Final = logging.getLogger("hubcli")

# Every transport, in the order -t auto tries them (as negotiate spells them).
AUTO: Final = (WEBSOCKETS, SERVER_SENT_EVENTS, LONG_POLLING)


class Default(enum.Enum):
    """The type of `DEFAULT`, a server timeout left to hubcli to choose."""

    TIMEOUT = "default"


DEFAULT: Final = Default.TIMEOUT


def _words(choice: str | Sequence[str]) -> set[str]:
    parts = [choice] if isinstance(choice, str) else list(choice)
    return {word.strip().lower() for part in parts for word in part.split(",") if word.strip()}


def transport_names(choice: str | Sequence[str]) -> tuple[str, ...]:
    """The transports a choice allows: "auto", a name, a comma list, or a sequence.

    InvalidArgumentError (a ValueError) for an unknown name.
    """
    parts = [choice] if isinstance(choice, str) else list(choice)
    names: list[str] = []
    for part in parts:
        for word in part.split(","):
            key = word.strip().lower()
            if not key:
                continue
            named = transport_named(key)
            if key != "auto" and named is None:
                raise InvalidArgumentError(
                    f"unknown transport {word.strip()!r}; use auto, websockets, sse or longpolling"
                )
            chosen = AUTO if named is None else (named.value,)
            names.extend(name for name in chosen if name not in names)
    if not names:
        raise InvalidArgumentError("no transport given; use auto, websockets, sse or longpolling")
    return tuple(names)


class Hub:
    """A connected hub. Made by `connect`; valid inside its `async with` block."""

    def __init__(self, state: HubParts, *, protocol: str) -> None:
        self._state = state
        self.protocol = protocol

    @property
    def connection_id(self) -> str | None:
        """The current connection's id (None when negotiation was skipped)."""
        return self._state.connection_id

    @property
    def transport(self) -> str:
        """The current transport, as negotiate spells it: WebSockets,
        ServerSentEvents or LongPolling."""
        return self._state.transport

    @property
    def reconnects(self) -> int:
        """Connections made again by the reconnect policy."""
        return self._state.reconnects

    @property
    def resumes(self) -> int:
        """Transport drops this connection survived by stateful reconnect."""
        connection = self._state.connection
        return 0 if connection is None else connection.resumes

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
        call = await self._state.current.begin(method, args, streaming=False)
        await self._wait_for(call)
        return call.outcome(hub_errors_raise=False)

    async def send(self, method: str, *args: Any) -> None:
        """Invoke without waiting for (or getting) an answer.

        Returns once the message is written, and any uploads among `args` are sent.
        """
        call = await self._state.current.begin(method, args, streaming=False, expect_result=False)
        await self._wait_for(call)
        call.outcome()

    async def _wait_for(self, call: Call) -> None:
        """Wait for `call` to end; if we are cancelled first, cancel it (its uploads)."""
        state = self._state
        connection = state.current
        try:
            await call.done.wait()
        except BaseException:
            with state.cleanup_scope():
                await connection.cancel(call, state.close_timeout)
            raise

    def stream(self, method: str, *args: Any) -> StreamCall:
        """A server-to-client stream: iterate it for items, or `batches()` for frames."""
        return StreamCall(self._state, method, args)

    def on(self, target: str, handler: Handler) -> Registration:
        """Call `handler(*arguments)` (sync or async) for each invocation of `target`
        by the hub; `.off()` on what it returns removes it again.

        Targets match case-insensitively. Several handlers of one target run in
        the order they were added; handlers of plain pushes run one at a time, in
        arrival order. For a client-result request, the value the handler returns
        is the result (see `ClientResult`); a handler that raises is logged and
        never ends the connection (for a client-result request, its message is the
        error the hub gets).
        """
        return self._state.pushes.handlers.add(target, handler)

    def off(self, target: str, handler: Handler | None = None) -> None:
        """Remove `handler` from `target`, or every handler of `target`."""
        self._state.pushes.handlers.remove(target, handler)

    @overload
    def events(self, *targets: str, lifecycle: Literal[False] = False) -> EventStream[Event]: ...

    @overload
    def events(self, *targets: str, lifecycle: Literal[True]) -> EventStream[Event | Lifecycle]: ...

    def events(self, *targets: str, lifecycle: bool = False) -> EventStream[Any]:
        """The hub's invocations of `targets` (of every target if none is named), as
        `Event`s in arrival order, from now on: `async for event in hub.events(...)`.

        Subscribed when called, so nothing arriving after is missed. Backpressure
        is a stream's: a slow reader slows the socket while no other call is in
        flight; with calls in flight it may hold up to `stream_buffer_limit` bytes,
        beyond which it ends with EventBufferFullError. Client-result requests
        appear too (with their `invocation_id`); handlers answer them.

        `lifecycle=True` adds Reconnecting and Reconnected records where a
        reconnect policy connected again, in order with the events.
        """
        return self._state.pushes.subscribe(targets, lifecycle=lifecycle)

    def abort(self) -> None:
        """Stop clean-up in progress (CancelInvocation, Close) at once."""
        self._state.abort()


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
    """A stream in flight. Starts on `async with` or on the first item asked for.

    Leaving `async with` (a `break` included) or calling `aclose()` cancels a
    stream that has not ended, there and then. One dropped unfinished without
    either is cancelled only once it is garbage collected and its next frame
    arrives.
    """

    def __init__(self, state: HubParts, method: str, args: Sequence[Any]) -> None:
        self._state = state
        self._method = method
        self._args = args
        self._call: Call | None = None
        self._connection: HubConnection | None = None
        self._buffer: list[Any] = []
        self._index = 0

    @property
    def invocation_id(self) -> str | None:
        """The stream's invocation id once it has started, else None."""
        return None if self._call is None else self._call.invocation_id

    @property
    def completion(self) -> Completion | None:
        """The stream's Completion once it has ended (error ones included), else None."""
        return None if self._call is None else self._call.completion

    async def start(self) -> None:
        """Invoke the stream on the hub, if not yet done (`async with` and the first
        item asked for call it)."""
        if self._call is None:
            self._connection = self._state.current
            self._call = await self._connection.begin(self._method, self._args, streaming=True)

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
        assert self._connection is not None
        with self._state.cleanup_scope():
            await self._connection.cancel(call, self._state.close_timeout)

    def __del__(self) -> None:
        # A finalizer runs whenever the collector gets to it, inside the trio run or
        # after it: it starts nothing, it only marks the call, and the receive loop
        # cancels it on the server when its next frame comes in. `async with` or
        # `aclose()` is the way to leave a stream early.
        if self._call is not None:
            self._call.orphaned = True

    async def next_batch(self) -> list[Any] | None:
        """The items of the next received frame, or None once the stream has ended.

        Raises HubError if the stream ended with an error, and the connection's
        failure if it ended with the connection.
        """
        await self.start()
        call = self._call
        assert call is not None
        batch = await call.take()
        if batch is None and call.done.is_set():
            call.outcome()
        return batch

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


def _network_settings(
    *,
    headers: Sequence[tuple[str, str]],
    cookies: str | Mapping[str, str] | Sequence[tuple[str, str]],
    access_token: AccessToken,
    token_in_query: bool,
    ssl_context: ssl.SSLContext | None,
    proxy: str | None,
    trust_env: bool,
) -> NetworkSettings:
    if isinstance(cookies, str):
        cookie_pairs = parse_cookie_string(cookies)
    elif isinstance(cookies, Mapping):
        cookie_pairs = tuple(cookies.items())
    else:
        cookie_pairs = tuple(cookies)
    return NetworkSettings(
        headers=tuple(headers),
        cookies=cookie_pairs,
        access_token=access_token,
        token_in_query=token_in_query,
        ssl_context=ssl_context,
        proxy=None if proxy is None else check_proxy_url(proxy),
        environment_proxies=environment_proxies() if trust_env else (),
    )


@asynccontextmanager
async def connect(
    url: str,
    *,
    protocol: str = "json",
    transport: str | Sequence[str] = "auto",
    skip_negotiation: bool = False,
    headers: Sequence[tuple[str, str]] = (),
    cookies: str | Mapping[str, str] | Sequence[tuple[str, str]] = (),
    access_token: AccessToken = None,
    token_in_query: bool = False,
    ssl_context: ssl.SSLContext | None = None,
    proxy: str | None = None,
    trust_env: bool = True,
    network: NetworkSettings | None = None,
    connect_timeout: float | None = None,
    handshake_timeout: float = DEFAULT_HANDSHAKE_TIMEOUT_SECONDS,
    keepalive_interval: float = DEFAULT_KEEPALIVE_SECONDS,
    server_timeout: float | Default | None = DEFAULT,
    max_message_size: int | None = DEFAULT_MAX_MESSAGE_SIZE,
    close_timeout: float = DEFAULT_CLOSE_TIMEOUT_SECONDS,
    stream_buffer_limit: int = DEFAULT_STREAM_BUFFER_LIMIT,
    handlers: HandlerSpec | None = None,
    reconnect: ReconnectPolicy | bool | None = None,
    stateful_reconnect: bool = False,
    stateful_buffer_size: int = DEFAULT_BUFFER_SIZE,
    connect_retries: int = 0,
) -> AsyncIterator[Hub]:
    """Negotiate, start a transport, handshake; yield the Hub; Close on the way out.

    `transport`: "auto" (every transport the server offers, in its order, falling
    back on a fresh negotiate when one fails to start), or "websockets", "sse",
    "longpolling", or several of them (a sequence or a comma list).

    `headers` and `cookies` ("a=1; b=2", a mapping or pairs) go on every HTTP
    request and the WebSocket upgrade; cookies the server sets on the way are kept
    for the connection. `access_token` (a string, or a callable, sync or async,
    asked again for each negotiate and after a 401) is sent as `Authorization:
    Bearer` unless `headers` has an Authorization of its own, and also as
    `access_token=` in the transport URL with `token_in_query`. A negotiate
    redirect's token replaces all of them for this connection.

    `ssl_context`: see `tls_context()` for a CA file, a client certificate or no
    verification; the system trust store by default. `proxy`: an http:// proxy for
    every request (a tunnel for the WebSocket); with `trust_env` the HTTP_PROXY,
    HTTPS_PROXY and NO_PROXY variables apply too. `network` gives all of these at
    once, as a NetworkSettings (the other network arguments must then be left out).

    `server_timeout`: how long the server may stay silent; by default 30 s, but
    none over Long Polling, whose polls show the server is alive (as in the
    official clients); a number given here applies to every transport, None waits
    forever. `keepalive_interval=0` sends no pings (Long Polling never does).

    `stream_buffer_limit`: how many received bytes a stream (or an event stream)
    may hold, unread, while other calls are in flight on the connection (an invoke
    inside `async for` over a stream, streams read by different tasks); beyond it
    the stream fails with StreamBufferFullError (EventBufferFullError). With no
    other call in flight it holds a few frames and then slows the server down.

    `handlers`: {target: handler or [handlers]}, registered before the first
    message is read, so nothing the hub sends right after the handshake (from
    OnConnectedAsync, or in the handshake's own frame) is missed; see `Hub.on`.

    `reconnect`: True (the official clients' delays: 0, 2, 10, 30 s) or a
    ReconnectPolicy: when the connection is lost (not by `connect`'s end, a server
    Close without allowReconnect, or a refused authentication), connect again from
    `url`: a new negotiate, a new connection id. Calls in flight fail with the
    loss; handlers and event streams stay. `connect_retries`: retry the first
    connect that many times when it is refused or answered 5xx (not on 401/403
    or a protocol error), with backoff.

    `stateful_reconnect`: ask for ASP.NET Core 8's stateful reconnect: over
    WebSockets, a dropped transport is reopened on the same connection and what
    was not acknowledged is sent again, so calls in flight go on and nothing is
    lost or delivered twice. `stateful_buffer_size`: bytes sent and not yet
    acknowledged beyond which a send waits.
    """
    if protocol not in PROTOCOL_NAMES:
        raise InvalidArgumentError(f"unknown protocol {protocol!r}; use json or messagepack")
    url = check_hub_url(url)
    for name, value in (
        ("handshake_timeout", handshake_timeout),
        ("connect_timeout", connect_timeout),
        ("server_timeout", None if server_timeout is DEFAULT else server_timeout),
    ):
        check_seconds(name, value, zero_allowed=False)
    check_seconds("close_timeout", close_timeout)
    check_seconds("keepalive_interval", keepalive_interval)
    check_count("max_message_size", max_message_size, least=1)
    check_count("stream_buffer_limit", stream_buffer_limit, least=1)
    check_count("stateful_buffer_size", stateful_buffer_size, least=1)
    check_count("connect_retries", connect_retries, least=0)
    wanted = transport_names(transport)
    skip_negotiation = skips_negotiation(url, skip_negotiation, _words(transport))
    hub_protocol = protocol_by_name(protocol)
    pushes = Pushes()
    if handlers:
        pushes.handlers.add_all(handlers)
    if network is None:
        network = _network_settings(
            headers=headers,
            cookies=cookies,
            access_token=access_token,
            token_in_query=token_in_query,
            ssl_context=ssl_context,
            proxy=proxy,
            trust_env=trust_env,
        )
    elif headers or cookies or access_token is not None or ssl_context or proxy is not None:
        raise InvalidArgumentError(
            "give the network settings either as `network` or one by one, not both"
        )
    policy = ReconnectPolicy() if reconnect is True else reconnect or None
    spec = LinkSpec(
        url=url,
        network=network,
        protocol=hub_protocol,
        transports=wanted,
        skip_negotiation=skip_negotiation,
        connect_timeout=connect_timeout,
        handshake_timeout=handshake_timeout,
        keepalive_interval=keepalive_interval,
        server_timeout=(
            None
            if server_timeout is DEFAULT
            else math.inf
            if server_timeout is None
            else float(server_timeout)
        ),
        max_message_size=max_message_size,
        frame_limit=max_message_size or DEFAULT_MAX_MESSAGE_SIZE,
        close_timeout=close_timeout,
        stream_buffer_limit=stream_buffer_limit,
        stateful_reconnect=stateful_reconnect,
        stateful_buffer_size=stateful_buffer_size,
        reconnect=policy,
        connect_retries=connect_retries,
    )
    state = HubParts(pushes=pushes, close_timeout=close_timeout)
    try:
        async with trio.open_nursery() as nursery:
            nursery.start_soon(pushes.run_handlers)
            await nursery.start(keep_linked, state, spec)
            # Read from the next checkpoint on: what the user subscribes to right
            # after `async with` sees the first message too.
            state.opened.set()
            try:
                yield Hub(state, protocol=protocol)
            finally:
                with state.cleanup_scope():
                    await state.close()
                state.end_pushes()
                nursery.cancel_scope.cancel()
    except BaseExceptionGroup as group:
        raise sole_exception(group) from None
