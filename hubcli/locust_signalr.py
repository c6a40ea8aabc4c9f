"""SignalR for Locust: a User whose hub calls, stream items and pushes are Locust
requests, for load beyond one machine (`pip install 'hubcli[locust]'`).

Locust's workers run gevent, not trio, so this is not hubcli's trio client: it is
hubcli's sans-IO protocol core (negotiate, handshake, the JSON and MessagePack
codecs) under another I/O model, on blocking sockets that gevent makes
cooperative, with wsproto for the WebSocket. WebSockets only.

    from locust import task
    from hubcli.locust_signalr import SignalRUser

    class Echo(SignalRUser):
        host = "http://127.0.0.1:5000/hub"

        @task
        def echo(self) -> None:
            self.hub.invoke("Echo", "hello")

What reaches Locust's statistics, request type "signalr": `connect` (negotiate,
WebSocket and handshake), `invoke:METHOD` (until its Completion; a hub error is
a failure carrying the hub's text, and so is no answer in the user's
`call_timeout`, 20 s by default), `send:METHOD` (written), `stream:METHOD` (one
per item, timed from the item before, the first from the invocation; a stream
ending in an error, or whose next item is later than `call_timeout`, is one more
request, a failure, and a late stream is cancelled), `event:TARGET` for each
push of a target subscribed with `hub.on(TARGET)`, timed from a time in its first
argument when there is one (the benchmark hub's `send(time)`), else 0, and
`disconnect`, a failure, for each connection the server or the network ended (a
Close, a reset, nothing heard for `server_timeout`), timed from its connect. The
user's next call connects again. Negotiate redirects (Azure SignalR Service) are
followed.

The protocol is the user class's `protocol`, else the `--signalr-protocol` option
this module adds to Locust's command line (json or messagepack; the master passes
it on to its workers). Server-Sent Events and long polling are not spoken here.

Import this module in a locustfile only: importing locust patches the process for
gevent (threads, sockets), which would break trio in the same process.
"""

from __future__ import annotations

import contextlib
import http.client
import itertools
import socket
import ssl
import time
from collections.abc import Callable, Generator, Iterator, Sequence
from typing import Any, ClassVar, Final
from urllib.parse import urlsplit

import gevent
from gevent.event import AsyncResult
from gevent.lock import Semaphore
from gevent.queue import Empty, Queue
from locust import User, events
from locust.argument_parser import LocustArgumentParser
from locust.event import EventHook
from wsproto import ConnectionType, WSConnection
from wsproto.events import (
    AcceptConnection,
    BytesMessage,
    CloseConnection,
    RejectConnection,
    Request,
    TextMessage,
)
from wsproto.events import (
    Ping as WsPing,
)

from hubcli.protocol import (
    PING,
    CancelInvocation,
    Close,
    Completion,
    CompletionKind,
    HubMessage,
    Invocation,
    StreamInvocation,
    StreamItem,
    TransferFormat,
    protocol_by_name,
)
from hubcli.protocol import handshake as handshakes
from hubcli.protocol import negotiate as negotiation
from hubcli.protocol.datetimes import sent_at
from hubcli.protocol.datetimes import utc_now as utc_now  # noqa: PLC0414 (re-exported for locustfiles)
from hubcli.protocol.errors import HubcliError

REQUEST_TYPE: Final = "signalr"
# As the official clients: a chain of negotiate redirects longer than this is a loop.
_MAX_REDIRECTS: Final = 100
# The official clients' serverTimeout: this long without a frame, the connection is dead.
SERVER_TIMEOUT_SECONDS: Final = 30.0
# How often a ping goes out: ASP.NET Core drops a client silent for 30 s.
KEEPALIVE_SECONDS: Final = 15.0
# How long a call waits for its answer (a stream: for each item), as ghz's --timeout:
# a hub method that hangs on a live connection is a failure, not a user stuck for good.
CALL_TIMEOUT_SECONDS: Final = 20.0
_END: Final = object()


class SignalRError(Exception):
    """The connection failed or ended, or the hub answered with an error."""


