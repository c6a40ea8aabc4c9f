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
from collections.abc import AsyncIterator, Iterator, Mapping, Sequence
from contextlib import (
    AbstractAsyncContextManager,
    AsyncExitStack,
    asynccontextmanager,
    contextmanager,
)
from types import TracebackType
from typing import Any, Final
from urllib.parse import urlsplit

import trio

from hubcli._defaults import (
    DEFAULT_CLOSE_TIMEOUT_SECONDS,
    DEFAULT_KEEPALIVE_SECONDS,
    DEFAULT_MAX_MESSAGE_SIZE,
    DEFAULT_SERVER_TIMEOUT_SECONDS,
)
from hubcli._groups import sole_exception
from hubcli.protocol import PROTOCOL_NAMES, protocol_by_name
from hubcli.protocol.base import HubProtocol, TransferFormat
from hubcli.protocol.messages import Completion, CompletionKind
from hubcli.protocol.negotiate import nameable_host, wire_url

from .connection import DEFAULT_STREAM_BUFFER_LIMIT, Call, HubConnection, perform_handshake
from .errors import AuthenticationError, ConnectError, ConnectTimeoutError, HubError, TlsError
from .negotiation import NO_COMMON_TRANSPORT, negotiate, usable_transports
from .network import (
    AccessToken,
    HttpState,
    NetworkSettings,
    check_proxy_url,
    environment_proxies,
    parse_cookie_string,
)
from .pushes import EventStream, Handler, HandlerSpec, Pushes, Registration
from .transports import LONG_POLLING, SERVER_SENT_EVENTS, WEBSOCKETS, Transport, open_transport

logger: Final = logging.getLogger("hubcli")

# What a user may name, and the transports (as negotiate spells them) each allows.
TRANSPORT_CHOICES: Final[dict[str, tuple[str, ...]]] = {
    "auto": (WEBSOCKETS, SERVER_SENT_EVENTS, LONG_POLLING),
    "websockets": (WEBSOCKETS,),
    "sse": (SERVER_SENT_EVENTS,),
    "serversentevents": (SERVER_SENT_EVENTS,),
    "longpolling": (LONG_POLLING,),
}
SKIP_NEGOTIATION_ERROR: Final = (
    "Negotiation can only be skipped when using the WebSocket transport directly."
)


class Default(enum.Enum):
    """The type of `DEFAULT`, a server timeout left to hubcli to choose."""

    TIMEOUT = "default"


DEFAULT: Final = Default.TIMEOUT


def _words(choice: str | Sequence[str]) -> set[str]:
    parts = [choice] if isinstance(choice, str) else list(choice)
    return {word.strip().lower() for part in parts for word in part.split(",") if word.strip()}


def transport_names(choice: str | Sequence[str]) -> tuple[str, ...]:
    """The transports a choice allows: "auto", a name, a comma list, or a sequence.

    ValueError for an unknown name.
    """
    parts = [choice] if isinstance(choice, str) else list(choice)
    names: list[str] = []
    for part in parts:
        for word in part.split(","):
            key = word.strip().lower()
            if not key:
                continue
            if key not in TRANSPORT_CHOICES:
                raise ValueError(
                    f"unknown transport {word.strip()!r}; use auto, websockets, sse or longpolling"
                )
            names.extend(name for name in TRANSPORT_CHOICES[key] if name not in names)
    if not names:
        raise ValueError("no transport given; use auto, websockets, sse or longpolling")
    return tuple(names)


