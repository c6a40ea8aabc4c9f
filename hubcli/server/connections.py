"""HTTP connections: what negotiate creates and every transport request looks up.

Mirrors the real server's HttpConnectionContext and HttpConnectionManager: a
connection is keyed by its token, bound to one transport on first use, activated
by each request that carries it (one at a time), and disposed when its transport
ends, on DELETE, or after `disconnect_timeout` without any request using it.

A stateful connection (negotiated with stateful reconnect, handshake version 2,
WebSockets) outlives a WebSocket that drops: it is detached, its hub runs on, and
a later WebSocket with the same id attaches to it again (resume.py), unless
`disconnect_timeout` passes first.
"""

from __future__ import annotations

import base64
import enum
import logging
import secrets
from collections.abc import Awaitable, Callable

import trio

from hubcli.protocol import TransferFormat

from .asgi import RequestInfo
from .options import TransportName
from .pipes import BytePipe, DiscardingPipe

log = logging.getLogger("hubcli.server")


class Status(enum.Enum):
    INACTIVE = "inactive"
    ACTIVE = "active"
    DISPOSED = "disposed"


class SetTransport(enum.Enum):
    SUCCESS = "success"
    ALREADY_ACTIVE = "already active"
    CANNOT_CHANGE = "cannot change"


def new_connection_id() -> str:
    # 128 random bits, base64url without padding, as the real server makes them.
    return base64.urlsafe_b64encode(secrets.token_bytes(16)).rstrip(b"=").decode("ascii")


Resend = Callable[[BytePipe], None]


class Attachment:
    """One WebSocket request carrying a connection: the output pipe it sends from."""

    def __init__(self, outbound: BytePipe) -> None:
        self.outbound = outbound
        # Set when a newer request for the same connection asked this one to go.
        self.taken_over = False
        self.finished = trio.Event()

    def take_over(self) -> None:
        """Let go of the connection: send what is queued, then a close frame."""
        self.taken_over = True
        self.outbound.complete()


class HttpConnection:
    def __init__(
        self, connection_id: str, token: str, negotiate_version: int, stateful: bool = False
    ) -> None:
        self.connection_id = connection_id
        self.token = token
        self.negotiate_version = negotiate_version
        # Negotiated with stateful reconnect (asked for and allowed); the hub turns
        # resuming on at a version 2 handshake over WebSockets.
        self.stateful = stateful
        self.reconnect_enabled = False
        self._resend: Resend | None = None
        self.attachment: Attachment | None = None
        self.inbound = BytePipe()
        self.outbound = BytePipe()
        self.transport: TransportName | None = None
        self.status = Status.INACTIVE
        self.status_changed = trio.Event()
        self.request: RequestInfo | None = None
        self.supported_formats = {TransferFormat.TEXT, TransferFormat.BINARY}
        self.active_format = TransferFormat.TEXT
        self.application_started = False
        self.application_done = trio.Event()
        # A server shutdown asks the hub for a graceful end: request_close().
        self.close_requested = False
        self._on_close_request: Callable[[], None] | None = None
        # Long polling: the pending poll, so a newer poll or a DELETE can end it.
        self.poll_scope: trio.CancelScope | None = None
        self.poll_done = trio.Event()
        self.poll_done.set()
        self.send_lock = trio.Lock()

    @property
    def has_inherent_keepalive(self) -> bool:
        return self.transport is TransportName.LONG_POLLING

    def set_status(self, status: Status) -> None:
        if self.status is Status.DISPOSED or self.status is status:
            return
        self.status = status
        self.status_changed.set()
        self.status_changed = trio.Event()

    def try_set_transport(self, transport: TransportName) -> SetTransport:
        if self.transport is None:
            self.transport = transport
            return SetTransport.SUCCESS
        if self.transport is not transport:
            return SetTransport.CANNOT_CHANGE
        # Long polling comes back with the same token every poll, WebSockets only
        # to resume a stateful connection.
        if transport is TransportName.LONG_POLLING or self.reconnect_enabled:
            return SetTransport.SUCCESS
        return SetTransport.ALREADY_ACTIVE

    def enable_reconnect(self, resend: Resend) -> None:
        """From now on a dropped WebSocket leaves the connection resumable; a resume
        calls `resend` with the new output pipe before anything else is written."""
        if self.stateful:
            self.reconnect_enabled = True
            self._resend = resend

    def request_close(self) -> None:
        """Ask the hub for a graceful end (server shutdown), now or once it runs."""
        self.close_requested = True
        if self._on_close_request is not None:
            self._on_close_request()

    def on_close_request(self, callback: Callable[[], None]) -> None:
        """Have request_close() call `callback` (at once if it was asked already)."""
        self._on_close_request = callback
        if self.close_requested:
            callback()

    def disable_reconnect(self) -> None:
        self.reconnect_enabled = False

    def resend(self, outbound: BytePipe) -> None:
        assert self._resend is not None, "only a resumable connection resends"
        self._resend(outbound)


