"""The TCP front of `hubcli serve`: it owns the public socket and serves WebSockets.

Per connection it terminates TLS (with --tls-cert; the SSLContext is hypercorn's
own, made from the same Config, so client-CA and ALPN options behave as under
hypercorn) and reads the first request head with h11. A WebSocket upgrade is served
here (transports/native_websockets.py): the hub path, the echo path and every
refusal go through the ASGI app as before, but the frames never cross hypercorn or
ASGI, which cost ~42 us of server CPU per received frame (hypercorn + wsproto) where
the `websockets` sans-IO codec costs ~6 us. Anything else (negotiate, SSE, long
polling, the HTTP API, 404s, malformed requests) is relayed byte for byte to
hypercorn on a loopback port of its own; a relayed connection stays relayed, so
keep-alive and pipelining are hypercorn's business.

hypercorn sees the relay's upstream socket as the client: `asgi(app)` puts the real
client address, server address and scheme back into each relayed request's scope.

The chaos hub (--chaos) cuts connections here: `cut(client)` closes the client's
socket (and its relay's upstream socket) with SO_LINGER 0, so the kernel sends a
reset: the client sees its connection reset, the hub its transport end without a
close frame, exactly as when a client's network goes away.
"""

from __future__ import annotations

import contextlib
import email.utils
import logging
import socket
import ssl
import struct
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from functools import partial
from typing import Any, Final
from urllib.parse import unquote

import h11
import trio

from .asgi import Message, Receive, Scope, Send
from .transports.native_websockets import NativeWebSocket

log = logging.getLogger("hubcli.server")

Asgi = Callable[[Scope, Receive, Send], Awaitable[None]]
Address = tuple[str, int]

RELAY_CHUNK: Final = 256 * 1024
HEAD_CHUNK: Final = 64 * 1024
NATIVE_EXTENSION: Final = "hubcli.native_websocket"
_RESET_ON_CLOSE: Final = struct.pack("ii", 1, 0)
_CLOSE_TIMEOUT: Final = 1.0


def _address(raw: Any) -> Address:
    return (str(raw[0]), int(raw[1]))


def _reset(stream: trio.SocketStream) -> None:
    """Close at once with a reset (RST), dropping whatever is unsent."""
    sock = stream.socket
    if sock.fileno() != -1:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, _RESET_ON_CLOSE)
        # Synchronous: tasks blocked on the socket get ClosedResourceError.
        sock.close()


@dataclass(slots=True)
class _Connection:
    """One accepted TCP connection; `upstream` while it is relayed to hypercorn."""

    tcp: trio.SocketStream
    client: Address
    server: Address
    tls: bool
    upstream: trio.SocketStream | None = None
    cut: bool = False

    def reset(self) -> None:
        self.cut = True
        _reset(self.tcp)
        if self.upstream is not None:
            _reset(self.upstream)


@dataclass(slots=True)
class Settings:
    """What the front needs from the server's options."""

    upstream: Address
    ssl_context: ssl.SSLContext | None = None
    max_frame: int = 16 * 1024 * 1024
    close_timeout: float = _CLOSE_TIMEOUT
    head_timeout: float = 5.0
    handshake_timeout: float = 60.0
    max_head: int = 16 * 1024


def is_websocket_upgrade(request: h11.Request) -> bool:
    if request.method != b"GET":
        return False
    upgrade = connection = False
    for name, value in request.headers:
        tokens = {token.strip().lower() for token in value.split(b",")}
        if name == b"upgrade" and b"websocket" in tokens:
            upgrade = True
        elif name == b"connection" and b"upgrade" in tokens:
            connection = True
    return upgrade and connection


