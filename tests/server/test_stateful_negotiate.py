"""Turning stateful reconnect on: negotiate grants it only when asked and allowed,
a version 2 handshake over WebSockets starts it, anything else leaves the
connection as it always was (no Acks, no resume)."""

from __future__ import annotations

import httpx
import pytest
import trio

from hubcli.protocol import Ack, Completion, IncomingMessage, Invocation
from tests.server.conftest import Hub, StartHub
from tests.server.rawclient import RawHub, RawHubBase, RawPollingHub, negotiate
from tests.server.test_connect_status import ws_refusal

PROTOCOLS = ["json", "messagepack"]
# Acks every 50 ms, so proving there are none takes a 0.3 s Slow call.
FAST_ACKS = {"allow_stateful_reconnect": True, "ack_interval": 0.05}


async def negotiate_body(url: str, query: str) -> dict[str, object]:
    async with httpx.AsyncClient() as client:
        response = await client.post(f"{url}/negotiate?negotiateVersion=1&{query}")
    assert response.status_code == 200
    body: dict[str, object] = response.json()
    return body


@pytest.mark.parametrize(
    ("query", "granted"),
    [
        ("useStatefulReconnect=true", True),
        ("useStatefulReconnect=True", True),
        ("useStatefulReconnect=TRUE", True),
        ("USESTATEFULRECONNECT=true", True),
        ("useStatefulReconnect=%20true%20", True),
        ("useStatefulReconnect=1", False),
        ("useStatefulReconnect=false", False),
        ("useStatefulReconnect=", False),
        ("", False),
    ],
)
async def test_negotiate_grants_what_was_asked_for(
    start_hub: StartHub, query: str, granted: bool
) -> None:
    hub = await start_hub(allow_stateful_reconnect=True)
    body = await negotiate_body(hub.url, query)
    # The key is there only when granted; never "false".
    assert body.get("useStatefulReconnect", "absent") == (True if granted else "absent")


async def test_stateful_reconnect_is_off_unless_allowed(hub: Hub) -> None:
    body = await negotiate_body(hub.url, "useStatefulReconnect=true")
    assert "useStatefulReconnect" not in body


async def test_negotiate_version_0_is_granted_too(start_hub: StartHub) -> None:
    hub = await start_hub(allow_stateful_reconnect=True)
    async with httpx.AsyncClient() as client:
        response = await client.post(f"{hub.url}/negotiate?useStatefulReconnect=true")
    assert response.json()["useStatefulReconnect"] is True


async def first_ack(raw: RawHubBase) -> Ack:
    while True:
        message = await raw.receive()
        if isinstance(message, Ack):
            return message


@pytest.mark.parametrize("protocol", PROTOCOLS)
async def test_version_2_handshake_starts_acks(start_hub: StartHub, protocol: str) -> None:
    hub = await start_hub(**FAST_ACKS)
    async with RawHub.connect(hub.url, protocol=protocol, stateful=True) as raw:
        for _ in range(3):
            await raw.send(Invocation("Add", [1, 2]))
        # Three invocation-class messages received: acknowledged as id 3.
        with trio.fail_after(5):
            while (await first_ack(raw)).sequence_id != 3:
                pass


async def test_acks_go_out_on_a_one_second_timer(start_hub: StartHub) -> None:
    hub = await start_hub(allow_stateful_reconnect=True)
    async with RawHub.connect(hub.url, stateful=True) as raw:
        start = trio.current_time()
        assert (await raw.invoke("Add", 1, 2)).result == 3
        # Not per message: the next tick of the timer started at the handshake.
        assert await first_ack(raw) == Ack(1)
        assert 0.8 <= trio.current_time() - start < 2.5


async def no_acks_within(raw: RawHubBase) -> list[IncomingMessage]:
    """Every message before the answer of a 0.3 s call (six Ack periods)."""
    await raw.send(Invocation("Slow", [300], "slow"))
    received = await raw.receive_until(
        lambda m: isinstance(m, Completion) and m.invocation_id == "slow"
    )
    assert not [m for m in received if isinstance(m, Ack)], received
    return received


async def test_version_1_handshake_leaves_it_off(start_hub: StartHub) -> None:
    hub = await start_hub(**FAST_ACKS)
    async with RawHub.connect(hub.url, stateful=True, version=1) as raw:
        await raw.send(Invocation("Add", [1, 2]))
        await no_acks_within(raw)
        # Not resumable: a second socket is refused as on any connection.
        refusal = await ws_refusal(f"{hub.url}?id={raw.token}")
        assert (refusal.status_code, refusal.content) == (409, b"")


async def test_version_2_without_negotiating_it_changes_nothing(start_hub: StartHub) -> None:
    hub = await start_hub(**FAST_ACKS)
    async with RawHub.connect(hub.url, version=2) as raw:
        await raw.send(Invocation("Add", [1, 2]))
        await no_acks_within(raw)
        refusal = await ws_refusal(f"{hub.url}?id={raw.token}")
        assert refusal.status_code == 409


async def test_a_websocket_without_negotiate_is_never_stateful(start_hub: StartHub) -> None:
    hub = await start_hub(**FAST_ACKS)
    async with RawHub.connect(
        hub.url, negotiate_first=False, query="useStatefulReconnect=true", version=2
    ) as raw:
        await raw.send(Invocation("Add", [1, 2]))
        await no_acks_within(raw)


async def test_long_polling_stays_without_it(start_hub: StartHub) -> None:
    hub = await start_hub(**FAST_ACKS)
    async with RawPollingHub.connect(hub.url, stateful=True, version=2) as raw:
        await raw.send(Invocation("Add", [1, 2]))
        await no_acks_within(raw)


async def test_negotiate_alone_starts_nothing(start_hub: StartHub) -> None:
    hub = await start_hub(**FAST_ACKS)
    body = await negotiate(hub.url, stateful=True)
    assert body["useStatefulReconnect"] is True
    connection = hub.app.connections.get(str(body["connectionToken"]))
    assert connection is not None
    assert connection.stateful
    assert not connection.reconnect_enabled
