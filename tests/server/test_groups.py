"""Groups: joining and leaving (with the samples' announcements), case-sensitive
names, sends to groups across connections and transports, and membership that
ends with the connection."""

from __future__ import annotations

from typing import Any

import pytest

from hubcli.protocol import CompletionKind, Invocation
from tests.server.conftest import Hub, StartHub
from tests.server.rawclient import RawHubBase, Transport, raw_hub


async def connection_id(raw: RawHubBase) -> str:
    result = (await raw.invoke("GetCallerConnectionId")).result
    assert isinstance(result, str)
    return result


async def next_message(raw: RawHubBase) -> list[Any]:
    invocation = await raw.receive_invocation()
    assert invocation.target == "ReceiveMessage"
    return invocation.arguments


async def members(raw: RawHubBase, group: str) -> list[str]:
    result = (await raw.invoke("GetGroupMembers", group)).result
    assert isinstance(result, list)
    return result


async def test_join_and_leave_announce_to_the_group(hub: Hub) -> None:
    async with raw_hub(hub.url) as first, raw_hub(hub.url) as second:
        first_id, second_id = await connection_id(first), await connection_id(second)
        await first.invoke("JoinGroup", "room")
        assert await next_message(first) == [first_id, f"{first_id} has joined the group room."]
        await second.invoke("AddUserToGroup", "room")
        joined = [second_id, f"{second_id} has joined the group room."]
        assert await next_message(first) == joined
        assert await next_message(second) == joined
        assert await members(first, "room") == [first_id, second_id]
        # Leaving removes first, then tells the rest: the leaver is not told.
        await first.invoke("RemoveUserFromGroup", "room")
        assert await next_message(second) == [first_id, f"{first_id} has left the group room."]
        await second.invoke("LeaveGroup", "room")
        assert await members(first, "room") == []
        counters = (await first.invoke("GetCounters")).result
        assert counters["groups"] == {}
        await second.invoke("SendToCaller", "me", "marker")
        assert await next_message(second) == ["me", "marker"]
        await first.invoke("SendToCaller", "me", "marker")
        assert await next_message(first) == ["me", "marker"]


@pytest.mark.parametrize(
    ("transport", "protocol"), [("websockets", "messagepack"), ("longpolling", "json")]
)
async def test_group_sends_cross_connections_and_transports(
    hub: Hub, transport: Transport, protocol: str
) -> None:
    async with (
        raw_hub(hub.url) as member,
        raw_hub(hub.url, transport, protocol=protocol) as other_member,
        raw_hub(hub.url, transport, protocol=protocol) as outsider,
    ):
        member_id, other_id = await connection_id(member), await connection_id(other_member)
        outsider_id = await connection_id(outsider)
        for raw in (member, other_member):
            await raw.invoke("JoinGroup", "room")
        assert await members(outsider, "room") == [member_id, other_id]
        await outsider.invoke("SendToGroup", "room", "hello room")
        await member.invoke("SendToOthersInGroup", "room", "not to me")
        await member.invoke("SendToGroupExcept", "room", [other_id], "only me")
        await outsider.invoke("BroadcastMessage", "all", "marker")
        # member: its own join, other's join, the room message, only-me, marker.
        assert [await next_message(member) for _ in range(5)] == [
            [member_id, f"{member_id} has joined the group room."],
            [other_id, f"{other_id} has joined the group room."],
            [outsider_id, "hello room"],
            [member_id, "only me"],
            ["all", "marker"],
        ]
        assert [await next_message(other_member) for _ in range(4)] == [
            [other_id, f"{other_id} has joined the group room."],
            [outsider_id, "hello room"],
            [member_id, "not to me"],
            ["all", "marker"],
        ]
        assert await next_message(outsider) == ["all", "marker"]


async def test_group_names_are_case_sensitive(hub: Hub) -> None:
    async with raw_hub(hub.url) as lower, raw_hub(hub.url) as upper:
        lower_id = await connection_id(lower)
        await lower.invoke("JoinGroup", "room")
        await upper.invoke("JoinGroup", "Room")
        assert await members(lower, "room") == [lower_id]
        await upper.invoke("SendToGroup", "ROOM", "nobody")
        await upper.invoke("SendToGroup", "room", "lower only")
        await upper.invoke("BroadcastMessage", "all", "marker")
        assert (await next_message(lower))[1] == f"{lower_id} has joined the group room."
        assert (await next_message(lower))[1] == "lower only"
        assert await next_message(lower) == ["all", "marker"]
        assert (await next_message(upper))[1].endswith("has joined the group Room.")
        assert await next_message(upper) == ["all", "marker"]


async def test_send_to_groups_repeats_for_each_group_as_the_real_server(hub: Hub) -> None:
    async with raw_hub(hub.url) as both, raw_hub(hub.url) as one:
        both_id, one_id = await connection_id(both), await connection_id(one)
        await both.invoke("JoinGroup", "a")
        await both.invoke("JoinGroup", "b")
        await one.invoke("JoinGroup", "b")
        await one.invoke("SendToGroups", ["a", "b", "c"], "twice for both")
        await one.invoke("BroadcastMessage", "all", "marker")
        assert [await next_message(both) for _ in range(6)] == [
            [both_id, f"{both_id} has joined the group a."],
            [both_id, f"{both_id} has joined the group b."],
            [one_id, f"{one_id} has joined the group b."],
            [one_id, "twice for both"],
            [one_id, "twice for both"],
            ["all", "marker"],
        ]
        assert [(await next_message(one))[1] for _ in range(3)] == [
            f"{one_id} has joined the group b.",
            "twice for both",
            "marker",
        ]
        counters = (await one.invoke("GetCounters")).result
        assert counters["groups"] == {"a": 1, "b": 2}


