"""Links: one negotiated hub connection each, and the task that keeps a hub linked.

A link is negotiate, a transport, the handshake and a running HubConnection, from
the original URL with the user's credentials (a redirect's token is never reused).
`keep_linked` opens the first link (retrying refused connections and 5xx answers
`connect_retries` times), then, when a link ends, opens the next one as the
reconnect policy says: not after the user's own close, a server Close without
allowReconnect, or a refused authentication (401/403: hubcli stops at once where
the official clients keep retrying a token that will not get better). Calls in
flight when a link ends fail with it; nothing is invoked again on the next link.
Handlers and event streams belong to the hub and live on across links; event
streams that asked for lifecycle records get Reconnecting and Reconnected.
"""

from __future__ import annotations

import logging
import math
from collections.abc import AsyncIterator, Sequence
from contextlib import AbstractAsyncContextManager, AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final

import trio

from hubcli._defaults import DEFAULT_SERVER_TIMEOUT_SECONDS
from hubcli.protocol.base import HubProtocol, TransferFormat
from hubcli.protocol.stateful import DEFAULT_BUFFER_SIZE

from .connection import HubConnection, perform_handshake
from .errors import (
    AuthenticationError,
    ConnectError,
    ConnectionClosedError,
    ConnectTimeoutError,
    HubcliError,
    ReconnectFailedError,
    ServerTimeoutError,
    TlsError,
)
from .negotiation import NO_COMMON_TRANSPORT, negotiate, usable_transports
from .network import HttpState, NetworkSettings
from .pushes import Pushes, Reconnected, Reconnecting
from .reconnect import ReconnectPolicy, retry_delay
from .resume import Resumption
from .transports import WEBSOCKETS, Transport, open_transport

if TYPE_CHECKING:
    from .hubparts import HubParts

logger: Final = logging.getLogger("hubcli")

STATEFUL_HANDSHAKE_VERSION: Final = 2


@dataclass(frozen=True)
class LinkSpec:
    """How to open a link: everything `connect` was given."""

    url: str
    network: NetworkSettings
    protocol: HubProtocol
    transports: tuple[str, ...]
    skip_negotiation: bool
    connect_timeout: float | None
    handshake_timeout: float
    keepalive_interval: float
    # None: hubcli's default (30 s, none over Long Polling); math.inf: never.
    server_timeout: float | None
    max_message_size: int | None
    frame_limit: int
    close_timeout: float
    stream_buffer_limit: int
    stateful_reconnect: bool = False
    stateful_buffer_size: int = DEFAULT_BUFFER_SIZE
    reconnect: ReconnectPolicy | None = None
    connect_retries: int = 0


@dataclass(frozen=True)
class Link:
    connection: HubConnection
    transport: str
    connection_id: str | None


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
    spec: LinkSpec, http: HttpState, stack: AsyncExitStack
) -> tuple[Transport, str | None, bool]:
    """Negotiate and start the first transport that works: (transport, connection
    id, whether stateful reconnect is on).

    A transport that fails to start has burnt its connection token, so the next
    one is tried on a fresh negotiate, as the official clients do.
    """
    binary = spec.protocol.transfer_format is TransferFormat.BINARY

    def opener(name: str, connect_url: str) -> AbstractAsyncContextManager[Transport]:
        return open_transport(
            name,
            connect_url,
            http=http,
            binary=binary,
            max_message_size=spec.frame_limit,
            close_timeout=spec.close_timeout,
        )

    if spec.skip_negotiation:
        await http.refresh_token()
        logger.info("transport: WebSockets (negotiation skipped)")
        transport: Transport = await stack.enter_async_context(opener(WEBSOCKETS, spec.url))
        # The server makes such a connection on the fly: never a stateful one.
        return transport, None, False
    stateful = spec.stateful_reconnect
    negotiation = await negotiate(spec.url, http, stateful_reconnect=stateful)
    candidates = usable_transports(
        negotiation.response, spec.transports, spec.protocol.transfer_format
    )
    if not candidates:
        raise ConnectError(NO_COMMON_TRANSPORT)
    failures: list[tuple[str, ConnectError]] = []
    current = negotiation
    for index, name in enumerate(candidates):
        if index > 0:
            logger.info("negotiating again to try %s", name)
            current = await negotiate(negotiation.url, http, stateful_reconnect=stateful)
        logger.info("transport: trying %s", name)
        try:
            transport = await stack.enter_async_context(opener(name, current.connect_url))
        except ConnectError as error:
            logger.info("transport: %s failed: %s", name, error)
            failures.append((name, error))
            continue
        # Only a WebSocket can be reopened on the same connection.
        resumable = current.response.use_stateful_reconnect and name == WEBSOCKETS
        if stateful and not resumable:
            logger.info("stateful reconnect: not on this connection (%s)", name)
        return transport, current.response.connection_id, resumable
    raise _all_failed(failures)


