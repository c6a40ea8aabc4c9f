"""Server-wide hub state, owned by the app object: who is connected, what happened.

The in-memory half of DefaultHubLifetimeManager lives here (the connections, their
groups, the client results waiting on them) next to what tests ask the hub about
(cancelled streams, the last upload, counters). Every change someone may wait for
wakes `wait_until`.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from typing import Any, Protocol

import trio

from hubcli.protocol import HubProtocol

from .clientresults import ClientResults
from .groups import GroupRegistry, UserGroups


class HubClient(Protocol):
    """A connected client as the server-wide state sees it."""

    @property
    def connection_id(self) -> str: ...

    @property
    def user_id(self) -> str | None: ...

    @property
    def protocol(self) -> HubProtocol: ...

    def enqueue(self, data: bytes, messages: int = 1) -> bool:
        """Append encoded messages, `messages` of them invocation-class, to the
        connection's output without waiting; False if it no longer takes any."""
        ...

    async def drained(self) -> None:
        """Return once the connection's output is below its pause threshold."""
        ...

    @property
    def backlogged(self) -> bool:
        """Whether drained() would wait (the output is over its threshold)."""
        ...

    def request_close(self, error: str | None, allow_reconnect: bool) -> None:
        """End the connection with a Close message carrying `error`."""
        ...


class HubState:
    def __init__(self) -> None:
        self.connections: dict[str, HubClient] = {}
        self.groups: GroupRegistry[HubClient] = GroupRegistry()
        self.user_groups = UserGroups()
        self.results = ClientResults(self.changed)
        self.last_upload: dict[str, Any] | None = None
        # Server-to-client Invocations without an id, one per recipient.
        self.invocations_sent = 0
        # For `hubcli bench` to check its report against: every connection ever
        # made, and the calls of each benchmark method (methods/benchmark.py).
        self.connections_opened = 0
        self.benchmark_calls: Counter[str] = Counter()
        # The hub protocol of each connection ever made: a load generator's
        # --signalr-protocol (Locust's workers) seen to take effect.
        self.connections_by_protocol: Counter[str] = Counter()
        self._cancelled_streams = 0
        self._changed = trio.Event()

    def changed(self) -> None:
        """Wake everyone in `wait_until`."""
        self._changed.set()
        self._changed = trio.Event()

    async def wait_until(self, condition: Callable[[], bool], timeout: float) -> bool:
        """True once `condition()` holds; False if `timeout` seconds pass first."""
        with trio.move_on_after(timeout):
            while not condition():
                await self._changed.wait()
            return True
        return False

    # ------------------------------------------------------------- connections

    def connected(self, client: HubClient) -> None:
        self.connections[client.connection_id] = client
        self.connections_opened += 1
        self.connections_by_protocol[client.protocol.name] += 1
        user = client.user_id
        if user is not None:
            # Groups the HTTP API added this user to take its new connections too.
            for group in self.user_groups.groups_of(user, trio.current_time()):
                self.groups.add(client, group)
        self.changed()

    def disconnected(self, client: HubClient) -> None:
        """As OnDisconnectedAsync: out of every group, then gone; waiting calls fail."""
        self.groups.remove_member(client.connection_id)
        if self.connections.get(client.connection_id) is client:
            del self.connections[client.connection_id]
        self.results.connection_ended(client.connection_id)
        self.changed()

    def count_invocations(self, count: int) -> None:
        self.invocations_sent += count
        self.changed()

    def counters(self) -> dict[str, Any]:
        return {
            "connections": len(self.connections),
            "invocationsSent": self.invocations_sent,
            "connectionsOpened": self.connections_opened,
            "connectionsByProtocol": dict(self.connections_by_protocol),
            "benchmarkCalls": dict(self.benchmark_calls),
            "clientResults": self.results.counts.as_dict(self.results.pending),
            "groups": self.groups.sizes(),
        }

    # ------------------------------------------------------- cancelled streams

    @property
    def cancelled_streams(self) -> int:
        return self._cancelled_streams

    def record_cancelled_stream(self) -> None:
        self._cancelled_streams += 1
        self.changed()

    async def wait_for_cancelled_streams(self, count: int, timeout: float) -> bool:
        """True once at least `count` streams were cancelled; False after `timeout`."""
        return await self.wait_until(lambda: self._cancelled_streams >= count, timeout)