# What a failed connect raises: the network, HTTP, the server's answers.
_CONNECT_ERRORS: Final = (
    OSError,
    SignalRError,
    http.client.HTTPException,
    ValueError,
    HubcliError,  # the protocol core's: a negotiate error body, a bad handshake
)


class SignalRConnection:
    """One hub connection over a WebSocket, for gevent: blocking calls that yield."""

    def __init__(
        self,
        url: str,
        *,
        protocol: str = "json",
        headers: Sequence[tuple[str, str]] = (),
        timeout: float = 30.0,
        server_timeout: float = SERVER_TIMEOUT_SECONDS,
        call_timeout: float = CALL_TIMEOUT_SECONDS,
    ) -> None:
        self.url = url
        self.protocol = protocol_by_name(protocol)
        self.headers = tuple(headers)
        self.timeout = timeout
        self.server_timeout = server_timeout
        self.call_timeout = call_timeout
        # Told why, once, when the server or the network ends the connection.
        self.on_lost: Callable[[BaseException], None] | None = None
        self._closing = False
        self._binary = self.protocol.transfer_format is TransferFormat.BINARY
        self._socket: socket.socket | None = None
        self._ws = WSConnection(ConnectionType.CLIENT)
        self._parser = self.protocol.parser()
        self._ids = itertools.count(1)
        self._calls: dict[str, AsyncResult[Completion]] = {}
        self._streams: dict[str, Queue[Any]] = {}
        self._handlers: dict[str, list[Callable[..., None]]] = {}
        self._greenlets: list[gevent.Greenlet[Any, Any]] = []
        self._failure: BaseException | None = None
        self._pending_text = ""
        self._tls_context: ssl.SSLContext | None = None
        self._open = False
        # The keepalive greenlet and the user's both write: a sendall that blocks
        # yields, and another frame must not start inside this one.
        self._writing = Semaphore()

    # ------------------------------------------------------------ connecting

    def connect(self) -> None:
        url, headers = self.url, list(self.headers)
        for _ in range(_MAX_REDIRECTS):
            status, body = self._negotiate(url, headers)
            if status != 200:
                raise SignalRError(f"negotiate answered {status}")
            negotiated = negotiation.parse_response(body)
            if isinstance(negotiated, negotiation.NegotiateResponse):
                break
            # Azure SignalR Service's way: the hub's address, and a token for it.
            url = negotiated.url
            if negotiated.access_token is not None:
                headers = [(k, v) for k, v in headers if k.lower() != "authorization"]
                headers.append(("Authorization", f"Bearer {negotiated.access_token}"))
        else:
            raise SignalRError(f"negotiate redirected more than {_MAX_REDIRECTS} times")
        target = negotiation.websocket_url(
            negotiation.connect_url(url, negotiated.token_for_connect)
        )
        parts = urlsplit(target)
        secure = parts.scheme == "wss"
        port = parts.port or (443 if secure else 80)
        sock = socket.create_connection((parts.hostname or "", port), timeout=self.timeout)
        if secure:
            sock = self._tls().wrap_socket(sock, server_hostname=parts.hostname)
        self._socket = sock
        path = parts.path + (f"?{parts.query}" if parts.query else "")
        self._write(
            self._ws.send(
                Request(
                    host=parts.netloc,
                    target=path or "/",
                    extra_headers=[(k.encode(), v.encode()) for k, v in headers],
                )
            )
        )
        while True:
            event = next(self._events())
            if isinstance(event, AcceptConnection):
                break
            if isinstance(event, RejectConnection):
                raise SignalRError(f"the WebSocket was refused ({event.status_code})")
        request = handshakes.HandshakeRequest(self.protocol.name, self.protocol.version)
        self._send_bytes(handshakes.encode_request(request))
        buffer = b""
        while True:
            buffer += self._next_payload()
            parsed = handshakes.parse_response(buffer)
            if parsed is not None:
                response, rest = parsed
                break
        if not response.ok:
            raise SignalRError(f"handshake refused: {response.error}")
        # No frame for server_timeout (the server pings every 15 s by default) is a
        # dead connection, as the official clients judge it (0: wait forever).
        sock.settimeout(self.server_timeout or None)
        self._greenlets = [gevent.spawn(self._read, rest), gevent.spawn(self._keepalive)]
        self._open = True

    @property
    def usable(self) -> bool:
        """Connected, and neither lost nor closed since."""
        return self._open and self._failure is None

    def reopened(self) -> SignalRConnection:
        """A new connection like this one (not yet connected), its handlers too."""
        again = SignalRConnection(
            self.url,
            protocol=self.protocol.name,
            headers=self.headers,
            timeout=self.timeout,
            server_timeout=self.server_timeout,
            call_timeout=self.call_timeout,
        )
        for target, handlers in self._handlers.items():
            for handler in handlers:
                again.on(target, handler)
        return again

    def _tls(self) -> ssl.SSLContext:
        # Made on first use: loading the system's certificates costs a tenth of a
        # second, too much to spend on every plain-HTTP user that connects.
        if self._tls_context is None:
            self._tls_context = ssl.create_default_context()
        return self._tls_context

    def _negotiate(self, url: str, headers: Sequence[tuple[str, str]]) -> tuple[int, bytes]:
        """POST /negotiate: its status and body.

        The standard library's client, which gevent makes cooperative: an httpx
        Client costs 0.3 s to make (its certificate store), which a user pays on
        every connect.
        """
        parts = urlsplit(negotiation.negotiate_url(url))
        host = parts.hostname or ""
        http_connection = (
            http.client.HTTPSConnection(host, parts.port, timeout=self.timeout, context=self._tls())
            if parts.scheme == "https"
            else http.client.HTTPConnection(host, parts.port, timeout=self.timeout)
        )
        try:
            path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
            http_connection.request("POST", path, body=b"", headers=dict(headers))
            answer = http_connection.getresponse()
            return answer.status, answer.read()
        finally:
            http_connection.close()

    def close(self) -> None:
        self._closing = True
        for greenlet in self._greenlets:
            greenlet.kill(block=False)
        if self._socket is not None:
            # Already gone, or wsproto past closing: nothing to say goodbye to.
            with contextlib.suppress(OSError, ValueError, RuntimeError, SignalRError):
                self._write(self._ws.send(CloseConnection(code=1000)))
            self._socket.close()
            self._socket = None
        self._fail(SignalRError("the connection was closed"))

    # ------------------------------------------------------------------ calls

    def invoke(self, method: str, *args: Any, timeout: float | None = None) -> Any:
        """Call `method` and wait for its result; SignalRError on a hub error,
        or when no answer came in `timeout` seconds (None: `call_timeout`; 0: no
        limit). The connection stays, and the late answer is dropped; the hub
        still runs the call, and as ASP.NET Core runs a connection's invocations
        one at a time by default, the calls after it wait for it there."""
        limit = self.call_timeout if timeout is None else timeout
        invocation_id = str(next(self._ids))
        result: AsyncResult[Completion] = AsyncResult()
        self._calls[invocation_id] = result
        try:
            self._send_message(Invocation(method, list(args), invocation_id))
            try:
                completion = result.get(timeout=limit or None)
            except gevent.Timeout:
                raise SignalRError(f"no answer in {limit:g} s") from None
            assert completion is not None  # set only with a Completion
        finally:
            self._calls.pop(invocation_id, None)
        if completion.kind is CompletionKind.ERROR:
            raise SignalRError(completion.error or "the hub reported an error")
        return completion.result

    def send(self, method: str, *args: Any) -> None:
        """Invoke without waiting for an answer."""
        self._send_message(Invocation(method, list(args)))

    def stream(
        self, method: str, *args: Any, timeout: float | None = None
    ) -> Generator[Any, None, None]:
        """The items of a server-to-client stream; leaving early cancels it, as
        does waiting more than `timeout` seconds for an item (SignalRError; None:
        `call_timeout`; 0: no limit)."""
        limit = self.call_timeout if timeout is None else timeout
        invocation_id = str(next(self._ids))
        queue: Queue[Any] = Queue()
        self._streams[invocation_id] = queue
        self._send_message(StreamInvocation(invocation_id, method, list(args)))
        finished = False
        try:
            while True:
                try:
                    item = queue.get(timeout=limit or None)
                except Empty:
                    raise SignalRError(f"no stream item in {limit:g} s") from None
                if item is _END:
                    finished = True
                    return
                if isinstance(item, BaseException):
                    finished = True
                    raise item
                yield item
        finally:
            self._streams.pop(invocation_id, None)
            if not finished and self._failure is None:
                self._send_message(CancelInvocation(invocation_id))

    def on(self, target: str, handler: Callable[..., Any]) -> None:
        """Call `handler(*arguments)` for each push of `target` (any case).

        When the hub asks for a result (an Invocation with an id), the first
        handler's return value is the answer, and its exception an error answer.
        """
        self._handlers.setdefault(target.lower(), []).append(handler)

    # ---------------------------------------------------------------- the wire

    def _write(self, data: bytes) -> None:
        if self._socket is None:
            raise SignalRError("not connected")
        with self._writing:
            self._socket.sendall(data)

    def _send_bytes(self, data: bytes) -> None:
        message = BytesMessage(data=data) if self._binary else TextMessage(data.decode("utf-8"))
        self._write(self._ws.send(message))

    def _send_message(self, message: HubMessage) -> None:
        if self._failure is not None:
            raise SignalRError(str(self._failure))
        self._send_bytes(self.protocol.encode(message))

    def _events(self) -> Iterator[Any]:
        """wsproto's events; what it already holds first, then from the socket."""
        assert self._socket is not None
        while True:
            for event in self._ws.events():
                if isinstance(event, WsPing):
                    self._write(self._ws.send(event.response()))
                    continue
                yield event
            data = self._socket.recv(65536)
            if not data:
                raise SignalRError("the server closed the connection")
            self._ws.receive_data(data)

    def _next_payload(self) -> bytes:
        for event in self._events():
            if isinstance(event, TextMessage):
                self._pending_text += event.data
                if event.message_finished:
                    text, self._pending_text = self._pending_text, ""
                    return text.encode("utf-8")
            elif isinstance(event, BytesMessage):
                return bytes(event.data)
            elif isinstance(event, CloseConnection):
                raise SignalRError(f"the server closed the WebSocket ({event.code})")
        raise SignalRError("the server closed the connection")

    def _read(self, rest: bytes) -> None:
        try:
            if rest:
                self._dispatch(self._parser.feed(rest))
            while True:
                self._dispatch(self._parser.feed(self._next_payload()))
        except TimeoutError:
            self._fail(SignalRError(f"no message from the server in {self.server_timeout} s"))
        except (OSError, SignalRError, ValueError, HubcliError) as error:
            # A frame the codec cannot read ends the connection, as the official
            # clients do: the calls waiting on it fail instead of waiting forever.
            self._fail(error)

    def _keepalive(self) -> None:
        # Ends with the connection, quietly: the calls after it report the failure.
        with contextlib.suppress(OSError, SignalRError):
            while True:
                gevent.sleep(KEEPALIVE_SECONDS)
                self._send_message(PING)

    def _dispatch(self, messages: Sequence[Any]) -> None:
        for message in messages:
            if isinstance(message, Completion):
                call = self._calls.get(message.invocation_id)
                if call is not None:
                    call.set(message)
                stream = self._streams.get(message.invocation_id)
                if stream is not None:
                    failed = message.kind is CompletionKind.ERROR
                    stream.put(SignalRError(message.error or "") if failed else _END)
            elif isinstance(message, StreamItem):
                stream = self._streams.get(message.invocation_id)
                if stream is not None:
                    stream.put(message.item)
            elif isinstance(message, Invocation):
                self._invoked(message)
            elif isinstance(message, Close):
                reason = f": {message.error}" if message.error else ""
                raise SignalRError(f"the server closed the connection{reason}")

    def _invoked(self, message: Invocation) -> None:
        """A push, or a client result request: run the handlers, answer if asked."""
        handlers = self._handlers.get(message.target.lower(), [])
        error: str | None = f"the client has no handler for {message.target}"
        result: Any = None
        for index, handler in enumerate(handlers):
            try:
                value = handler(*message.arguments)
            except Exception as failure:  # the user's handler: its error is the answer
                if index == 0:
                    error = f"the client's handler raised {failure!r}"
            else:
                if index == 0:
                    result, error = value, None
        invocation_id = message.invocation_id
        if invocation_id is not None:
            # Sent from the reader, so answers go out in the order they were asked.
            self._send_message(
                Completion.with_result(invocation_id, result)
                if error is None
                else Completion.with_error(invocation_id, error)
            )

    def _fail(self, error: BaseException) -> None:
        if self._failure is not None:
            return
        self._failure = error
        if self._open and not self._closing and self.on_lost is not None:
            self.on_lost(error)
        for call in self._calls.values():
            call.set_exception(SignalRError(str(error)))
        for stream in self._streams.values():
            stream.put(SignalRError(str(error)))


