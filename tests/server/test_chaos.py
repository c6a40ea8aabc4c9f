"""The chaos hub: DropTransport, DropConnection and ResumableCounter cut the
caller's TCP connection through the front (a reset, no close frame), and what
the server kept is replayed, a message at a time, bulk writes included."""

from __future__ import annotations

import socket
import struct

import pytest
import trio
import wsproto.events

from hubcli.protocol import (
    Ack,
    Completion,
    Invocation,
    Ping,
    Sequence,
    StreamInvocation,
    StreamItem,
)
from hubcli.server.connections import Status
from tests.server.conftest import StartHub
from tests.server.rawclient import BareWebSocket, RawHub, ReplayLog, negotiate, raw_hub
from tests.server.test_connect_status import ws_refusal
from tests.server.test_resume import connection_id, drop

PROTOCOLS = ["json", "messagepack"]
CHAOS = {"chaos": True, "allow_stateful_reconnect": True}
NEEDS_CHAOS = (
    "An unexpected error occurred invoking 'DropTransport' on the server. HubException: "
    "Dropping a transport needs a hub started with --chaos (hubcli serve --chaos)."
)


async def test_without_chaos_there_is_nothing_to_cut(start_hub: StartHub) -> None:
    hub = await start_hub(allow_stateful_reconnect=True)
    async with RawHub.connect(hub.url, stateful=True) as raw:
        assert (await raw.invoke("DropTransport")).error == NEEDS_CHAOS
        assert (await raw.invoke("Add", 1, 2)).result == 3


async def test_long_polling_has_no_lasting_connection_to_cut(start_hub: StartHub) -> None:
    hub = await start_hub(**CHAOS)
    async with raw_hub(hub.url, "longpolling") as raw:
        completion = await raw.invoke("DropConnection")
        assert completion.error is not None
        assert completion.error.endswith(
            "HubException: Long polling has no lasting TCP connection to drop; "
            "use WebSockets or Server-Sent Events."
        )


async def test_the_front_carries_every_transport(start_hub: StartHub) -> None:
    hub = await start_hub(**CHAOS)
    for transport in ("websockets", "longpolling"):
        async with raw_hub(hub.url, transport) as raw:
            assert len(hub.app.front) >= 1
            assert (await raw.invoke("Echo", {"through": transport})).result == {
                "through": transport
            }
            items, _ = await raw.stream("FastStream", 20000)
            assert items == list(range(20000))


async def test_dropping_a_connection_that_is_not_stateful_ends_it(start_hub: StartHub) -> None:
    hub = await start_hub(**CHAOS)
    state = hub.app.state
    async with RawHub.connect(hub.url) as raw:
        raw_id = await connection_id(raw)
        await drop(raw)
    assert await state.wait_until(lambda: raw_id not in state.connections, 5)


async def test_drop_connection_forgets_the_connection(start_hub: StartHub) -> None:
    hub = await start_hub(**CHAOS)
    state = hub.app.state
    async with RawHub.connect(hub.url, stateful=True) as raw:
        raw_id = await connection_id(raw)
        await raw.send(Invocation("DropConnection", [], "drop"))
        received = await raw.receive_all()
        assert not [m for m in received if not isinstance(m, Ping)]
        assert raw.ws.closed is not None
        assert raw.ws.closed.code == 1006
    # Forgotten at once: no window, the hub ends, a resume finds nothing.
    assert await state.wait_until(lambda: raw_id not in state.connections, 5)
    refusal = await ws_refusal(f"{hub.url}?id={raw.token}")
    assert (refusal.status_code, refusal.content) == (404, b"No Connection with that ID")
    # The client's way back: a new negotiate, a new connection.
    async with RawHub.connect(hub.url, stateful=True) as again:
        assert await connection_id(again) != raw_id


