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
a failure), `send:METHOD` (written), `stream:METHOD` (one per item, timed from the
item before), and `event:TARGET` for each push of a target subscribed with
`hub.on(TARGET)`, timed from a time in its first argument when there is one
(the benchmark hub's `send(time)`), else 0.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import itertools
import socket
import ssl
import time
from collections.abc import Callable, Iterator, Sequence
from typing import Any, ClassVar, Final
from urllib.parse import urlsplit

import gevent
import httpx
from gevent.event import AsyncResult
from gevent.queue import Queue
from locust import User
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

REQUEST_TYPE: Final = "signalr"
# How often a ping goes out: ASP.NET Core drops a client silent for 30 s.
KEEPALIVE_SECONDS: Final = 15.0
_END: Final = object()


class SignalRError(Exception):
    """The connection failed or ended, or the hub answered with an error."""


class SignalRConnection:
    """One hub connection over a WebSocket, for gevent: blocking calls that yield."""

    def __init__(
        self,
        url: str,
        *,
        protocol: str = "json",
        headers: Sequence[tuple[str, str]] = (),
        timeout: float = 30.0,
    ) -> None:
        self.url = url
        self.protocol = protocol_by_name(protocol)
        self.headers = tuple(headers)
        self.timeout = timeout
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

    # ------------------------------------------------------------ connecting

    def connect(self) -> None:
        with httpx.Client(timeout=self.timeout, headers=list(self.headers)) as http:
            answer = http.post(negotiation.negotiate_url(self.url))
        if answer.status_code != 200:
            raise SignalRError(f"negotiate answered {answer.status_code}")
        negotiated = negotiation.parse_response(answer.content)
        if not isinstance(negotiated, negotiation.NegotiateResponse):
            raise SignalRError("negotiate redirects are not followed here")
        target = negotiation.websocket_url(
            negotiation.connect_url(self.url, negotiated.token_for_connect)
        )
        parts = urlsplit(target)
        secure = parts.scheme == "wss"
        port = parts.port or (443 if secure else 80)
        sock = socket.create_connection((parts.hostname or "", port), timeout=self.timeout)
        if secure:
            sock = ssl.create_default_context().wrap_socket(sock, server_hostname=parts.hostname)
        self._socket = sock
        path = parts.path + (f"?{parts.query}" if parts.query else "")
        self._write(
            self._ws.send(
                Request(
                    host=parts.netloc,
                    target=path or "/",
                    extra_headers=[(k.encode(), v.encode()) for k, v in self.headers],
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
        sock.settimeout(None)
        self._greenlets = [gevent.spawn(self._read, rest), gevent.spawn(self._keepalive)]

    def close(self) -> None:
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

    def invoke(self, method: str, *args: Any) -> Any:
        """Call `method` and wait for its result; SignalRError on a hub error."""
        invocation_id = str(next(self._ids))
        result: AsyncResult[Completion] = AsyncResult()
        self._calls[invocation_id] = result
        try:
            self._send_message(Invocation(method, list(args), invocation_id))
            completion = result.get()
            assert completion is not None  # set only with a Completion
        finally:
            self._calls.pop(invocation_id, None)
        if completion.kind is CompletionKind.ERROR:
            raise SignalRError(completion.error or "the hub reported an error")
        return completion.result

    def send(self, method: str, *args: Any) -> None:
        """Invoke without waiting for an answer."""
        self._send_message(Invocation(method, list(args)))

    def stream(self, method: str, *args: Any) -> Iterator[Any]:
        """The items of a server-to-client stream; leaving early cancels it."""
        invocation_id = str(next(self._ids))
        queue: Queue[Any] = Queue()
        self._streams[invocation_id] = queue
        self._send_message(StreamInvocation(invocation_id, method, list(args)))
        finished = False
        try:
            while True:
                item = queue.get()
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

    def on(self, target: str, handler: Callable[..., None]) -> None:
        """Call `handler(*arguments)` for each push of `target` (any case)."""
        self._handlers.setdefault(target.lower(), []).append(handler)

    # ---------------------------------------------------------------- the wire

    def _write(self, data: bytes) -> None:
        if self._socket is None:
            raise SignalRError("not connected")
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
        except (OSError, SignalRError, ValueError) as error:
            self._fail(error)

    def _keepalive(self) -> None:
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
                for handler in self._handlers.get(message.target.lower(), ()):
                    handler(*message.arguments)
            elif isinstance(message, Close):
                raise SignalRError(f"the server closed the connection: {message.error}")

    def _fail(self, error: BaseException) -> None:
        if self._failure is not None:
            return
        self._failure = error
        for call in self._calls.values():
            call.set_exception(SignalRError(str(error)))
        for stream in self._streams.values():
            stream.put(SignalRError(str(error)))


def sent_at(value: Any) -> float | None:
    """The epoch time in a pushed DateTime (ISO 8601 text), if it is one."""
    if isinstance(value, dt.datetime):
        moment = value
    elif isinstance(value, str):
        try:
            moment = dt.datetime.fromisoformat(value)
        except ValueError:
            return None
    else:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return moment.timestamp()


def utc_now() -> str:
    """Now, as ASP.NET Core's benchmark hub takes a DateTime."""
    now = dt.datetime.now(dt.UTC)
    return now.isoformat(timespec="microseconds").replace("+00:00", "Z")


class LocustHub:
    """A SignalRConnection whose every call, item and push is a Locust request."""

    def __init__(self, connection: SignalRConnection, request: EventHook) -> None:
        self.connection = connection
        # EventHook.fire takes **kwargs, untyped: one typed name for it.
        self._request: Callable[..., None] = request.fire

    def _fire(self, name: str, started: float, error: BaseException | None) -> None:
        self._request(
            request_type=REQUEST_TYPE,
            name=name,
            response_time=(time.perf_counter() - started) * 1000,
            response_length=0,
            exception=error,
            context={},
        )

    def connect(self) -> None:
        started = time.perf_counter()
        error: BaseException | None = None
        try:
            self.connection.connect()
        except (OSError, SignalRError, httpx.HTTPError, ValueError) as failure:
            error = failure
        self._fire("connect", started, error)
        if error is not None:
            raise error

    def invoke(self, method: str, *args: Any) -> Any:
        started = time.perf_counter()
        try:
            result = self.connection.invoke(method, *args)
        except (OSError, SignalRError) as error:
            self._fire(f"invoke:{method}", started, error)
            return None
        self._fire(f"invoke:{method}", started, None)
        return result

    def send(self, method: str, *args: Any) -> None:
        started = time.perf_counter()
        error: BaseException | None = None
        try:
            self.connection.send(method, *args)
        except (OSError, SignalRError) as failure:
            error = failure
        self._fire(f"send:{method}", started, error)

    def stream(self, method: str, *args: Any, count: int | None = None) -> int:
        """Read the stream (its first `count` items); each item is a request."""
        received = 0
        last = time.perf_counter()
        try:
            for _ in self.connection.stream(method, *args):
                self._fire(f"stream:{method}", last, None)
                last = time.perf_counter()
                received += 1
                if count is not None and received >= count:
                    break
        except (OSError, SignalRError) as error:
            self._fire(f"stream:{method}", last, error)
        return received

    def on(self, target: str) -> None:
        """Report each push of `target` as `event:TARGET`."""
        name = f"event:{target}"

        def pushed(*arguments: Any) -> None:
            sent = sent_at(arguments[0]) if arguments else None
            latency = 0.0 if sent is None else max(time.time() - sent, 0.0) * 1000
            self._request(
                request_type=REQUEST_TYPE,
                name=name,
                response_time=latency,
                response_length=0,
                exception=None,
                context={},
            )

        self.connection.on(target, pushed)

    def close(self) -> None:
        self.connection.close()


class SignalRUser(User):
    """A Locust user with one hub connection, `self.hub`, made as it starts.

    `host` is the hub URL (or --host); `protocol` json or messagepack; `headers`
    are sent with negotiate and the WebSocket upgrade.
    """

    abstract = True
    protocol: ClassVar[str] = "json"
    headers: ClassVar[Sequence[tuple[str, str]]] = ()

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        connection = SignalRConnection(
            self.host or "", protocol=self.protocol, headers=self.headers
        )
        self.hub = LocustHub(connection, self.environment.events.request)

    def on_start(self) -> None:
        self.hub.connect()

    def on_stop(self) -> None:
        self.hub.close()