def _let_a_stop_in() -> None:
    """Yield once before a call goes out, so a stop already on its way lands here.

    Locust stops a user that is waiting between tasks by killing its greenlet, and
    gevent delivers a kill later, from its loop: a user whose wait ended meanwhile
    has started its next task, and the kill would land in the middle of a call the
    server then counts but Locust never reports. The kill was queued before this
    yield's turn, so it arrives here, before anything is sent.
    """
    gevent.sleep(0)


class LocustHub:
    """A SignalRConnection whose every call, item and push is a Locust request.

    A connection that failed to open or was lost (its calls in flight fail with
    the reason) is made again by the next call, a `connect` request of its own,
    with the same `on` handlers; after `close` nothing is connected again.
    """

    def __init__(self, connection: SignalRConnection, request: EventHook) -> None:
        self.connection = connection
        # EventHook.fire takes **kwargs, untyped: one typed name for it.
        self._request: Callable[..., None] = request.fire
        self._closed = False
        self._connected_at = time.perf_counter()

    def _fire(self, name: str, started: float, error: BaseException | None) -> None:
        self._request(
            request_type=REQUEST_TYPE,
            name=name,
            response_time=(time.perf_counter() - started) * 1000,
            response_length=0,
            exception=error,
            context={},
        )

    def _lost(self, reason: BaseException) -> None:
        # Every connection the server or the network ended, whether or not a call
        # was waiting on it: a failure, timed from the connect.
        self._fire("disconnect", self._connected_at, reason)

    def _ready(self) -> bool:
        """Connected, connecting again first if need be; False if that failed."""
        if self.connection.usable or self._closed:
            return True  # after close: the call fails, saying so
        self.connection.close()
        self.connection = self.connection.reopened()
        try:
            self.connect()
        except _CONNECT_ERRORS:
            return False  # reported as a failed connect; the call is not made
        return True

    def connect(self) -> None:
        started = time.perf_counter()
        error: BaseException | None = None
        self.connection.on_lost = self._lost
        try:
            self.connection.connect()
        except _CONNECT_ERRORS as failure:
            error = failure
        self._fire("connect", started, error)
        self._connected_at = time.perf_counter()
        if error is not None:
            raise error

    def invoke(self, method: str, *args: Any, timeout: float | None = None) -> Any:
        """Call `method`, its result (None when it failed: reported to Locust).
        `timeout`: seconds to wait for the answer (None: the user's call_timeout)."""
        _let_a_stop_in()
        if not self._ready():
            return None
        started = time.perf_counter()
        try:
            result = self.connection.invoke(method, *args, timeout=timeout)
        except (OSError, SignalRError) as error:
            self._fire(f"invoke:{method}", started, error)
            return None
        self._fire(f"invoke:{method}", started, None)
        return result

    def send(self, method: str, *args: Any) -> None:
        _let_a_stop_in()
        if not self._ready():
            return
        started = time.perf_counter()
        error: BaseException | None = None
        try:
            self.connection.send(method, *args)
        except (OSError, SignalRError) as failure:
            error = failure
        self._fire(f"send:{method}", started, error)

    def stream(
        self, method: str, *args: Any, count: int | None = None, timeout: float | None = None
    ) -> Iterator[Any]:
        """The stream's items (its first `count`), each reported as it arrives.

        A generator: nothing is invoked until it is iterated. Leaving it early (or
        after `count` items, or waiting longer than `timeout` for one: None, the
        user's call_timeout) cancels the stream on the server.
        """
        name = f"stream:{method}"
        _let_a_stop_in()
        if not self._ready():
            return
        received = 0
        last = time.perf_counter()
        items = self.connection.stream(method, *args, timeout=timeout)
        try:
            for item in items:
                self._fire(name, last, None)
                last = time.perf_counter()
                received += 1
                yield item
                if count is not None and received >= count:
                    return
        except (OSError, SignalRError) as error:
            self._fire(name, last, error)
        finally:
            items.close()

    def read_stream(
        self, method: str, *args: Any, count: int | None = None, timeout: float | None = None
    ) -> int:
        """Read the stream (its first `count` items) for the load alone: how many came."""
        return sum(1 for _ in self.stream(method, *args, count=count, timeout=timeout))

    def on(self, target: str, handler: Callable[..., Any] | None = None) -> None:
        """Report each push of `target` as `event:TARGET`, then call `handler(*args)`.

        A handler that raises makes that push a failure, with the handler's error.
        When the hub asks for a result (a client result), the handler's return value
        is the answer, its error an error answer.
        """
        name = f"event:{target}"

        def pushed(*arguments: Any) -> Any:
            sent = sent_at(arguments[0]) if arguments else None
            latency = 0.0 if sent is None else max(time.time() - sent, 0.0) * 1000
            error: Exception | None = None
            result: Any = None
            if handler is not None:
                try:
                    result = handler(*arguments)
                except Exception as failure:  # the user's code: any error is its report
                    error = failure
            self._request(
                request_type=REQUEST_TYPE,
                name=name,
                response_time=latency,
                response_length=0,
                exception=error,
                context={},
            )
            if error is not None:
                raise error
            return result

        self.connection.on(target, pushed)

    def close(self) -> None:
        self._closed = True
        self.connection.close()