Application = Callable[[HttpConnection], Awaitable[None]]


class ConnectionManager:
    """The token -> connection map; runs each connection's hub in the server nursery."""

    def __init__(self, application: Application, disconnect_timeout: float) -> None:
        self._connections: dict[str, HttpConnection] = {}
        self._application = application
        self._disconnect_timeout = disconnect_timeout
        self._nursery: trio.Nursery | None = None

    def attach(self, nursery: trio.Nursery) -> None:
        self._nursery = nursery

    @property
    def nursery(self) -> trio.Nursery:
        if self._nursery is None:
            raise RuntimeError("the hub is not running")
        return self._nursery

    def __len__(self) -> int:
        return len(self._connections)

    def all(self) -> list[HttpConnection]:
        return list(self._connections.values())

    def create(self, negotiate_version: int, stateful: bool = False) -> HttpConnection:
        connection_id = new_connection_id()
        # Before version 1 the id is the token; it is public, so v1 adds a secret one.
        token = new_connection_id() if negotiate_version >= 1 else connection_id
        connection = HttpConnection(connection_id, token, negotiate_version, stateful)
        self._connections[token] = connection
        self.nursery.start_soon(self._watch, connection)
        return connection

    def get(self, token: str) -> HttpConnection | None:
        return self._connections.get(token)

    def start_application(self, connection: HttpConnection) -> None:
        if not connection.application_started:
            connection.application_started = True
            self.nursery.start_soon(self._run_application, connection)

    async def _run_application(self, connection: HttpConnection) -> None:
        try:
            await self._application(connection)
        finally:
            connection.outbound.complete()
            connection.application_done.set()

    def attach_websocket(self, connection: HttpConnection, request: RequestInfo) -> Attachment:
        """Carry the connection over this WebSocket request from now on."""
        if connection.application_started:
            # A resume: a fresh pipe the hub fills with Sequence and its replay
            # before anything else, as the real server's ResendAsync does.
            outbound = BytePipe()
            connection.resend(outbound)
            if connection.application_done.is_set():
                # The hub ended inside the window: the replay, then the close frame.
                outbound.complete()
            connection.outbound = outbound
        attachment = Attachment(connection.outbound)
        connection.attachment = attachment
        connection.request = request
        connection.set_status(Status.ACTIVE)
        return attachment

    def transport_ended(self, connection: HttpConnection, attachment: Attachment) -> None:
        """A WebSocket request is over: keep the connection for a resume if it may
        come back, else dispose of it."""
        try:
            if connection.attachment is not attachment:
                return
            connection.attachment = None
            resumable = (
                connection.reconnect_enabled
                and not connection.application_done.is_set()
                and connection.status is not Status.DISPOSED
            )
            if not resumable:
                self.dispose(connection)
                return
            # The hub writes on, into the replay buffer only, until a resume.
            connection.outbound = DiscardingPipe()
            attachment.outbound.complete()
            connection.set_status(Status.INACTIVE)
            log.info(
                "connection %s: transport lost; resumable for %gs",
                connection.connection_id,
                self._disconnect_timeout,
            )
        finally:
            attachment.finished.set()

    def dispose(self, connection: HttpConnection) -> None:
        """End the connection: its hub sees the end of its input, a pending poll ends."""
        if connection.status is Status.DISPOSED:
            return
        connection.set_status(Status.DISPOSED)
        if self._connections.get(connection.token) is connection:
            del self._connections[connection.token]
        connection.inbound.complete()
        if connection.poll_scope is not None:
            connection.poll_scope.cancel()
        if not connection.application_started:
            connection.outbound.complete()
            connection.application_done.set()

    async def _watch(self, connection: HttpConnection) -> None:
        # The real server scans every second for connections inactive longer than
        # the disconnect timeout: negotiated but never used, or long polling
        # clients that stopped polling. A timer per connection does the same.
        while connection.status is not Status.DISPOSED:
            changed = connection.status_changed
            if connection.status is Status.INACTIVE:
                with trio.move_on_after(self._disconnect_timeout):
                    await changed.wait()
                    continue
                log.info(
                    "connection %s timed out (no request for %gs)",
                    connection.connection_id,
                    self._disconnect_timeout,
                )
                self.dispose(connection)
                return
            await changed.wait()

    async def close_all(self, grace: float) -> None:
        """Ask every hub to send Close and end; dispose what is still open after `grace`."""
        connections = list(self._connections.values())
        for connection in connections:
            connection.request_close()
            if not connection.application_started:
                self.dispose(connection)
        with trio.move_on_after(grace):
            for connection in connections:
                await connection.application_done.wait()
        for connection in connections:
            self.dispose(connection)
