"""The Python side of Hub.Clients: what other server code (an IHubContext, say)
can do with the hub's state, and what it refuses."""

from __future__ import annotations

import pytest
import trio

from hubcli.protocol import Completion, Invocation
from hubcli.server.clients import SINGLE_CLIENTS_ONLY, ClientProxy, HubClients
from hubcli.server.errors import HubException, InvalidOperationException
from hubcli.server.state import HubState
from tests.server.conftest import Hub
from tests.server.rawclient import raw_hub


@pytest.mark.parametrize(
    "proxy",
    [
        lambda clients: clients.all,
        lambda clients: clients.all_except(["x"]),
        lambda clients: clients.clients(["x"]),
        lambda clients: clients.group("g"),
        lambda clients: clients.groups(["g"]),
        lambda clients: clients.group_except("g", []),
        lambda clients: clients.user("u"),
        lambda clients: clients.users(["u"]),
    ],
)
async def test_only_single_clients_can_be_asked_for_a_result(proxy: object) -> None:
    chosen: ClientProxy = proxy(HubClients(HubState()))  # type: ignore[operator]
    with pytest.raises(InvalidOperationException) as refused:
        await chosen.invoke("GetAnswer")
    assert (
        str(refused.value) == SINGLE_CLIENTS_ONLY == "InvokeAsync only works with Single clients."
    )


async def test_server_code_outside_a_hub_method_sends_and_asks(hub: Hub) -> None:
    clients = HubClients(hub.app.state)
    async with raw_hub(hub.url) as raw:
        connection_id = (await raw.invoke("GetCallerConnectionId")).result
        await clients.all.send("News", "from outside")
        assert await raw.receive_invocation() == Invocation("News", ["from outside"])
        async with trio.open_nursery() as nursery:
            answers: list[object] = []

            async def ask() -> None:
                answers.append(await clients.client(connection_id).invoke("Add", 1, 2))
                with pytest.raises(HubException) as refused:
                    await clients.client(connection_id).invoke("Refuse")
                assert str(refused.value) == "no"

            nursery.start_soon(ask)
            request = await raw.receive_invocation()
            assert request == Invocation("Add", [1, 2], "s1")
            await raw.send(Completion.with_result("s1", 3))
            refused = await raw.receive_invocation()
            await raw.send(Completion.with_error(refused.invocation_id or "", "no"))
        assert answers == [3]


async def test_connection_count_and_waiting_for_it(hub: Hub) -> None:
    async with raw_hub(hub.url) as raw:
        async with raw_hub(hub.url, "longpolling") as other:
            assert (await other.invoke("GetConnectionCount")).result == 2
        assert (await raw.invoke("WaitForConnectionCount", 1, 10000)).result == 1
        assert (await raw.invoke("WaitForConnectionCount", 3, 50)).error == (
            "An unexpected error occurred invoking 'WaitForConnectionCount' on the server. "
            "HubException: Timed out after 50 ms waiting for 3 connection(s); 1 now."
        )