class SignalRUser(User):
    """A Locust user with one hub connection, `self.hub`, made as it starts.

    `host` is the hub URL (or --host); `protocol` json or messagepack (None: the
    --signalr-protocol option, json by default); `headers` are sent with negotiate
    and the WebSocket upgrade; `server_timeout`: seconds without a frame from the
    server after which the connection is dead (0: never); `call_timeout`: seconds
    an invoke waits for its answer, and a stream for each item, before it fails
    (0: no limit).
    """

    abstract = True
    protocol: ClassVar[str | None] = None
    headers: ClassVar[Sequence[tuple[str, str]]] = ()
    server_timeout: ClassVar[float] = SERVER_TIMEOUT_SECONDS
    call_timeout: ClassVar[float] = CALL_TIMEOUT_SECONDS

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        options = self.environment.parsed_options
        protocol = self.protocol or getattr(options, "signalr_protocol", None) or "json"
        connection = SignalRConnection(
            self.host or "",
            protocol=protocol,
            headers=self.headers,
            server_timeout=self.server_timeout,
            call_timeout=self.call_timeout,
        )
        self.hub = LocustHub(connection, self.environment.events.request)

    def on_start(self) -> None:
        # A failed connect is a failure in the statistics; the first call tries again.
        with contextlib.suppress(*_CONNECT_ERRORS):
            self.hub.connect()

    def on_stop(self) -> None:
        self.hub.close()


def _options(parser: LocustArgumentParser) -> None:
    # Locust's way for a locustfile to add options: the master sends them to its workers.
    parser.add_argument(
        "--signalr-protocol",
        choices=("json", "messagepack"),
        default="json",
        help="The SignalR hub protocol of SignalRUser classes that name none (hubcli).",
    )


def _clock_now(**_: Any) -> None:
    # gevent's loop reads the clock once per turn, and Locust's start-up (loading
    # the locustfile, making the environment) runs without turning it: on a busy
    # machine its clock is seconds behind when --run-time's timer is set, which
    # then ends the run that much early (a 2 s run ended after 30 ms here).
    gevent.get_hub().loop.update_now()


# EventHook.add_listener is untyped: typed names for it, as with fire.
_add_option_listener: Callable[[Callable[[LocustArgumentParser], None]], object] = (
    events.init_command_line_parser.add_listener
)
_add_init_listener: Callable[[Callable[..., None]], object] = events.init.add_listener
_add_option_listener(_options)
_add_init_listener(_clock_now)
