"""The connect endpoint (`<path>`): the real server's HttpConnectionDispatcher.

GET with `Accept: text/event-stream` is Server-Sent Events, a WebSocket upgrade is
WebSockets, any other GET is a long poll; POST carries client data for SSE and long
polling; DELETE ends a long polling connection. Every refusal has the real status
code and text.
"""

from __future__ import annotations

from collections.abc import Iterable

from hubcli.protocol import TransferFormat

from .asgi import TEXT_PLAIN, Receive, RequestInfo, Send, respond
from .connections import ConnectionManager, HttpConnection, SetTransport, Status
from .options import ServerOptions, TransportName
from .resume import claim
from .transports.longpolling import NO_CACHE_HEADERS, serve_poll
from .transports.sse import serve_sse

NO_CONNECTION = b"No Connection with that ID"
ID_REQUIRED = b"Connection ID required"


class ConnectEndpoint:
    def __init__(self, manager: ConnectionManager, options: ServerOptions) -> None:
        self._manager = manager
        self._options = options

    async def handle(self, request: RequestInfo, receive: Receive, send: Send) -> None:
        cookie = self._options.sticky_cookie
        if cookie is not None and request.cookies().get(cookie[0]) != cookie[1]:
            # Without its affinity cookie the request lands on a node that has never
            # heard of the connection.
            await respond(
                send,
                404,
                NO_CONNECTION,
                content_type=TEXT_PLAIN,
                websocket=request.is_websocket,
            )
            return
        if request.is_websocket and self._options.break_websockets:
            await respond(
                send,
                503,
                b"WebSocket upgrades are blocked (--break-websockets)",
                content_type=TEXT_PLAIN,
                websocket=True,
            )
            return
        if request.is_websocket:
            await self._websocket(request, receive, send)
        elif request.method == "POST":
            await self._send(request, receive, send)
        elif request.method in ("GET", "CONNECT"):
            if request.accepts_event_stream():
                await self._server_sent_events(request, receive, send)
            else:
                await self._long_polling(request, receive, send)
        elif request.method == "DELETE":
            await self._delete(request, send)
        else:
            await respond(send, 405, content_type=TEXT_PLAIN)

    async def _get_connection(
        self, request: RequestInfo, send: Send, headers: Iterable[tuple[str, str]] = ()
    ) -> HttpConnection | None:
        token = request.query_value("id")
        if not token:
            await respond(send, 400, ID_REQUIRED, content_type=TEXT_PLAIN, headers=headers)
            return None
        connection = self._manager.get(token)
        if connection is None:
            await respond(send, 404, NO_CONNECTION, content_type=TEXT_PLAIN, headers=headers)
        return connection

    async def _ensure_state(
        self,
        connection: HttpConnection,
        request: RequestInfo,
        send: Send,
        transport: TransportName,
        headers: Iterable[tuple[str, str]] = (),
    ) -> bool:
        websocket = request.is_websocket
        if transport not in self._options.transports:
            text = f"{transport.value} transport not supported by this end point type"
            await respond(
                send,
                404,
                text.encode(),
                content_type=TEXT_PLAIN,
                headers=headers,
                websocket=websocket,
            )
            return False
        outcome = connection.try_set_transport(transport)
        if outcome is SetTransport.ALREADY_ACTIVE:
            await respond(send, 409, content_type=TEXT_PLAIN, headers=headers, websocket=websocket)
            return False
        if outcome is SetTransport.CANNOT_CHANGE:
            await respond(
                send,
                400,
                b"Cannot change transports mid-connection",
                content_type=TEXT_PLAIN,
                headers=headers,
                websocket=websocket,
            )
            return False
        # Long polling keeps the request of its first poll for the hub to look at;
        # a WebSocket becomes the connection's request once it is accepted.
        if transport is TransportName.SERVER_SENT_EVENTS or connection.request is None:
            connection.request = request
        return True

    async def _websocket(self, request: RequestInfo, receive: Receive, send: Send) -> None:
        token = request.query_value("id")
        if not token:
            # Skipped negotiation: the connection is made on the spot.
            connection: HttpConnection | None = self._manager.create(negotiate_version=0)
        else:
            connection = self._manager.get(token)
            if connection is None:
                await respond(send, 404, NO_CONNECTION, websocket=True)
                return
        assert connection is not None
        if not await self._ensure_state(connection, request, send, TransportName.WEBSOCKETS):
            return
        if connection.application_started:
            # Only a resumable connection gets here (the others are already active).
            refusal = await claim(connection)
        elif connection.status is Status.INACTIVE:
            refusal = None
        else:
            refusal = 409 if connection.status is Status.ACTIVE else 404
        if refusal is not None:
            await respond(send, refusal, content_type=TEXT_PLAIN, websocket=True)
            return
        attachment = self._manager.attach_websocket(connection, request)
        # Every WebSocket reaches the hub through the front (front.py), never hypercorn.
        await request.native.serve(
            connection,
            attachment,
            self._manager,
            close_timeout=self._options.websocket_close_timeout,
        )

    async def _server_sent_events(self, request: RequestInfo, receive: Receive, send: Send) -> None:
        connection = await self._get_connection(request, send)
        if connection is None:
            return
        if not await self._ensure_state(
            connection, request, send, TransportName.SERVER_SENT_EVENTS
        ):
            return
        connection.supported_formats = {TransferFormat.TEXT}
        if connection.status is not Status.INACTIVE:
            await respond(
                send, 409 if connection.status is Status.ACTIVE else 404, content_type=TEXT_PLAIN
            )
            return
        connection.set_status(Status.ACTIVE)
        await serve_sse(receive, send, connection, self._manager)

    async def _long_polling(self, request: RequestInfo, receive: Receive, send: Send) -> None:
        connection = await self._get_connection(request, send, NO_CACHE_HEADERS)
        if connection is None:
            return
        if not await self._ensure_state(
            connection, request, send, TransportName.LONG_POLLING, NO_CACHE_HEADERS
        ):
            return
        await serve_poll(receive, send, connection, self._manager, self._options.long_poll_timeout)

    async def _send(self, request: RequestInfo, receive: Receive, send: Send) -> None:
        connection = await self._get_connection(request, send)
        if connection is None:
            return
        if connection.transport is TransportName.WEBSOCKETS:
            await respond(
                send,
                405,
                b"POST requests are not allowed for WebSocket connections.",
                content_type=TEXT_PLAIN,
            )
            return
        # One POST at a time per connection, so bodies never interleave.
        async with connection.send_lock:
            if connection.status is Status.DISPOSED:
                await respond(send, 404, content_type=TEXT_PLAIN)
                return
            while True:
                message = await receive()
                if message["type"] == "http.disconnect":
                    await respond(send, 400, content_type=TEXT_PLAIN)
                    return
                body = message.get("body", b"")
                if body and not await connection.inbound.write(bytes(body)):
                    await respond(send, 404, content_type=TEXT_PLAIN)
                    return
                if not message.get("more_body", False):
                    break
        await respond(send, 200, content_type=TEXT_PLAIN)

    async def _delete(self, request: RequestInfo, send: Send) -> None:
        connection = await self._get_connection(request, send)
        if connection is None:
            return
        if connection.transport is not TransportName.LONG_POLLING:
            await respond(
                send,
                400,
                b"Cannot terminate this connection using the DELETE endpoint.",
                content_type=TEXT_PLAIN,
            )
            return
        self._manager.dispose(connection)
        await respond(send, 202, content_type=TEXT_PLAIN)
