"""What tests and demos ask the hub to prove delivery: who is connected, who is in
which group, who the caller is, and how many pushes and client results went by."""

from __future__ import annotations

from typing import Any

from hubcli.server.binding import hub_method
from hubcli.server.context import CallContext
from hubcli.server.errors import HubException


@hub_method("GetCounters() -> object")
async def get_counters(ctx: CallContext) -> dict[str, Any]:
    """Returns {connections, invocationsSent (pushes, one per recipient),
    connectionsOpened (ever), connectionsByProtocol: {protocol: connections ever},
    benchmarkCalls: {method: calls},
    clientResults: {requested, ok, error, pending}, groups: {name: members}}."""
    return ctx.state.counters()


@hub_method("GetGroupMembers(groupName: string) -> string[]")
async def get_group_members(ctx: CallContext, group_name: str | None) -> list[str]:
    """Returns the connection ids in the group, in the order they joined."""
    return [member.connection_id for member in ctx.state.groups.members(group_name or "")]


@hub_method("GetUserId() -> string")
async def get_user_id(ctx: CallContext) -> str | None:
    """Returns the caller's user id: the name identifier (sub, nameid) of a JWT
    bearer token, any other token itself, null without a token."""
    return ctx.user_id


@hub_method("GetConnectionCount() -> int")
async def get_connection_count(ctx: CallContext) -> int:
    """Returns how many connections the hub has (past their handshake)."""
    return len(ctx.state.connections)


@hub_method("WaitForConnectionCount(count: int, timeoutMs: int) -> int")
async def wait_for_connection_count(ctx: CallContext, count: int, timeout_ms: int) -> int:
    """Waits until exactly count connections are open (say, after one closed, its
    groups gone with it), then returns it; fails if timeoutMs passes first."""
    state = ctx.state
    if not await state.wait_until(lambda: len(state.connections) == count, timeout_ms / 1000):
        raise HubException(
            f"Timed out after {timeout_ms} ms waiting for {count} connection(s); "
            f"{len(state.connections)} now."
        )
    return count
