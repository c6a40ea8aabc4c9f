"""Server pings, the client timeout and the handshake of timers (shortened by options)."""

from __future__ import annotations

import trio

from hubcli.protocol import (
    Close,
    Completion,
    IncomingMessage,
    Invocation,
    Ping,
    StreamInvocation,
    StreamItem,
)
from tests.server.conftest import StartHub
from tests.server.rawclient import RawHub


async def test_server_pings_after_keepalive_of_silence(start_hub: StartHub) -> None:
    hub = await start_hub(keepalive=0.2)
    async with RawHub.connect(hub.url) as raw:
        start = trio.current_time()
        assert await raw.receive_frame() == b'{"type":6}\x1e'
        first = trio.current_time() - start
        assert await raw.receive_frame() == b'{"type":6}\x1e'
        second = trio.current_time() - start
    assert 0.15 <= first < 2
    assert 0.35 <= second < 4


async def test_pings_are_postponed_by_other_output(start_hub: StartHub) -> None:
    hub = await start_hub(keepalive=0.3)
    async with RawHub.connect(hub.url) as raw:
        # An item every 0.1 s leaves no 0.3 s gap for a ping.
        await raw.send(StreamInvocation("s", "Counter", [8, 100]))
        received: list[IncomingMessage] = []
        while not received or not isinstance(received[-1], Completion):
            received.append(await raw.receive())
    assert received == [*(StreamItem("s", i) for i in range(8)), Completion.void("s")]


async def test_client_silent_after_a_ping_is_dropped(start_hub: StartHub) -> None:
    hub = await start_hub(keepalive=0.1, client_timeout=0.4)
    async with RawHub.connect(hub.url) as raw:
        await raw.send(Ping())
        start = trio.current_time()
        received = await raw.receive_all()
        elapsed = trio.current_time() - start
    # HubConnectionContext's client timeout: an error, and allowReconnect (not Abort()).
    assert received[-1] == Close("Connection closed with an error.", allow_reconnect=True)
    assert set(received[:-1]) == {Ping()}
    assert 0.35 <= elapsed < 4


async def test_the_client_timeout_does_not_wait_for_a_later_ping(start_hub: StartHub) -> None:
    # The server's own pings are far apart: the timeout must be watched on its own,
    # though receiving no longer wakes the watcher for every frame.
    hub = await start_hub(keepalive=30, client_timeout=0.4)
    async with RawHub.connect(hub.url) as raw:
        # The invocation's dispatch lets the watcher run while it goes on, when the
        # client timeout is paused; it must look again once the dispatch is over.
        await raw.send(Ping(), Invocation("Echo", ["x"], "1"))
        start = trio.current_time()
        received = await raw.receive_all()
        elapsed = trio.current_time() - start
    assert received[0] == Completion.with_result("1", "x")
    assert received[-1] == Close("Connection closed with an error.", allow_reconnect=True)
    assert 0.35 <= elapsed < 4


async def test_client_timeout_close_with_detailed_errors(start_hub: StartHub) -> None:
    hub = await start_hub(keepalive=0.1, client_timeout=0.3, detailed_errors=True)
    async with RawHub.connect(hub.url) as raw:
        await raw.send(Ping())
        received = await raw.receive_all()
    assert received[-1] == Close(
        "Connection closed with an error. OperationCanceledException: Client hasn't sent a "
        "message/ping within the configured ClientTimeoutInterval.",
        allow_reconnect=True,
    )


async def test_client_that_keeps_talking_stays(start_hub: StartHub) -> None:
    hub = await start_hub(keepalive=0.1, client_timeout=0.4)
    async with RawHub.connect(hub.url) as raw:
        for _ in range(8):
            await raw.send(Ping())
            await trio.sleep(0.1)
        assert (await raw.invoke("Add", 1, 2)).result == 3


async def test_client_timeout_waits_for_the_first_ping(start_hub: StartHub) -> None:
    # The real server arms the client timeout on the first Ping it receives.
    hub = await start_hub(keepalive=0.1, client_timeout=0.2)
    async with RawHub.connect(hub.url) as raw:
        with trio.move_on_after(0.8):
            while True:
                assert await raw.receive() == Ping()
        assert (await raw.invoke("Add", 1, 2)).result == 3


async def test_a_long_invocation_pauses_the_client_timeout(start_hub: StartHub) -> None:
    hub = await start_hub(keepalive=0.1, client_timeout=0.3)
    async with RawHub.connect(hub.url) as raw:
        await raw.send(Ping())
        # Slow holds the invocation slot, so the next invocation is being
        # dispatched (waiting for it) for 0.6 s: no timeout meanwhile.
        await raw.send_raw(
            '{"type":1,"invocationId":"a","target":"Slow","arguments":[600]}\x1e'
            '{"type":1,"invocationId":"b","target":"Add","arguments":[1,1]}\x1e'
        )
        assert (await raw.receive_completion("b")).result == 2