class Hub:
    """A connected hub. Made by `connect`; valid inside its `async with` block."""

    def __init__(
        self,
        connection: HubConnection,
        *,
        transport: str,
        connection_id: str | None,
        protocol: str,
        close_timeout: float,
        pushes: Pushes,
    ) -> None:
        self._connection = connection
        self._pushes = pushes
        self._close_timeout = close_timeout
        self._cleanup_scopes: set[trio.CancelScope] = set()
        self._aborted = False
        self.connection_id = connection_id
        self.transport = transport  # as negotiate spells it: WebSockets, ServerSentEvents, ...
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
        await self._wait_for(call)
        return call.outcome(hub_errors_raise=False)

    async def send(self, method: str, *args: Any) -> None:
        """Invoke without waiting for (or getting) an answer.

        Returns once the message is written, and any uploads among `args` are sent.
        """
        call = await self._connection.begin(method, args, streaming=False, expect_result=False)
        await self._wait_for(call)
        call.outcome()

    async def _wait_for(self, call: Call) -> None:
        """Wait for `call` to end; if we are cancelled first, cancel it (its uploads)."""
        try:
            await call.done.wait()
        except BaseException:
            with self.cleanup_scope():
                await self._connection.cancel(call, self._close_timeout)
            raise

    def stream(self, method: str, *args: Any) -> StreamCall:
        """A server-to-client stream: iterate it for items, or `batches()` for frames."""
        return StreamCall(self, method, args)

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
        return self._pushes.handlers.add(target, handler)

    def off(self, target: str, handler: Handler | None = None) -> None:
        """Remove `handler` from `target`, or every handler of `target`."""
        self._pushes.handlers.remove(target, handler)

    def events(self, *targets: str) -> EventStream:
        """The hub's invocations of `targets` (of every target if none is named), as
        `Event`s in arrival order, from now on: `async for event in hub.events(...)`.

        Subscribed when called, so nothing arriving after is missed. Backpressure
        is a stream's: a slow reader slows the socket while no other call is in
        flight; with calls in flight it may hold up to `stream_buffer_limit` bytes,
        beyond which it ends with EventBufferFullError. Client-result requests
        appear too (with their `invocation_id`); handlers answer them.
        """
        return self._pushes.subscribe(targets)

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
    """A stream in flight. Starts on `async with` or on the first item asked for.

    Leaving `async with` (a `break` included) or calling `aclose()` cancels a
    stream that has not ended, there and then. One dropped unfinished without
    either is cancelled only once it is garbage collected and its next frame
    arrives.
    """

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


def _all_failed(failures: list[tuple[str, ConnectError]]) -> ConnectError:
    if len(failures) == 1:
        return failures[0][1]
    details = " ".join(f"{name} failed: {str(error).rstrip('.')}." for name, error in failures)
    message = f"Unable to connect to the server with any of the available transports. {details}"
    errors = [error for _, error in failures]
    if all(isinstance(error, AuthenticationError) for error in errors):
        first = errors[0]
        assert isinstance(first, AuthenticationError)
        return AuthenticationError(message, first.status_code)
    if all(isinstance(error, TlsError) for error in errors):
        return TlsError(message)
    return ConnectError(message)


