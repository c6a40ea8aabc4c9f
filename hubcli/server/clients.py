"""Who a hub method talks to: the proxies of Hub.Clients and Hub.Groups.

    await ctx.clients.all.send("ReceiveMessage", name, text)
    await ctx.clients.group("room").send("ReceiveMessage", name, text)
    answer = await ctx.clients.caller.invoke("GetAnswer", 1, 2)   # a client result
    await ctx.groups.add(ctx.connection_id, "room")

Each proxy picks its recipients as DefaultHubLifetimeManager does, at the moment
it sends: All, AllExcept(ids), Clients(ids) and Users(ids) walk the connections
(each at most once); Group(name) and GroupExcept(name, ids) walk the group;
Groups(names) walks each named group in turn, so a connection in two of them (or
a name given twice) gets the message twice, as from the real server. Users(ids)
compares each connection's user id with `in`, so a null in `ids` reaches the
anonymous connections, as the real server's Contains does. Null names and ids
where the real proxies check them raise ArgumentNullException.

Only single-client proxies (Caller, Client(id)) can invoke a client method for a
result. The others raise the real typed-hub text, "InvokeAsync only works with
Single clients." A caller's invoke first gives back the hub method's invocation
slot, as the real SingleClientProxy does, so the caller's connection goes on
reading (the answer among other things) while the method waits.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any

import trio

from hubcli.protocol import Invocation

from .clientresults import unknown_connection
from .errors import ArgumentNullException, InvalidOperationException
from .fanout import send_invocation
from .state import HubClient, HubState

EMPTY_GROUP_NAME = "Cannot send to an empty group name."
SINGLE_CLIENTS_ONLY = "InvokeAsync only works with Single clients."

Recipients = Callable[[], Iterable[HubClient]]


def _required(value: Any, parameter: str) -> None:
    if value is None:
        raise ArgumentNullException(parameter)


class ClientProxy:
    """A set of connections to send an Invocation to (IClientProxy)."""

    def __init__(self, state: HubState, recipients: Recipients) -> None:
        self._state = state
        self._recipients = recipients

    async def send(self, target: str, *arguments: Any) -> None:
        """Call client method `target` on every recipient; no answer is expected."""
        await send_invocation(self._state, self._recipients(), target, list(arguments))

    async def invoke(self, target: str, *arguments: Any) -> Any:
        """Refused: a result can come only from one client."""
        raise InvalidOperationException(SINGLE_CLIENTS_ONLY)


class SingleClientProxy(ClientProxy):
    """One connection, by id (ISingleClientProxy); unknown ids get nothing."""

    def __init__(
        self, state: HubState, connection_id: str, before_invoke: Callable[[], None]
    ) -> None:
        _required(connection_id, "connectionId")
        super().__init__(state, self._recipient)
        self.connection_id = connection_id
        self._before_invoke = before_invoke

    def _recipient(self) -> Iterable[HubClient]:
        connection = self._state.connections.get(self.connection_id)
        return () if connection is None else (connection,)

    async def invoke(self, target: str, *arguments: Any) -> Any:
        """Call client method `target` with an invocation id and return its result.

        Raises HubException with the client's error text, IOException if the
        connection does not exist or ends first. No timeout: wrap the call in a
        trio cancel scope for one.
        """
        self._before_invoke()
        connection = self._state.connections.get(self.connection_id)
        if connection is None:
            await trio.lowlevel.checkpoint()
            raise unknown_connection(self.connection_id)
        results = self._state.results
        invocation_id = results.add(self.connection_id)
        try:
            message = Invocation(target, list(arguments), invocation_id)
            if connection.enqueue(connection.protocol.encode(message)):
                await connection.drained()
            return await results.wait(invocation_id)
        finally:
            results.discard(invocation_id)


def _no_slot() -> None:
    """Nothing to give back: the sender is no hub method holding a slot."""


class HubClients:
    """Every connection of the hub (IHubClients, as IHubContext.Clients has it)."""

    def __init__(self, state: HubState, before_invoke: Callable[[], None] = _no_slot) -> None:
        self._state = state
        self._before_invoke = before_invoke

    def _connections(self) -> list[HubClient]:
        return list(self._state.connections.values())

    @property
    def all(self) -> ClientProxy:
        return ClientProxy(self._state, self._connections)

    def all_except(self, excluded_ids: Sequence[str]) -> ClientProxy:
        excluded = list(excluded_ids)
        return ClientProxy(
            self._state,
            lambda: [c for c in self._connections() if c.connection_id not in excluded],
        )

    def client(self, connection_id: str) -> SingleClientProxy:
        return SingleClientProxy(self._state, connection_id, self._before_invoke)

    def clients(self, connection_ids: Sequence[str]) -> ClientProxy:
        wanted = list(connection_ids)
        return ClientProxy(
            self._state, lambda: [c for c in self._connections() if c.connection_id in wanted]
        )

    def group(self, group_name: str) -> ClientProxy:
        _required(group_name, "groupName")
        return ClientProxy(self._state, lambda: self._state.groups.members(group_name))

    def group_except(self, group_name: str, excluded_ids: Sequence[str]) -> ClientProxy:
        _required(group_name, "groupName")
        excluded = list(excluded_ids)
        return ClientProxy(
            self._state,
            lambda: [
                c for c in self._state.groups.members(group_name) if c.connection_id not in excluded
            ],
        )

    def groups(self, group_names: Sequence[str | None]) -> ClientProxy:
        names = list(group_names)

        def recipients() -> Iterator[HubClient]:
            for name in names:
                # Checked as each name's turn comes: the groups before it got the
                # message already, as with the real server's loop.
                if not name:
                    raise InvalidOperationException(EMPTY_GROUP_NAME)
                yield from self._state.groups.members(name)

        return ClientProxy(self._state, recipients)

    def user(self, user_id: str) -> ClientProxy:
        _required(user_id, "userId")
        return ClientProxy(
            self._state, lambda: [c for c in self._connections() if c.user_id == user_id]
        )

    def users(self, user_ids: Sequence[str | None]) -> ClientProxy:
        wanted = list(user_ids)
        return ClientProxy(
            self._state, lambda: [c for c in self._connections() if c.user_id in wanted]
        )


class CallerClients(HubClients):
    """Hub.Clients inside a hub method: the above, plus the caller's own views."""

    def __init__(self, state: HubState, caller_id: str, release_slot: Callable[[], None]) -> None:
        super().__init__(state, release_slot)
        self._caller_id = caller_id

    @property
    def caller(self) -> SingleClientProxy:
        return self.client(self._caller_id)

    @property
    def others(self) -> ClientProxy:
        return self.all_except([self._caller_id])

    def others_in_group(self, group_name: str) -> ClientProxy:
        return self.group_except(group_name, [self._caller_id])


class GroupManager:
    """Hub.Groups: membership by connection id; unknown connections are ignored."""

    def __init__(self, state: HubState) -> None:
        self._state = state

    async def add(self, connection_id: str, group_name: str) -> None:
        _required(connection_id, "connectionId")
        _required(group_name, "groupName")
        connection = self._state.connections.get(connection_id)
        if connection is not None and self._state.groups.add(connection, group_name):
            self._state.changed()
        await trio.lowlevel.checkpoint()

    async def remove(self, connection_id: str, group_name: str) -> None:
        _required(connection_id, "connectionId")
        _required(group_name, "groupName")
        if self._state.groups.remove(connection_id, group_name):
            self._state.changed()
        await trio.lowlevel.checkpoint()
