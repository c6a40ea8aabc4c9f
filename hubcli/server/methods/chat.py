"""The chat surface of the SignalR samples: one message, every way to address it.

Every method here calls the same client method, ReceiveMessage(name, message),
the target of the ASP.NET Core SignalR tutorial. `name` is the one given, or, for
the methods that take none, the sender's connection id (which is also what
SendToIndividual needs to answer it). Group names are case-sensitive, and group
membership ends with the connection ("the connection needs to rejoin the group").
"""

from __future__ import annotations

from hubcli.server.binding import hub_method
from hubcli.server.context import CallContext

RECEIVE_MESSAGE = "ReceiveMessage"


@hub_method("BroadcastMessage(name: string, message: string) -> void")
async def broadcast_message(ctx: CallContext, name: str | None, message: str | None) -> None:
    """Sends ReceiveMessage(name, message) to every connection (Clients.All)."""
    await ctx.clients.all.send(RECEIVE_MESSAGE, name, message)


@hub_method("SendToOthers(name: string, message: string) -> void")
async def send_to_others(ctx: CallContext, name: str | None, message: str | None) -> None:
    """Sends ReceiveMessage(name, message) to every connection but the caller."""
    await ctx.clients.others.send(RECEIVE_MESSAGE, name, message)


@hub_method("SendToCaller(name: string, message: string) -> void")
async def send_to_caller(ctx: CallContext, name: str | None, message: str | None) -> None:
    """Sends ReceiveMessage(name, message) back to the caller."""
    await ctx.clients.caller.send(RECEIVE_MESSAGE, name, message)


@hub_method("SendToIndividual(connectionId: string, message: string) -> void")
async def send_to_individual(ctx: CallContext, connection_id: str, message: str | None) -> None:
    """Sends ReceiveMessage(callerId, message) to one connection (nothing if it is
    unknown)."""
    await ctx.clients.client(connection_id).send(RECEIVE_MESSAGE, ctx.connection_id, message)


@hub_method("SendToAllExcept(excludedConnectionIds: string[], message: string) -> void")
async def send_to_all_except(
    ctx: CallContext, excluded_ids: list[str] | None, message: str | None
) -> None:
    """Sends ReceiveMessage(callerId, message) to every connection not listed."""
    proxy = ctx.clients.all_except(excluded_ids or [])
    await proxy.send(RECEIVE_MESSAGE, ctx.connection_id, message)


@hub_method("SendToConnections(connectionIds: string[], message: string) -> void")
async def send_to_connections(
    ctx: CallContext, connection_ids: list[str] | None, message: str | None
) -> None:
    """Sends ReceiveMessage(callerId, message) to each listed connection, once."""
    proxy = ctx.clients.clients(connection_ids or [])
    await proxy.send(RECEIVE_MESSAGE, ctx.connection_id, message)


@hub_method("SendToGroup(groupName: string, message: string) -> void")
async def send_to_group(ctx: CallContext, group_name: str, message: str | None) -> None:
    """Sends ReceiveMessage(callerId, message) to every member of the group."""
    await ctx.clients.group(group_name).send(RECEIVE_MESSAGE, ctx.connection_id, message)


@hub_method("SendToGroups(groupNames: string[], message: string) -> void")
async def send_to_groups(
    ctx: CallContext, group_names: list[str | None] | None, message: str | None
) -> None:
    """Sends ReceiveMessage(callerId, message) to each group in turn: a member of
    two of them gets it twice, as from the real server."""
    proxy = ctx.clients.groups(group_names or [])
    await proxy.send(RECEIVE_MESSAGE, ctx.connection_id, message)


@hub_method(
    "SendToGroupExcept(groupName: string, excludedConnectionIds: string[], message: string) -> void"
)
async def send_to_group_except(
    ctx: CallContext, group_name: str, excluded_ids: list[str] | None, message: str | None
) -> None:
    """Sends ReceiveMessage(callerId, message) to the group's members not listed."""
    proxy = ctx.clients.group_except(group_name, excluded_ids or [])
    await proxy.send(RECEIVE_MESSAGE, ctx.connection_id, message)


@hub_method("SendToOthersInGroup(groupName: string, message: string) -> void")
async def send_to_others_in_group(ctx: CallContext, group_name: str, message: str | None) -> None:
    """Sends ReceiveMessage(callerId, message) to the group's members but the caller."""
    proxy = ctx.clients.others_in_group(group_name)
    await proxy.send(RECEIVE_MESSAGE, ctx.connection_id, message)


@hub_method("SendToUser(userId: string, message: string) -> void")
async def send_to_user(ctx: CallContext, user_id: str, message: str | None) -> None:
    """Sends ReceiveMessage(callerId, message) to every connection of the user."""
    await ctx.clients.user(user_id).send(RECEIVE_MESSAGE, ctx.connection_id, message)


@hub_method("SendToUsers(userIds: string[], message: string) -> void")
async def send_to_users(
    ctx: CallContext, user_ids: list[str | None] | None, message: str | None
) -> None:
    """Sends ReceiveMessage(callerId, message) to every connection of these users."""
    proxy = ctx.clients.users(user_ids or [])
    await proxy.send(RECEIVE_MESSAGE, ctx.connection_id, message)


async def _join(ctx: CallContext, group_name: str) -> None:
    await ctx.groups.add(ctx.connection_id, group_name)
    await ctx.clients.group(group_name).send(
        RECEIVE_MESSAGE,
        ctx.connection_id,
        f"{ctx.connection_id} has joined the group {group_name}.",
    )


async def _leave(ctx: CallContext, group_name: str) -> None:
    await ctx.groups.remove(ctx.connection_id, group_name)
    await ctx.clients.group(group_name).send(
        RECEIVE_MESSAGE,
        ctx.connection_id,
        f"{ctx.connection_id} has left the group {group_name}.",
    )


@hub_method("AddUserToGroup(groupName: string) -> void")
async def add_user_to_group(ctx: CallContext, group_name: str) -> None:
    """Adds the caller to the group, then tells the group (the caller included):
    ReceiveMessage(callerId, "<callerId> has joined the group <groupName>.")."""
    await _join(ctx, group_name)


@hub_method("RemoveUserFromGroup(groupName: string) -> void")
async def remove_user_from_group(ctx: CallContext, group_name: str) -> None:
    """Removes the caller from the group, then tells the rest of it:
    ReceiveMessage(callerId, "<callerId> has left the group <groupName>.")."""
    await _leave(ctx, group_name)


@hub_method("JoinGroup(groupName: string) -> void")
async def join_group(ctx: CallContext, group_name: str) -> None:
    """Same as AddUserToGroup."""
    await _join(ctx, group_name)


@hub_method("LeaveGroup(groupName: string) -> void")
async def leave_group(ctx: CallContext, group_name: str) -> None:
    """Same as RemoveUserFromGroup."""
    await _leave(ctx, group_name)