class Front:
    """Accepts where the hub is published; see the module's docstring."""

    def __init__(self) -> None:
        self._connections: dict[Address, _Connection] = {}
        # hypercorn's view of a relayed request's client (the upstream socket's
        # local address) -> the accepted connection it stands for.
        self._relayed: dict[Address, _Connection] = {}
        # One scope per listener (the TLS one and --http-port's plain one).
        self._accepting: list[trio.CancelScope] = []

    def __len__(self) -> int:
        return len(self._connections)

    def origin_of(self, hypercorn_client: Address) -> _Connection | None:
        """The real connection behind the client address hypercorn reports."""
        return self._relayed.get(hypercorn_client)

    def asgi(self, app: Asgi) -> Asgi:
        """`app` with each relayed request's scope telling the real client, server
        and scheme."""

        async def restored(scope: Scope, receive: Receive, send: Send) -> None:
            client = scope.get("client")
            origin = self._relayed.get(_address(client)) if client else None
            if origin is not None:
                scope = dict(scope)
                scope["client"] = origin.client
                scope["server"] = origin.server
                if origin.tls:
                    scope["scheme"] = "wss" if scope.get("type") == "websocket" else "https"
            await app(scope, receive, send)

        return restored

    def cut(self, client: Address | None) -> bool:
        """Reset the TCP connection of `client` (a request's real client address);
        False if the front carries none such."""
        connection = self._connections.get(client) if client is not None else None
        if connection is None:
            return False
        connection.reset()
        return True

    def stop_accepting(self) -> None:
        for accepting in self._accepting:
            accepting.cancel()

    async def serve(
        self,
        host: str,
        port: int,
        app: Asgi,
        settings: Settings,
        *,
        task_status: trio.TaskStatus[Address] = trio.TASK_STATUS_IGNORED,
    ) -> None:
        """Listen on host:port; reports the address bound. Returns once it stopped
        accepting and every connection it took is over."""
        listeners = await trio.open_tcp_listeners(port, host=host)
        bound = listeners[0].socket.getsockname()
        handler = partial(self._handle, app, settings)
        async with trio.open_nursery() as connections:
            with trio.CancelScope() as accepting:
                self._accepting.append(accepting)
                task_status.started(_address(bound))
                await trio.serve_listeners(handler, listeners, handler_nursery=connections)

    async def _handle(self, app: Asgi, settings: Settings, tcp: trio.SocketStream) -> None:
        try:
            client = _address(tcp.socket.getpeername())
            server = _address(tcp.socket.getsockname())
        except OSError:
            await tcp.aclose()
            return
        connection = _Connection(tcp, client, server, settings.ssl_context is not None)
        self._connections[client] = connection
        stream: trio.abc.Stream = tcp
        try:
            if settings.ssl_context is not None:
                stream = trio.SSLStream(
                    tcp, settings.ssl_context, server_side=True, https_compatible=True
                )
                with trio.move_on_after(settings.handshake_timeout) as handshake:
                    await stream.do_handshake()
                if handshake.cancelled_caught:
                    return
            await self._route(app, settings, connection, stream)
        except (trio.BrokenResourceError, trio.ClosedResourceError, ssl.SSLError, OSError):
            pass
        finally:
            del self._connections[client]
            if not connection.cut:
                with (
                    trio.CancelScope(shield=True),
                    trio.move_on_after(_CLOSE_TIMEOUT),
                    contextlib.suppress(trio.BrokenResourceError, trio.ClosedResourceError),
                    contextlib.suppress(OSError),
                ):
                    await stream.aclose()
                if stream is not tcp:
                    await trio.aclose_forcefully(tcp)

    async def _route(
        self, app: Asgi, settings: Settings, connection: _Connection, stream: trio.abc.Stream
    ) -> None:
        parser = h11.Connection(h11.SERVER, max_incomplete_event_size=settings.max_head)
        received = bytearray()
        request: h11.Request | None = None
        with trio.move_on_after(settings.head_timeout):
            while request is None:
                data = bytes(await stream.receive_some(HEAD_CHUNK))
                received += data
                try:
                    parser.receive_data(data)
                    event = parser.next_event()
                except h11.RemoteProtocolError:
                    break  # hypercorn answers a malformed request as it always did
                if isinstance(event, h11.Request):
                    request = event
                elif event is not h11.NEED_DATA or not data:
                    break
        if not received:
            return
        if request is not None and is_websocket_upgrade(request):
            trailing, _ = parser.trailing_data
            await self._websocket(
                app=app,
                settings=settings,
                connection=connection,
                stream=stream,
                parser=parser,
                request=request,
                received=bytes(received),
                trailing=trailing,
            )
        else:
            await self._relay(settings, connection, stream, bytes(received))

    async def _relay(
        self, settings: Settings, connection: _Connection, stream: trio.abc.Stream, head: bytes
    ) -> None:
        try:
            upstream = await trio.open_tcp_stream(*settings.upstream)
        except OSError as exc:
            log.warning("front: cannot reach the HTTP server: %s", exc)
            return
        connection.upstream = upstream
        key = _address(upstream.socket.getsockname())
        self._relayed[key] = connection
        try:
            await upstream.send_all(head)
            async with trio.open_nursery() as nursery:
                nursery.start_soon(_pump_up, stream, upstream)
                await _pump(upstream, stream)
                # hypercorn ended the connection: so does the front.
                nursery.cancel_scope.cancel()
        finally:
            del self._relayed[key]
            if not connection.cut:
                await trio.aclose_forcefully(upstream)

    async def _websocket(
        self,
        *,
        app: Asgi,
        settings: Settings,
        connection: _Connection,
        stream: trio.abc.Stream,
        parser: h11.Connection,
        request: h11.Request,
        received: bytes,
        trailing: bytes,
    ) -> None:
        target = request.target.decode("latin-1")
        head = received[: len(received) - len(trailing)]
        native = NativeWebSocket(stream, head, trailing, settings.max_frame)
        refusal = native.handshake_refusal
        if refusal is not None:
            native.protocol.send_response(refusal)
            await stream.send_all(b"".join(native.protocol.data_to_send()))
            return
        raw_path, _, query = target.partition("?")
        scope: Scope = {
            "type": "websocket",
            "asgi": {"version": "3.0", "spec_version": "2.3"},
            "http_version": "1.1",
            "scheme": "wss" if connection.tls else "ws",
            "path": unquote(raw_path),
            "raw_path": raw_path.encode("latin-1"),
            "query_string": query.encode("latin-1"),
            "root_path": "",
            "headers": [(name.lower(), value) for name, value in request.headers],
            "client": connection.client,
            "server": connection.server,
            "subprotocols": [],
            "extensions": {NATIVE_EXTENSION: native},
        }
        refusal_sender = _Refusal(stream, parser)
        connected = False

        async def receive() -> Message:
            nonlocal connected
            if not connected:
                connected = True
                return {"type": "websocket.connect"}
            await trio.sleep_forever()
            raise AssertionError("unreachable")

        try:
            await app(scope, receive, refusal_sender.send)
        except Exception:
            log.exception("WebSocket request %s failed", raw_path)
            if not native.accepted and not refusal_sender.sent:
                await refusal_sender.respond(500, [], b"")
            return
        if native.accepted:
            await native.finish(settings.close_timeout)
        elif not refusal_sender.sent:
            await refusal_sender.respond(500, [], b"")


