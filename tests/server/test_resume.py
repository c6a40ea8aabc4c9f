"""Resuming a stateful connection after its WebSocket dropped: the replay, the
disconnect window (the hub notices nothing, then ends without an error), the
takeover of a socket still attached, and the real server's refusals."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
import trio
import wsproto.events

from hubcli.protocol import (
    Ack,
    Close,
    Completion,
    IncomingMessage,
    Invocation,
    Ping,
    Sequence,
    StreamInvocation,
)
from hubcli.server.connections import Status
from tests.server.conftest import StartHub
from tests.server.rawclient import BareWebSocket, RawHub, negotiate, ws_url
from tests.server.test_connect_status import ws_refusal

PROTOCOLS = ["json", "messagepack"]
CHAOS = {"chaos": True, "allow_stateful_reconnect": True}
NO_CONNECTION = b"No Connection with that ID"


async def drop(raw: RawHub) -> list[IncomingMessage]:
    """Have the hub reset this socket (DropTransport); what came before the end."""
    await raw.send(Invocation("DropTransport", [], "drop"))
    received = await raw.receive_all()
    # A network fault: no Close message, no close frame, and the call's
    # Completion is still to come (with the replay).
    assert not [m for m in received if isinstance(m, (Close, Completion))], received
    return received


async def connection_id(raw: RawHub) -> str:
    completion = await raw.invoke("GetCallerConnectionId")
    assert isinstance(completion.result, str)
    return completion.result


@pytest.mark.parametrize("protocol", PROTOCOLS)
async def test_a_resume_gets_a_sequence_and_the_replay(start_hub: StartHub, protocol: str) -> None:
    hub = await start_hub(keepalive=0.05, **CHAOS)
    async with RawHub.connect(hub.url, protocol=protocol, stateful=True) as raw:
        before = await connection_id(raw)  # counted id 1, never acknowledged
        assert await raw.receive() == Ping()
        await drop(raw)
        token = raw.token
        assert raw.ws.closed is not None
        assert raw.ws.closed.code == 1006
    async with RawHub.resume(hub.url, token, protocol=protocol) as resumed:
        # No handshake: the Sequence first, then both Completions, and none of the
        # pings sent before the drop.
        assert [await resumed.receive() for _ in range(3)] == [
            Sequence(1),
            Completion.with_result("1", before),
            Completion.with_result("drop", None),
        ]
        resumed.next_id = 1
        assert await connection_id(resumed) == before


async def test_acknowledged_messages_are_not_replayed(start_hub: StartHub) -> None:
    hub = await start_hub(**CHAOS)
    async with RawHub.connect(hub.url, stateful=True) as raw:
        await connection_id(raw)
        await raw.invoke("Add", 1, 2)
        await raw.send(Ack(2))
        await drop(raw)
    async with RawHub.resume(hub.url, raw.token) as resumed:
        assert await resumed.receive() == Sequence(3)
        assert await resumed.receive() == Completion.with_result("drop", None)


async def test_the_hub_notices_nothing_while_the_socket_is_gone(start_hub: StartHub) -> None:
    hub = await start_hub(**CHAOS)
    async with RawHub.connect(hub.url, stateful=True) as away, RawHub.connect(hub.url) as other:
        away_id = await connection_id(away)
        other_id = await connection_id(other)
        await away.invoke("JoinGroup", "g")
        await away.send(Ack(3))  # the id, the announcement and the join's Completion
        await drop(away)
        # Still connected, still in its group: what is sent to it is kept.
        assert (await other.invoke("GetConnectionCount")).result == 2
        assert (await other.invoke("GetGroupMembers", "g")).result == [away_id]
        await other.invoke("SendToGroup", "g", "while you were away")
    async with RawHub.resume(hub.url, away.token) as resumed:
        assert await resumed.receive() == Sequence(4)
        replayed = [await resumed.receive() for _ in range(2)]
        assert Completion.with_result("drop", None) in replayed
        assert Invocation("ReceiveMessage", [other_id, "while you were away"]) in replayed


async def test_the_window_ends_in_a_quiet_disconnect_and_404(start_hub: StartHub) -> None:
    hub = await start_hub(disconnect_timeout=0.4, **CHAOS)
    state = hub.app.state
    async with RawHub.connect(hub.url, stateful=True) as raw:
        raw_id = await connection_id(raw)
        await raw.invoke("JoinGroup", "g")
        await drop(raw)
        dropped = trio.current_time()
    assert raw_id in state.connections
    assert await state.wait_until(lambda: raw_id not in state.connections, 5)
    assert trio.current_time() - dropped >= 0.35
    # OnDisconnected ran: out of its group.
    assert list(state.groups.members("g")) == []
    refusal = await ws_refusal(f"{hub.url}?id={raw.token}")
    assert (refusal.status_code, refusal.content) == (404, NO_CONNECTION)
    assert "content-type" not in refusal.headers


async def test_a_close_message_from_the_client_is_final(start_hub: StartHub) -> None:
    hub = await start_hub(**CHAOS)
    async with RawHub.connect(hub.url, stateful=True) as raw:
        await raw.send(Close())
        assert await raw.receive_all() == [Close()]
    refusal = await ws_refusal(f"{hub.url}?id={raw.token}")
    assert (refusal.status_code, refusal.content) == (404, NO_CONNECTION)


async def test_a_new_socket_takes_a_live_one_over(start_hub: StartHub) -> None:
    hub = await start_hub(**CHAOS)
    async with RawHub.connect(hub.url, stateful=True) as first:
        first_id = await connection_id(first)
        async with RawHub.resume(hub.url, first.token) as second:
            # The old socket was closed (1000) before the new one was accepted.
            assert first.ws.closed is not None
            assert first.ws.closed.code == 1000
            assert await second.receive() == Sequence(1)
            assert await second.receive() == Completion.with_result("1", first_id)
            second.next_id = 1
            assert await connection_id(second) == first_id
            assert (await second.invoke("GetConnectionCount")).result == 1


async def test_a_takeover_waits_for_the_old_socket_to_answer(start_hub: StartHub) -> None:
    hub = await start_hub(**CHAOS)
    async with RawHub.connect(hub.url, stateful=True) as first:
        await connection_id(first)
        async with trio.open_nursery() as nursery:
            accepted = trio.Event()

            async def resume() -> None:
                async with RawHub.resume(hub.url, first.token) as second:
                    accepted.set()
                    assert await second.receive() == Sequence(1)

            nursery.start_soon(resume)
            # The old socket gets the close frame while the new one waits.
            assert await first.close_code() == 1000
            with trio.fail_after(5):
                await accepted.wait()


async def test_a_takeover_gives_a_silent_socket_the_close_timeout(start_hub: StartHub) -> None:
    # An old socket whose peer never answers the close frame (half-open TCP, the
    # usual case when a client resumes before the server noticed): the new one is
    # accepted once the close timeout has passed.
    hub = await start_hub(websocket_close_timeout=0.5, **CHAOS)
    token = (await negotiate(hub.url, stateful=True))["connectionToken"]
    async with BareWebSocket.connect(f"{hub.url}?id={token}") as silent:
        await silent.send_text('{"protocol":"json","version":2}\x1e')
        assert await silent.next_event() == wsproto.events.TextMessage(data="{}\x1e")
        start = trio.current_time()
        async with RawHub.resume(hub.url, token) as resumed:
            assert 0.45 <= trio.current_time() - start < 5
            assert await resumed.receive() == Sequence(1)


async def test_a_resume_on_a_connection_that_is_not_stateful(start_hub: StartHub) -> None:
    hub = await start_hub(**CHAOS)
    async with RawHub.connect(hub.url) as raw:
        refusal = await ws_refusal(f"{hub.url}?id={raw.token}")
        assert (refusal.status_code, refusal.content) == (409, b"")
        assert refusal.headers["content-type"] == "text/plain"
        await drop(raw)
    # Without stateful reconnect the connection ended with its socket.
    refusal = await ws_refusal(f"{hub.url}?id={raw.token}")
    assert (refusal.status_code, refusal.content) == (404, NO_CONNECTION)


async def test_other_transports_during_the_window(start_hub: StartHub) -> None:
    hub = await start_hub(**CHAOS)
    async with RawHub.connect(hub.url, stateful=True) as raw:
        await drop(raw)
    url = f"{hub.url}?id={raw.token}"
    async with httpx.AsyncClient() as client:
        sse = await client.get(url, headers={"Accept": "text/event-stream"})
        poll = await client.get(url)
        post = await client.post(url, content=b"{}\x1e")
        delete = await client.delete(url)
    changed = b"Cannot change transports mid-connection"
    assert (sse.status_code, sse.content) == (400, changed)
    assert (poll.status_code, poll.content) == (400, changed)
    assert (post.status_code, post.content) == (
        405,
        b"POST requests are not allowed for WebSocket connections.",
    )
    assert (delete.status_code, delete.content) == (
        400,
        b"Cannot terminate this connection using the DELETE endpoint.",
    )
    # None of them ended the window.
    async with RawHub.resume(hub.url, raw.token) as resumed:
        assert await resumed.receive() == Sequence(1)


async def test_a_stateful_connection_on_sse_cannot_switch_to_websockets(
    start_hub: StartHub,
) -> None:
    hub = await start_hub(**CHAOS)
    body = await negotiate_stateful(hub.url)
    url = f"{hub.url}?id={body['connectionToken']}"
    async with (
        httpx.AsyncClient() as client,
        client.stream("GET", url, headers={"Accept": "text/event-stream"}) as sse,
    ):
        assert sse.status_code == 200
        refusal = await ws_refusal(url)
    assert (refusal.status_code, refusal.content) == (
        400,
        b"Cannot change transports mid-connection",
    )


async def negotiate_stateful(url: str) -> dict[str, Any]:
    return await negotiate(url, stateful=True)


async def test_a_client_timed_out_inside_the_window_still_gets_its_replay(
    start_hub: StartHub,
) -> None:
    hub = await start_hub(keepalive=0.1, client_timeout=0.3, **CHAOS)
    state = hub.app.state
    async with RawHub.connect(hub.url, stateful=True) as raw:
        raw_id = await connection_id(raw)
        await raw.send(Ping())  # arms the client timeout
        await drop(raw)
    # The hub ends (client timeout) but, as on the real server, resuming stays
    # allowed: the replay comes, then a close frame; the Close went nowhere.
    assert await state.wait_until(lambda: raw_id not in state.connections, 5)
    async with RawHub.resume(hub.url, raw.token) as resumed:
        received = await resumed.receive_all()
        assert resumed.ws.closed is not None
        assert resumed.ws.closed.code == 1000
    assert received == [
        Sequence(1),
        Completion.with_result("1", raw_id),
        Completion.with_result("drop", None),
    ]
    refusal = await ws_refusal(f"{hub.url}?id={raw.token}")
    assert refusal.status_code == 404


async def test_an_unknown_id_is_404_without_a_content_type(start_hub: StartHub) -> None:
    hub = await start_hub(**CHAOS)
    refusal = await ws_refusal(f"{hub.url}?id=never-negotiated")
    assert (refusal.status_code, refusal.content) == (404, NO_CONNECTION)
    assert "content-type" not in refusal.headers
    assert ws_url(hub.url).startswith("ws://")


async def test_a_hub_abort_inside_the_window_refuses_the_resume(start_hub: StartHub) -> None:
    hub = await start_hub(disconnect_timeout=0.5, **CHAOS)
    state = hub.app.state
    async with RawHub.connect(hub.url, stateful=True) as raw:
        raw_id = await connection_id(raw)
        assert (await raw.invoke("AbortAfter", 200)).error is None
        await drop(raw)
    connection = hub.app.connections.get(raw.token)
    assert connection is not None
    assert await state.wait_until(lambda: raw_id not in state.connections, 5)
    # Aborted: kept until the window ends, and refused meanwhile.
    refusal = await ws_refusal(f"{hub.url}?id={raw.token}")
    assert (refusal.status_code, refusal.content) == (409, b"")
    assert refusal.headers["content-type"] == "text/plain"
    with trio.fail_after(5):
        while connection.status is not Status.DISPOSED:
            await connection.status_changed.wait()
    refusal = await ws_refusal(f"{hub.url}?id={raw.token}")
    assert (refusal.status_code, refusal.content) == (404, NO_CONNECTION)


async def test_after_a_resume_the_server_acknowledges_again(start_hub: StartHub) -> None:
    hub = await start_hub(ack_interval=0.05, **CHAOS)
    async with RawHub.connect(hub.url, stateful=True) as raw:
        # The server acknowledges the StreamInvocation (id 1) during the pause
        # after item 0, then drops the socket after item 1.
        await raw.send(StreamInvocation("s", "ResumableCounter", [2, 300, 1]))
        received = await raw.receive_all()
        assert Ack(1) in received
    async with RawHub.resume(hub.url, raw.token) as resumed:
        # Had that Ack been lost, the client would replay what it acknowledged:
        # duplicates, which move nothing. It is acknowledged again all the same,
        # or the client's buffer would stay full until it sent something new.
        await resumed.send(Sequence(1), StreamInvocation("s", "ResumableCounter", [2, 300, 1]))
        with trio.fail_after(5):
            while (await resumed.receive()) != Ack(1):
                pass