async def stream_across_drops(
    url: str, protocol: str, invocation: StreamInvocation
) -> tuple[ReplayLog, list[int]]:
    """Run a stream on a stateful connection, resuming whenever the socket drops;
    what the client keeps, and the first id of each replay."""
    log = ReplayLog()
    sequences: list[int] = []
    async with RawHub.connect(url, protocol=protocol, stateful=True) as raw:
        token = raw.token
        await raw.send(invocation)
        received = await raw.receive_all()
    for message in received:
        log.take(message)
    while not log.kept or not isinstance(log.kept[-1], Completion):
        async with RawHub.resume(url, token, protocol=protocol) as resumed:
            while not log.kept or not isinstance(log.kept[-1], Completion):
                message = await resumed.receive()
                if isinstance(message, Sequence):
                    sequences.append(message.sequence_id)
                log.take(message)
    return log, sequences


def stream_items(log: ReplayLog) -> list[object]:
    return [m.item for m in log.kept if isinstance(m, StreamItem)]


@pytest.mark.parametrize("protocol", PROTOCOLS)
async def test_resumable_counter_loses_nothing_and_repeats_nothing(
    start_hub: StartHub, protocol: str
) -> None:
    hub = await start_hub(**CHAOS)
    log, sequences = await stream_across_drops(
        hub.url, protocol, StreamInvocation("s", "ResumableCounter", [100, 0, 40])
    )
    assert stream_items(log) == list(range(100))
    assert log.kept[-1] == Completion.void("s")
    # Nothing was acknowledged: the replay starts at the first item.
    assert sequences == [1]


@pytest.mark.parametrize("protocol", PROTOCOLS)
async def test_a_bulk_stream_is_replayed_message_by_message(
    start_hub: StartHub, protocol: str
) -> None:
    hub = await start_hub(stateful_reconnect_buffer_size=20_000, keepalive=0.1, **CHAOS)
    count = 5000
    async with RawHub.connect(hub.url, protocol=protocol, stateful=True) as raw:
        await raw.send(StreamInvocation("s", "FastStream", [count]))
        log = ReplayLog()
        pings = 0
        while pings < 2:  # until the gate holds the stream
            message = await raw.receive()
            pings = pings + 1 if isinstance(message, Ping) else 0
            log.take(message)
        held = log.latest
        assert 100 < held < count
        # Acknowledge up to an id inside a bulk write: the server trims it there.
        acked = held // 2 + 1
        await raw.send(Ack(acked))
        await drop(raw)
    async with RawHub.resume(hub.url, raw.token, protocol=protocol) as resumed:
        first = await resumed.receive()
        assert first == Sequence(acked + 1)
        log.take(first)
        while Completion.void("s") not in log.kept:
            log.take(await resumed.receive())
            await resumed.send(Ack(log.latest))
    assert stream_items(log) == list(range(count))
    assert Completion.with_result("drop", None) in log.kept


@pytest.mark.parametrize("chaos", [False, True])
async def test_a_reset_from_the_client_leaves_the_connection_resumable(
    start_hub: StartHub, chaos: bool
) -> None:
    # A client whose network fails: its socket reset, with or without the relay.
    hub = await start_hub(chaos=chaos, allow_stateful_reconnect=True)
    async with RawHub.connect(hub.url, stateful=True) as raw:
        raw_id = await connection_id(raw)
        connection = hub.app.connections.get(raw.token)
        assert connection is not None
        sock = raw.ws._stream.socket  # type: ignore[attr-defined]
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        sock.close()
        await raw.receive_all()
    # The server notices by itself (through the relay too): detached, waiting.
    with trio.fail_after(5):
        while connection.status is not Status.INACTIVE:
            await connection.status_changed.wait()
    async with RawHub.resume(hub.url, raw.token) as resumed:
        assert await resumed.receive() == Sequence(1)
        assert await resumed.receive() == Completion.with_result("1", raw_id)


async def test_drop_transport_resets_the_tcp_connection(start_hub: StartHub) -> None:
    hub = await start_hub(**CHAOS)
    token = (await negotiate(hub.url, stateful=True))["connectionToken"]
    async with BareWebSocket.connect(f"{hub.url}?id={token}") as bare:
        await bare.send_text('{"protocol":"json","version":2}\x1e')
        assert await bare.next_event() == wsproto.events.TextMessage(data="{}\x1e")
        await bare.send_text(
            '{"type":1,"invocationId":"d","target":"DropTransport","arguments":[]}\x1e'
        )
        # Not a close frame, not an orderly end of the stream: a reset.
        with pytest.raises(ConnectionResetError):
            await bare.next_event()
