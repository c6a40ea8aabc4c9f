"""One hub connection over any transport: handshake, dispatch loop, timers, Close.

Follows HubConnectionHandler and HubConnectionContext of ASP.NET Core: nothing but
the handshake is read until it arrives (or `handshake_timeout` passes); messages
are parsed with the size limit and dispatched in order; the server pings after
`keepalive` seconds without sending; a client that has pinged once and then stays
silent for `client_timeout` is dropped; the end is always announced with a Close
message before the transport closes.

On a stateful connection (negotiated so, handshake version 2, WebSockets) every
invocation-class message written is kept in a replay buffer until acknowledged
(replay.py), Acks go out on a timer, received ones are numbered so duplicates are
dropped, and a resume gets a Sequence and the replay. While the transport is
gone the hub runs on without noticing, its writes kept only in the buffer.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from functools import partial

import trio

from hubcli.protocol import (
    PING,
    Ack,
    CancelInvocation,
    Close,
    Completion,
    HandshakeError,
    HubMessage,
    HubProtocol,
    IncomingMessage,
    Invocation,
    MessageParser,
    MessageTooLargeError,
    Ping,
    ProtocolError,
    Sequence,
    StreamInvocation,
    StreamItem,
    TransferFormat,
    protocol_by_name,
)
from hubcli.protocol.handshake import HandshakeResponse, encode_response, parse_request
from hubcli.protocol.varint import encode_length

from . import errors
from .asgi import RequestInfo
from .binding import HubMethod
from .chaos import Chaos
from .connections import HttpConnection
from .faults import answer_handshake
from .invocations import Invocations
from .options import ServerOptions, TransportName
from .pipes import BytePipe
from .replay import BlockReplayBuffer, InboundSequence, SequenceAheadError
from .state import HubState
from .users import user_id_for

_LINK_LEVEL = (Ping, Ack, Sequence)

log = logging.getLogger("hubcli.server")

# Both built-in protocols of the current server are at version 2 and accept any
# handshake version up to their own.
SERVER_PROTOCOL_VERSION = 2

HANDSHAKE_CANCELED = "Handshake was canceled."
HANDSHAKE_UNEXPECTED = "An unexpected error occurred during connection handshake."

# What the replay buffer keeps and an Ack counts (HubInvocationMessage).
COUNTED = (Invocation, StreamItem, Completion, StreamInvocation, CancelInvocation)


def parser_limit(protocol: HubProtocol, limit: int | None) -> int | None:
    """The core parser's limit that enforces the server's window rule exactly.

    The real server gives the parser a window of `limit` bytes; a message fits when
    it ends inside it, separator (JSON) or length prefix (MessagePack) included,
    while the core counts only the record or body.
    """
    if limit is None:
        return None
    if protocol.transfer_format is TransferFormat.TEXT:
        return limit - 1
    body = limit - 1
    while body > 0 and body + len(encode_length(body)) > limit:
        body -= 1
    return body


class HubSession:
    """The hub's side of one client connection, from handshake to Close (the
    client's side is hubcli.client.connection.HubConnection)."""

    def __init__(
        self,
        http: HttpConnection,
        options: ServerOptions,
        methods: dict[str, HubMethod],
        state: HubState,
        chaos: Chaos | None = None,
        *,
        identify: Callable[[RequestInfo], str | None] = user_id_for,
    ) -> None:
        self.http = http
        self._identify = identify
        self._options = options
        self._methods = methods
        self._state = state
        self._chaos = chaos
        self._protocol: HubProtocol | None = None
        # Both set once a handshake turns stateful reconnect on.
        self._replay: BlockReplayBuffer | None = None
        self._incoming: InboundSequence | None = None
        self._silenced = False
        self._closing: Close | None = None
        # The hub's nursery scope, while it runs: a close request cancels it at
        # once (no task per connection waiting for the request).
        self._hub_scope: trio.CancelScope | None = None
        self._stop_requested = False
        self._aborted = False
        self._last_sent = trio.current_time()
        self._last_received = trio.current_time()
        self._client_timeout_armed = False
        self._dispatching = False
        # Whether the keepalive task's current deadline includes the client timeout.
        self._deadline_counts_client = False
        self._timers_changed = trio.Event()
        self.user_id: str | None = None
        # What the transport's task read and could not dispatch itself (see
        # _dispatch_in_transport): messages from one that would wait, or an error.
        self._handed_over: list[IncomingMessage] = []
        self._handed_over_error: Exception | None = None
        self._dispatch_over = False

    # ------------------------------------------------------------ ConnectionHandle

    @property
    def connection_id(self) -> str:
        return self.http.connection_id

    @property
    def transport_name(self) -> str:
        return self.http.transport.value if self.http.transport else ""

    @property
    def protocol(self) -> HubProtocol:
        assert self._protocol is not None
        return self._protocol

    @property
    def protocol_name(self) -> str:
        return self.protocol.name

    @property
    def request(self) -> RequestInfo:
        assert self.http.request is not None
        return self.http.request

    def request_close(self, error: str | None, allow_reconnect: bool) -> None:
        if self._closing is None:
            self._closing = Close(error, allow_reconnect)
            if not allow_reconnect:
                # HubConnectionContext.Abort(): a resume is refused from now on.
                self.http.disable_reconnect()
        self._stop_requested = True
        if self._hub_scope is not None:
            self._hub_scope.cancel()

    def drop_transport(self, forget: bool) -> None:
        if self._chaos is None:
            raise errors.HubException("This hub cannot drop transports.")
        self._chaos.drop(self.http, forget)

    # -------------------------------------------------------------------- writing

    def enqueue(self, data: bytes, messages: int = 1) -> bool:
        """Append `data`, holding `messages` invocation-class messages, without
        waiting; False once the connection takes no more."""
        # Writes after the connection was aborted are dropped, as the real server does.
        if self._aborted:
            return False
        self._last_sent = trio.current_time()
        if self._replay is not None and messages:
            self._replay.record(data, messages)
        return self.http.outbound.write_nowait(data)

    @property
    def backlogged(self) -> bool:
        replay = self._replay
        return self.http.outbound.over_threshold or (replay is not None and replay.over_limit)

    async def drained(self) -> None:
        await self.http.outbound.drained()
        if self._replay is not None:
            await self._replay.wait_for_room()

    @property
    def hold_back_limit(self) -> int | None:
        """Stateful: writes wait for the client's Acks past this many bytes."""
        return None if self._replay is None else self._replay.limit

    async def write_bytes(self, data: bytes, messages: int) -> None:
        """Write `data`, holding `messages` invocation-class messages, and wait for
        the transport to take it (and, when stateful, for the client's Acks)."""
        replay = self._replay
        if replay is None or messages == 0:
            if self.enqueue(data, messages):
                await self.http.outbound.drained()
            else:
                await trio.lowlevel.checkpoint()
            return
        start = 0
        while True:
            # The real server checks its buffer before each message; a bulk write
            # is split where that check would have stopped it.
            await replay.wait_for_room()
            end, head_messages = replay.split(data, start, messages)
            head = data if start == 0 and end == len(data) else data[start:end]
            if not self.enqueue(head, head_messages):
                return
            if end >= len(data):
                # The replay limit already bounds what is unacknowledged, so
                # what waits in the transport's pipe; no second wait per piece.
                return
            messages -= head_messages
            start = end
            if start >= len(data):
                return

    async def write_last(self, message: HubMessage) -> None:
        """A task's last write (an invocation's Completion): as write_message, but
        with no schedule point of its own while the transport keeps up, since the
        task ends right after it (a round of the scheduler per call saved)."""
        if self._replay is None:
            outbound = self.http.outbound
            express = outbound.express
            if express is not None and outbound.express_ready and not self._aborted:
                # Straight to the transport from this task: one task less woken
                # per call (the transport's sender), a sixth of an invoke's time.
                self._last_sent = trio.current_time()
                await express(self.protocol.encode(message))
                return
            if self.enqueue(self.protocol.encode(message), 1):
                if outbound.over_threshold:
                    await outbound.drained()
                return
        await self.write_message(message)

    async def write_message(self, message: HubMessage) -> None:
        await self.write_bytes(
            self.protocol.encode(message), 1 if isinstance(message, COUNTED) else 0
        )

    # ------------------------------------------------------------------ lifecycle

    async def run(self) -> None:
        fault = self._options.faults.handshake
        if fault is not None:
            await answer_handshake(fault, self.http.inbound, self.http.outbound)
            return
        handshake = await self._handshake()
        if handshake is None:
            return
        parser, rest = handshake
        log.info(
            "connection %s opened (%s, %s)",
            self.connection_id,
            self.transport_name,
            self.protocol_name,
        )
        # Asked once, after the handshake, as the real server asks IUserIdProvider.
        self.user_id = self._identify(self.request)
        self._state.connected(self)
        try:
            await self._run_hub(parser, rest)
        finally:
            self._state.disconnected(self)
            closing = self._closing or Close()
            log.info(
                "connection %s closed%s",
                self.connection_id,
                f": {closing.error}" if closing.error else "",
            )

    async def _write_handshake_response(self, error: str | None) -> None:
        data = encode_response(HandshakeResponse(error))
        outbound = self.http.outbound
        express = outbound.express
        if express is not None and outbound.express_ready:
            # Out before any message is read: a hub method run in the read loop
            # would otherwise queue its Completion behind it in the pipe, and the
            # two leave in one frame. The real server flushes the answer first.
            await express(data)
            return
        await outbound.write(data)

    async def _handshake(self) -> tuple[MessageParser, bytes] | None:
        """The parser and the bytes after the handshake, or None if it failed."""
        limit = self._options.max_message_size
        buffer = b""
        error: str | None = None
        with trio.move_on_after(self._options.handshake_timeout) as timeout:
            while True:
                data = await self.http.inbound.read()
                if data is None:
                    # Closed before a handshake arrived: nobody to answer.
                    return None
                buffer += data
                over_length = limit is not None and len(buffer) > limit
                window = buffer[:limit] if over_length else buffer
                try:
                    parsed = parse_request(window)
                except HandshakeError as exc:
                    error = errors.build_error_message(
                        HANDSHAKE_UNEXPECTED,
                        errors.InvalidDataException(str(exc)),
                        self._options.detailed_errors,
                    )
                    break
                if parsed is None:
                    if over_length:
                        error = HANDSHAKE_CANCELED
                        break
                    continue
                request, _ = parsed
                rest = buffer[buffer.index(b"\x1e") + 1 :]
                error = self._check_handshake(request.protocol, request.version)
                if error is not None:
                    break
                self.http.active_format = self.protocol.transfer_format
                await self._write_handshake_response(None)
                self._start_stateful_reconnect(request.version)
                # Unknown message types are skipped: "future protocol changes can add
                # message types", as the server's parsers say. (With a size limit set,
                # ASP.NET Core then stops reading that connection; not copied.)
                # Batching: a read's consecutive items of one stream (or sends of one
                # target) come as one message, not an object each. Not on a stateful
                # connection, where every message is numbered on receipt.
                parser = self.protocol.parser(
                    max_message_size=parser_limit(self.protocol, limit),
                    batching=self._incoming is None,
                    ignore_unknown_types=True,
                )
                return parser, rest
        if timeout.cancelled_caught:
            error = HANDSHAKE_CANCELED
        log.info("connection %s handshake failed: %s", self.connection_id, error)
        await self._write_handshake_response(error)
        return None

    def _check_handshake(self, name: str, version: int) -> str | None:
        try:
            # Protocol names match case-insensitively, as the server's resolver does.
            protocol = protocol_by_name(name.lower())
        except KeyError:
            return f"The protocol '{name}' is not supported."
        if version > SERVER_PROTOCOL_VERSION:
            return f"The server does not support version {version} of the '{name}' protocol."
        if protocol.transfer_format not in self.http.supported_formats:
            return (
                f"Cannot use the '{protocol.name}' protocol on the current transport. "
                f"The transport does not support '{protocol.transfer_format.value}' "
                "transfer format."
            )
        self._protocol = protocol
        return None

    def _start_stateful_reconnect(self, version: int) -> None:
        # A version 1 handshake is the real server's DisableReconnect: the
        # connection lives and dies with its transport. Only WebSockets can resume.
        http = self.http
        if not http.stateful or version < 2 or http.transport is not TransportName.WEBSOCKETS:
            return
        self._replay = BlockReplayBuffer(
            self._options.stateful_reconnect_buffer_size, self.protocol.transfer_format
        )
        self._incoming = InboundSequence()
        http.enable_reconnect(self._resend)

    def _resend(self, outbound: BytePipe) -> None:
        assert self._replay is not None
        assert self._incoming is not None
        first_id, replayed = self._replay.replay()
        outbound.write_nowait(self.protocol.encode(Sequence(first_id)) + replayed)
        self._incoming.ack_again()
        log.info(
            "connection %s resumed: replaying from message %d (%d bytes)",
            self.connection_id,
            first_id,
            len(replayed),
        )

    async def _run_hub(self, parser: MessageParser, rest: bytes) -> None:
        async with trio.open_nursery() as nursery:
            invocations = Invocations(self, self._methods, self._state, self._options, nursery)
            if not self.http.has_inherent_keepalive:
                nursery.start_soon(self._keepalive)
            if self._incoming is not None:
                nursery.start_soon(self._send_acks, self._incoming)
            silent_after = self._options.faults.silent_after
            if silent_after is not None and silent_after <= 0:
                # Silent from the handshake on, whatever the scheduler does first:
                # a method that never awaits answers within the read of its call.
                self._go_silent(nursery)
            elif silent_after is not None:
                nursery.start_soon(self._fall_silent, nursery, silent_after)
            drop_every = self._options.faults.drop_every
            if drop_every is not None and self.http.transport is not TransportName.LONG_POLLING:
                nursery.start_soon(self._drop_periodically, drop_every)
            self._hub_scope = nursery.cancel_scope
            if self._stop_requested:
                nursery.cancel_scope.cancel()
            # A server shutdown asks for a graceful end (with reconnect allowed).
            self.http.on_close_request(self._close_on_shutdown)
            try:
                await self._dispatch(parser, rest, invocations)
            except ProtocolError as exc:
                text = (
                    errors.message_too_large(self._options.max_message_size or 0)
                    if isinstance(exc, MessageTooLargeError)
                    else str(exc)
                )
                # The server keeps allowReconnect at its default (true) for errors.
                self.request_close(
                    errors.build_error_message(
                        errors.CONNECTION_CLOSED_WITH_ERROR,
                        errors.InvalidDataException(text),
                        self._options.detailed_errors,
                    ),
                    allow_reconnect=True,
                )
                log.info("connection %s: protocol error: %s", self.connection_id, text)
            except SequenceAheadError as exc:
                self.request_close(
                    errors.build_error_message(
                        errors.CONNECTION_CLOSED_WITH_ERROR, exc, self._options.detailed_errors
                    ),
                    allow_reconnect=True,
                )
                log.info("connection %s: %s", self.connection_id, exc)
            except Exception as exc:
                log.exception("connection %s: error processing messages", self.connection_id)
                self.request_close(
                    errors.build_error_message(
                        errors.CONNECTION_CLOSED_WITH_ERROR, exc, self._options.detailed_errors
                    ),
                    allow_reconnect=True,
                )
            else:
                # The transport ended: the server aborts, which forbids reconnecting.
                self.request_close(None, allow_reconnect=False)
            nursery.cancel_scope.cancel()
        if self._silenced:
            # Read on, so the client is not held up by a full socket, and say nothing.
            while await self.http.inbound.read() is not None:
                pass
            return
        await self._write_close()

    async def _write_close(self) -> None:
        closing = self._closing or Close()
        self._aborted = True
        if self._replay is not None:
            self._replay.close()
        # Appended without waiting: the transport may be gone, and the end of the
        # outbound pipe follows right after.
        self.http.outbound.write_nowait(self.protocol.encode(closing))
        await trio.lowlevel.checkpoint()

    async def _fall_silent(self, nursery: trio.Nursery, after: float) -> None:
        await trio.sleep(after)
        self._go_silent(nursery)

    def _go_silent(self, nursery: trio.Nursery) -> None:
        log.info("connection %s: silent from now on (--fault silent)", self.connection_id)
        self._silenced = True
        self._aborted = True
        if self._replay is not None:
            self._replay.close()
        nursery.cancel_scope.cancel()

    async def _drop_periodically(self, every: float) -> None:
        """--fault drop-transport: cut whichever transport the connection has."""
        while True:
            await trio.sleep(every)
            try:
                self.drop_transport(forget=False)
            except errors.HubException:
                # Between a lost transport and its resume there is nothing to cut.
                log.debug("connection %s: no transport to drop", self.connection_id)

    async def _send_acks(self, incoming: InboundSequence) -> None:
        # A fixed period from the handshake on, as the real server's PeriodicTimer;
        # an Ack is written past the replay buffer and its limit, and does not put
        # off the next ping.
        interval = self._options.ack_interval
        tick = trio.current_time()
        while True:
            tick += interval
            await trio.sleep_until(tick)
            sequence_id = incoming.take_ack()
            if sequence_id is not None and not self._aborted:
                self.http.outbound.write_nowait(self.protocol.encode(Ack(sequence_id)))

    def _close_on_shutdown(self) -> None:
        self.request_close(None, allow_reconnect=True)

    async def _dispatch(self, parser: MessageParser, data: bytes, invocations: Invocations) -> None:
        inbound = self.http.inbound
        inbound.direct = partial(self._dispatch_in_transport, parser, invocations)
        try:
            while True:
                # What the transport handed over came before anything in the pipe:
                # it hands over only while the pipe is empty.
                if self._handed_over:
                    messages, self._handed_over = self._handed_over, []
                    await self._handle(messages, invocations)
                if self._handed_over_error is not None:
                    raise self._handed_over_error
                if data:
                    await self._handle(parser.feed(data), invocations)
                received = await inbound.read()
                if received is None:
                    if parser.buffered:
                        raise ProtocolError("Connection terminated while reading a message.")
                    return
                data = received
        finally:
            inbound.direct = None
            # What the transport's task is dispatching goes no further.
            self._dispatch_over = True

    async def _dispatch_in_transport(
        self, parser: MessageParser, invocations: Invocations, data: bytes
    ) -> None:
        """Dispatch `data` in the transport's read task, while this connection's
        dispatch task waits on an empty pipe: no task to wake per read, a fifth of
        an invoke's server CPU. From the first message that would wait for other
        work (a busy invocation slot, a full upload), the rest goes to the dispatch
        task, so the transport never stops reading for long; an error goes there
        too, to end the hub as it would have."""
        inbound = self.http.inbound
        try:
            messages = parser.feed(data)
            rest = await self._handle(messages, invocations, in_transport=True)
        except Exception as exc:  # handed to the dispatch task whole
            inbound.direct = None
            self._handed_over_error = exc
            inbound.nudge()
            return
        if rest:
            self._handed_over = rest
            inbound.nudge()

    async def _handle(
        self,
        messages: list[IncomingMessage],
        invocations: Invocations,
        *,
        in_transport: bool = False,
    ) -> list[IncomingMessage]:
        """Act on `messages` in order. In the transport's task (`in_transport`), stop
        before one that would wait and return it with those after it."""
        if not messages:
            return []
        self._dispatching = True
        try:
            for index, message in enumerate(messages):
                if in_transport:
                    hub = self._hub_scope
                    if self._dispatch_over or (hub is not None and hub.cancel_called):
                        # The hub is ending: nothing more is dispatched, as the
                        # cancelled dispatch task would dispatch nothing more.
                        return []
                    if not invocations.ready(message) or (
                        # Stateful: a write may wait for Acks, which the read task
                        # must stay free to take in; it keeps only those (and pings).
                        self._replay is not None and not isinstance(message, _LINK_LEVEL)
                    ):
                        return messages[index:]
                if isinstance(message, Ping):
                    self._client_timeout_armed = True
                    self._poke_timers()
                elif isinstance(message, Close):
                    # A client Close is a graceful end without reconnect.
                    self.request_close(None, allow_reconnect=False)
                    await trio.lowlevel.checkpoint()
                elif isinstance(message, Ack):
                    if self._replay is not None:
                        self._replay.ack(message.sequence_id)
                elif isinstance(message, Sequence):
                    if self._incoming is not None:
                        self._incoming.rewind(message.sequence_id)
                elif self._incoming is None or self._incoming.accept():
                    # Everything else is invocation-class, counted by its wire type
                    # before binding; a duplicate is dropped.
                    await invocations.dispatch(message)
        finally:
            self._dispatching = False
        self._last_received = trio.current_time()
        # Receiving only moves the client-timeout deadline later, and the keepalive
        # task re-checks when its deadline comes; waking it for every frame cost an
        # eighth of the server's CPU on an upload. It must wake only if it left the
        # client timeout out (it was armed, but a dispatch was running).
        if self._client_timeout_armed and not self._deadline_counts_client:
            self._poke_timers()
        return []

    def _poke_timers(self) -> None:
        self._timers_changed.set()
        self._timers_changed = trio.Event()

    async def _keepalive(self) -> None:
        keepalive = self._options.keepalive
        client_timeout = self._options.client_timeout
        ping = self.protocol.encode(PING)
        while True:
            now = trio.current_time()
            timing_out = self._client_timeout_armed and not self._dispatching
            if timing_out and now - self._last_received >= client_timeout:
                log.info(
                    "connection %s: client timeout (%gs without a message)",
                    self.connection_id,
                    client_timeout,
                )
                self.request_close(
                    errors.build_error_message(
                        errors.CONNECTION_CLOSED_WITH_ERROR,
                        errors.OperationCanceledException(errors.CLIENT_TIMEOUT),
                        self._options.detailed_errors,
                    ),
                    allow_reconnect=True,
                )
                return
            if now - self._last_sent >= keepalive:
                if self.http.outbound.buffered == 0:
                    await self.write_bytes(ping, 0)
                else:
                    # Data waiting to go out keeps the connection alive already.
                    self._last_sent = now
            deadline = self._last_sent + keepalive
            self._deadline_counts_client = timing_out
            if timing_out:
                deadline = min(deadline, self._last_received + client_timeout)
            changed = self._timers_changed
            with trio.move_on_at(deadline):
                await changed.wait()