class _Refusal:
    """The ASGI `send` of a WebSocket request the app refuses with an HTTP response."""

    def __init__(self, stream: trio.abc.Stream, parser: h11.Connection) -> None:
        self._stream = stream
        self._parser = parser
        self._status = 500
        self._headers: list[tuple[bytes, bytes]] = []
        self._body = bytearray()
        self.sent = False

    async def send(self, message: Message) -> None:
        kind = message["type"]
        if kind == "websocket.http.response.start":
            self._status = int(message["status"])
            self._headers = [(bytes(n), bytes(v)) for n, v in message.get("headers", [])]
        elif kind == "websocket.http.response.body":
            self._body += message.get("body", b"")
            if not message.get("more_body", False):
                await self.respond(self._status, self._headers, bytes(self._body))
        elif kind == "websocket.close":
            # Closed before accepting: the ASGI rule is a 403.
            await self.respond(403, [], b"")
        else:
            raise RuntimeError(f"unexpected ASGI message before accepting: {kind}")

    async def respond(self, status: int, headers: list[tuple[bytes, bytes]], body: bytes) -> None:
        if self.sent:
            return
        self.sent = True
        names = {name.lower() for name, _ in headers}
        extra = [(b"date", email.utils.formatdate(usegmt=True).encode("ascii"))]
        if b"content-length" not in names:
            extra.append((b"content-length", str(len(body)).encode("ascii")))
        extra.append((b"connection", b"close"))
        parser = self._parser
        events: list[h11.Event] = [h11.Response(status_code=status, headers=[*headers, *extra])]
        if body:
            events.append(h11.Data(data=body))
        events.append(h11.EndOfMessage())
        await self._stream.send_all(b"".join(parser.send(event) or b"" for event in events))


async def _pump(source: trio.abc.Stream, sink: trio.abc.Stream) -> None:
    try:
        while data := await source.receive_some(RELAY_CHUNK):
            await sink.send_all(data)
    except (trio.BrokenResourceError, trio.ClosedResourceError):
        pass


async def _pump_up(source: trio.abc.Stream, upstream: trio.SocketStream) -> None:
    """Client to hypercorn; a half-close travels on as one."""
    await _pump(source, upstream)
    with contextlib.suppress(trio.BrokenResourceError, trio.ClosedResourceError):
        await upstream.send_eof()