@asynccontextmanager
async def open_link(
    spec: LinkSpec, pushes: Pushes, gate: trio.Event | None = None
) -> AsyncIterator[Link]:
    """Negotiate, start a transport, handshake, and run a HubConnection (reading
    nothing before `gate` is set); Close on the way out."""
    http = HttpState(spec.network, spec.url)
    timeout = spec.connect_timeout
    deadline = math.inf if timeout is None else trio.current_time() + timeout
    connected = False
    with trio.CancelScope(deadline=deadline) as connecting:
        async with AsyncExitStack() as stack:
            transport, connection_id, stateful = await _start_transport(spec, http, stack)
            received = await perform_handshake(
                transport,
                spec.protocol,
                spec.handshake_timeout,
                version=STATEFUL_HANDSHAKE_VERSION if stateful else None,
            )
            connecting.deadline = math.inf
            connected = True
            inherent = transport.inherent_keepalive
            if spec.server_timeout is None:
                silence = math.inf if inherent else DEFAULT_SERVER_TIMEOUT_SECONDS
            else:
                silence = spec.server_timeout
            connection = HubConnection(
                transport,
                spec.protocol,
                keepalive_interval=0 if inherent else spec.keepalive_interval,
                server_timeout=silence,
                max_message_size=spec.max_message_size,
                stream_buffer_limit=spec.stream_buffer_limit,
                pushes=pushes,
                resumption=(
                    Resumption(transport.reconnect, buffer_size=spec.stateful_buffer_size)
                    if stateful
                    else None
                ),
                close_timeout=spec.close_timeout,
            )
            if stateful:
                logger.info("stateful reconnect: on")
            async with trio.open_nursery() as nursery:
                connection.start(nursery, received, gate=gate)
                try:
                    yield Link(connection, transport.name, connection_id)
                finally:
                    nursery.cancel_scope.cancel()
    if connecting.cancelled_caught and not connected:
        raise ConnectTimeoutError(f"Could not connect within {timeout:g} s (--connect-timeout).")


def reconnectable(failure: BaseException | None) -> bool:
    """Whether a link that ended with `failure` may be replaced by a new one."""
    if isinstance(failure, ServerTimeoutError):
        return True
    return isinstance(failure, ConnectionClosedError) and failure.allow_reconnect


async def _serve(
    hub: HubParts, spec: LinkSpec, task_status: trio.TaskStatus[None] | None
) -> BaseException:
    """Open a link, give it to `hub`, and wait for its end; the failure it ended with."""
    async with open_link(spec, hub.pushes, hub.opened) as link:
        hub.attach(link)
        if task_status is not None:
            task_status.started()
        else:
            logger.warning("reconnected: connection %s", link.connection_id or "(no id)")
            hub.pushes.lifecycle(Reconnected(link.connection_id))
        await link.connection.ended.wait()
        failure = link.connection.failure
        assert failure is not None
        return failure


async def _first_link(
    hub: HubParts, spec: LinkSpec, task_status: trio.TaskStatus[None]
) -> BaseException:
    retries = 0
    while True:
        try:
            return await _serve(hub, spec, task_status)
        except ConnectError as error:
            if isinstance(error, AuthenticationError) or retries >= spec.connect_retries:
                raise
            retries += 1
            delay = retry_delay(retries)
            logger.info(
                "could not connect (%s): retry %d of %d in %g s",
                error,
                retries,
                spec.connect_retries,
                delay,
            )
            await trio.sleep(delay)


async def keep_linked(
    hub: HubParts, spec: LinkSpec, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED
) -> None:
    """Keep `hub` linked, as the module's docstring says; report started once the
    first link is up (its failure to open is raised)."""
    failure = await _first_link(hub, spec, task_status)
    policy = spec.reconnect
    while True:
        if hub.stopping or policy is None or not reconnectable(failure):
            hub.pushes.end(failure)
            return
        logger.warning("reconnecting: %s", failure)
        hub.pushes.lifecycle(Reconnecting(str(failure)))
        attempts = 0
        started = trio.current_time()
        while True:
            delay = policy.delay(attempts)
            if delay is None:
                elapsed = trio.current_time() - started
                hub.pushes.end(
                    ReconnectFailedError(
                        f"Reconnect retries have been exhausted after {attempts} failed "
                        f"attempts and {elapsed:.0f} s: {failure}"
                    )
                )
                return
            await trio.sleep(delay)
            attempts += 1
            try:
                failure = await _serve(hub, spec, None)
                break
            except AuthenticationError as error:
                hub.pushes.end(error)
                return
            except HubcliError as error:
                logger.info("reconnect attempt %d failed: %s", attempts, error)
                failure = error


__all__: Sequence[str] = ("LinkSpec", "keep_linked", "open_link")