async def test_sends_to_all_others_caller_and_listed_connections(hub: Hub) -> None:
    async with (
        raw_hub(hub.url) as caller,
        raw_hub(hub.url, protocol="messagepack") as second,
        raw_hub(hub.url, "longpolling") as third,
    ):
        caller_id, second_id = await connection_id(caller), await connection_id(second)
        third_id = await connection_id(third)
        await caller.invoke("BroadcastMessage", "n", "to all")
        await caller.invoke("SendToOthers", "n", "to others")
        await caller.invoke("SendToCaller", "n", "to caller")
        await caller.invoke("SendToIndividual", third_id, "to third")
        await caller.invoke("SendToIndividual", "no-such-connection", "to nobody")
        await caller.invoke("SendToAllExcept", [second_id, "unknown"], "not to second")
        await caller.invoke("SendToConnections", [second_id, second_id, caller_id], "listed")
        await caller.invoke("BroadcastMessage", "all", "marker")
        expected = {
            caller: [
                ["n", "to all"],
                ["n", "to caller"],
                [caller_id, "not to second"],
                [caller_id, "listed"],
                ["all", "marker"],
            ],
            second: [["n", "to all"], ["n", "to others"], [caller_id, "listed"], ["all", "marker"]],
            third: [
                ["n", "to all"],
                ["n", "to others"],
                [caller_id, "to third"],
                [caller_id, "not to second"],
                ["all", "marker"],
            ],
        }
        for raw, messages in expected.items():
            assert [await next_message(raw) for _ in messages] == messages
        counters = (await caller.invoke("GetCounters")).result
        # One per recipient: all 3, others 2, caller 1, third 1, nobody 0, all but
        # second 2, listed 2 (second once), marker 3.
        assert counters["invocationsSent"] == 14


async def test_membership_ends_with_the_connection(hub: Hub) -> None:
    async with raw_hub(hub.url) as stays:
        async with raw_hub(hub.url, "longpolling") as leaves:
            leaves_id = await connection_id(leaves)
            await leaves.invoke("JoinGroup", "room")
            await stays.invoke("JoinGroup", "room")
            assert len(await members(stays, "room")) == 2
        assert (await stays.invoke("WaitForConnectionCount", 1, 10000)).result == 1
        stays_id = await connection_id(stays)
        assert await members(stays, "room") == [stays_id]
        assert leaves_id not in hub.app.state.connections
        assert hub.app.state.groups.groups_of(leaves_id) == set()


async def test_a_group_is_joined_once(hub: Hub) -> None:
    async with raw_hub(hub.url) as raw:
        raw_id = await connection_id(raw)
        await raw.invoke("JoinGroup", "room")
        await raw.invoke("JoinGroup", "room")
        assert await members(raw, "room") == [raw_id]
        await raw.invoke("SendToGroup", "room", "once")
        assert [(await next_message(raw))[1] for _ in range(3)] == [
            f"{raw_id} has joined the group room.",
            f"{raw_id} has joined the group room.",
            "once",
        ]


@pytest.mark.parametrize(
    ("invocation", "detail"),
    [
        (
            Invocation("SendToGroups", [["a", ""], "x"], "1"),
            "InvalidOperationException: Cannot send to an empty group name.",
        ),
        (
            Invocation("SendToGroups", [[None], "x"], "1"),
            "InvalidOperationException: Cannot send to an empty group name.",
        ),
        (
            Invocation("SendToGroup", [None, "x"], "1"),
            "ArgumentNullException: Value cannot be null. (Parameter 'groupName')",
        ),
        (
            Invocation("JoinGroup", [None], "1"),
            "ArgumentNullException: Value cannot be null. (Parameter 'groupName')",
        ),
        (
            Invocation("SendToIndividual", [None, "x"], "1"),
            "ArgumentNullException: Value cannot be null. (Parameter 'connectionId')",
        ),
    ],
)
async def test_refused_names_with_the_real_texts(
    start_hub: StartHub, invocation: Invocation, detail: str
) -> None:
    generic = f"An unexpected error occurred invoking '{invocation.target}' on the server."
    for detailed in (False, True):
        hub = await start_hub(detailed_errors=detailed)
        async with raw_hub(hub.url) as raw:
            await raw.send(invocation)
            completion = await raw.receive_completion("1")
            assert completion.kind is CompletionKind.ERROR
            assert completion.error == (f"{generic} {detail}" if detailed else generic)


async def test_an_empty_group_name_is_a_group_for_single_sends(hub: Hub) -> None:
    async with raw_hub(hub.url) as raw:
        raw_id = await connection_id(raw)
        await raw.invoke("JoinGroup", "")
        await raw.invoke("SendToGroup", "", "empty but fine")
        assert [(await next_message(raw))[1] for _ in range(2)] == [
            f"{raw_id} has joined the group .",
            "empty but fine",
        ]