async def _start_transport(
    url: str,
    *,
    http: HttpState,
    hub_protocol: HubProtocol,
    wanted: Sequence[str],
    skip_negotiation: bool,
    stack: AsyncExitStack,
    max_message_size: int,
    close_timeout: float,
) -> tuple[Transport, str | None]:
    """Negotiate and start the first transport that works; (transport, connection id).

    A transport that fails to start has burnt its connection token, so the next
    one is tried on a fresh negotiate, as the official clients do.
    """
    binary = hub_protocol.transfer_format is TransferFormat.BINARY

    def opener(name: str, connect_url: str) -> AbstractAsyncContextManager[Transport]:
        return open_transport(
            name,
            connect_url,
            http=http,
            binary=binary,
            max_message_size=max_message_size,
            close_timeout=close_timeout,
        )

    if skip_negotiation:
        await http.refresh_token()
        logger.info("transport: WebSockets (negotiation skipped)")
        transport: Transport = await stack.enter_async_context(opener(WEBSOCKETS, url))
        return transport, None
    negotiation = await negotiate(url, http)
    candidates = usable_transports(negotiation.response, wanted, hub_protocol.transfer_format)
    if not candidates:
        raise ConnectError(NO_COMMON_TRANSPORT)
    failures: list[tuple[str, ConnectError]] = []
    current = negotiation
    for index, name in enumerate(candidates):
        if index > 0:
            logger.info("negotiating again to try %s", name)
            current = await negotiate(negotiation.url, http)
        logger.info("transport: trying %s", name)
        try:
            transport = await stack.enter_async_context(opener(name, current.connect_url))
        except ConnectError as error:
            logger.info("transport: %s failed: %s", name, error)
            failures.append((name, error))
            continue
        return transport, current.response.connection_id
    raise _all_failed(failures)


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
    handshake_timeout: float = 15.0,
    keepalive_interval: float = DEFAULT_KEEPALIVE_SECONDS,
    server_timeout: float | Default | None = DEFAULT,
    max_message_size: int | None = DEFAULT_MAX_MESSAGE_SIZE,
    close_timeout: float = DEFAULT_CLOSE_TIMEOUT_SECONDS,
    stream_buffer_limit: int = DEFAULT_STREAM_BUFFER_LIMIT,
    handlers: HandlerSpec | None = None,
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
    """
    if protocol not in PROTOCOL_NAMES:
        raise ValueError(f"unknown protocol {protocol!r}; use json or messagepack")
    host = urlsplit(url).hostname
    if host is not None and not nameable_host(host):
        raise ValueError(
            f"invalid hub URL {url!r}: the host has an empty label or one over 63 characters"
        )
    try:
        url = wire_url(url)
    except ValueError as error:
        raise ValueError(f"invalid hub URL {url!r}: {error}") from None
    wanted = transport_names(transport)
    if skip_negotiation and not _words(transport) <= {"auto", "websockets"}:
        raise ValueError(SKIP_NEGOTIATION_ERROR)
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
        raise ValueError("give the network settings either as `network` or one by one, not both")
    http = HttpState(network, url)
    deadline = math.inf if connect_timeout is None else trio.current_time() + connect_timeout
    connected = False
    with trio.CancelScope(deadline=deadline) as connecting:
        async with AsyncExitStack() as stack:
            hub_transport, connection_id = await _start_transport(
                url,
                http=http,
                hub_protocol=hub_protocol,
                wanted=wanted,
                skip_negotiation=skip_negotiation,
                stack=stack,
                max_message_size=max_message_size or DEFAULT_MAX_MESSAGE_SIZE,
                close_timeout=close_timeout,
            )
            received = await perform_handshake(hub_transport, hub_protocol, handshake_timeout)
            connecting.deadline = math.inf
            connected = True
            inherent = hub_transport.inherent_keepalive
            if server_timeout is DEFAULT:
                silence = math.inf if inherent else DEFAULT_SERVER_TIMEOUT_SECONDS
            else:
                silence = math.inf if server_timeout is None else server_timeout
            connection = HubConnection(
                hub_transport,
                hub_protocol,
                keepalive_interval=0 if inherent else keepalive_interval,
                server_timeout=silence,
                max_message_size=max_message_size,
                stream_buffer_limit=stream_buffer_limit,
                pushes=pushes,
            )
            hub = Hub(
                connection,
                transport=hub_transport.name,
                connection_id=connection_id,
                protocol=protocol,
                close_timeout=close_timeout,
                pushes=pushes,
            )
            try:
                async with trio.open_nursery() as nursery:
                    connection.start(nursery, received)
                    nursery.start_soon(pushes.run_handlers)
                    try:
                        yield hub
                    finally:
                        with hub.cleanup_scope():
                            await connection.close()
                        nursery.cancel_scope.cancel()
            except BaseExceptionGroup as group:
                raise sole_exception(group) from None
    if connecting.cancelled_caught and not connected:
        raise ConnectTimeoutError(
            f"Could not connect within {connect_timeout:g} s (--connect-timeout)."
        )
