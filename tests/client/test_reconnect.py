"""Automatic reconnect and first-connect retries, through the library, against real
`hubcli serve` processes stopped and started again on the same port."""

from __future__ import annotations

import socket
from collections.abc import Callable
from typing import Any

import pytest
import trio

import hubcli
from hubcli.client import (
    AuthenticationError,
    ConnectError,
    ConnectionClosedError,
    Event,
    Reconnected,
    ReconnectFailedError,
    Reconnecting,
    ReconnectPolicy,
)
from tests.serverproc import HubServer

ServerFactory = Callable[..., HubServer]
QUICK = ReconnectPolicy.of([0, 0.2, 0.5, 1, 2])


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def port() -> int:
    return free_port()


async def _until(condition: Callable[[], bool]) -> None:
    while not condition():
        await trio.sleep(0.01)


@pytest.mark.parametrize("transport", ["websockets", "longpolling"])
async def test_a_lost_connection_comes_back_with_its_handlers_and_event_streams(
    start_hub_server: ServerFactory, port: int, transport: str
) -> None:
    server = start_hub_server("--port", str(port))
    seen: list[Any] = []
    with trio.fail_after(30):
        async with hubcli.connect(
            server.url, reconnect=QUICK, transport=transport, handlers={"Tick": seen.append}
        ) as hub:
            events = hub.events("Tick", lifecycle=True)
            first_id = hub.connection_id
            await hub.invoke("Notify", "Tick", 1, 0)
            assert await anext(events) == Event("Tick", [0])
            server.stop()  # SIGINT: the hub says Close with allowReconnect to everyone
            assert isinstance(await anext(events), Reconnecting)
            with pytest.raises(ConnectionClosedError):
                await hub.invoke("Echo", "while down")
            start_hub_server("--port", str(port))
            reconnected = await anext(events)
            assert reconnected == Reconnected(hub.connection_id)
            assert hub.connection_id != first_id
            assert hub.reconnects == 1
            await hub.invoke("Notify", "Tick", 1, 0)
            assert await anext(events) == Event("Tick", [0])
            await _until(lambda: len(seen) == 2)
    assert seen == [0, 0]


async def test_a_killed_server_and_calls_in_flight(
    start_hub_server: ServerFactory, port: int
) -> None:
    # SIGKILL: no Close at all, the transport drops; the call in flight fails and is
    # not invoked again on the next connection.
    server = start_hub_server("--port", str(port))
    with trio.fail_after(30):
        async with hubcli.connect(server.url, reconnect=QUICK) as hub:
            events = hub.events(lifecycle=True)
            async with trio.open_nursery() as nursery:
                failed: list[BaseException] = []

                async def slow_call() -> None:
                    try:
                        await hub.invoke("Slow", 60_000)
                    except ConnectionClosedError as error:
                        failed.append(error)

                nursery.start_soon(slow_call)
                await trio.sleep(0.3)
                server.process.kill()
            assert failed
            assert isinstance(await anext(events), Reconnecting)
            start_hub_server("--port", str(port))
            assert isinstance(await anext(events), Reconnected)
            assert await hub.invoke("Echo", "back") == "back"


async def test_no_reconnect_after_a_close_without_allow_reconnect(shared_hub_server: str) -> None:
    with trio.fail_after(10):
        async with hubcli.connect(shared_hub_server, reconnect=QUICK) as hub:
            events = hub.events(lifecycle=True)
            with pytest.raises(ConnectionClosedError):
                await hub.invoke("CloseConnection", None, False)
            with pytest.raises(ConnectionClosedError) as ended:
                await anext(events)
    assert not isinstance(ended.value, ReconnectFailedError)


async def test_reconnect_after_a_close_with_allow_reconnect(shared_hub_server: str) -> None:
    with trio.fail_after(10):
        async with hubcli.connect(shared_hub_server, reconnect=QUICK) as hub:
            events = hub.events(lifecycle=True)
            with pytest.raises(ConnectionClosedError, match="going"):
                await hub.invoke("CloseConnection", "going", True)
            assert await anext(events) == Reconnecting("Server returned an error on close: going")
            assert isinstance(await anext(events), Reconnected)


async def test_giving_up_ends_with_reconnect_failed(
    start_hub_server: ServerFactory, port: int
) -> None:
    server = start_hub_server("--port", str(port))
    with trio.fail_after(20):
        async with hubcli.connect(server.url, reconnect=ReconnectPolicy.of([0, 0.1])) as hub:
            events = hub.events()
            server.stop()
            with pytest.raises(ReconnectFailedError, match="exhausted after 2 failed attempts"):
                await anext(events)


async def test_a_refused_token_stops_reconnecting_at_once(
    start_hub_server: ServerFactory, port: int
) -> None:
    server = start_hub_server("--port", str(port), "--require-token", "old")
    with trio.fail_after(20):
        async with hubcli.connect(
            server.url, access_token="old", reconnect=ReconnectPolicy.forever()
        ) as hub:
            events = hub.events()
            server.stop()
            start_hub_server("--port", str(port), "--require-token", "new")
            with pytest.raises(AuthenticationError):
                await anext(events)


async def test_each_attempt_asks_the_token_factory_again(
    start_hub_server: ServerFactory, port: int
) -> None:
    tokens = iter(["first", "second", "second", "second"])
    server = start_hub_server("--port", str(port), "--require-token", "first")
    with trio.fail_after(20):
        async with hubcli.connect(
            server.url, access_token=lambda: next(tokens), reconnect=QUICK
        ) as hub:
            events = hub.events(lifecycle=True)
            server.stop()
            start_hub_server("--port", str(port), "--require-token", "second")
            assert isinstance(await anext(events), Reconnecting)
            assert isinstance(await anext(events), Reconnected)


async def test_connect_retries_reach_a_hub_that_starts_late(
    start_hub_server: ServerFactory, port: int
) -> None:
    url = f"http://127.0.0.1:{port}/hub"
    with trio.fail_after(30):
        async with trio.open_nursery() as nursery:

            async def start_later() -> None:
                await trio.sleep(2)
                # Blocks the loop while the hub starts: the retries only wait longer.
                start_hub_server("--port", str(port))

            nursery.start_soon(start_later)
            async with hubcli.connect(url, connect_retries=20) as hub:
                assert await hub.invoke("Echo", 1) == 1
    with pytest.raises(ConnectError):
        async with hubcli.connect(f"http://127.0.0.1:{free_port()}/hub", connect_retries=1):
            pass


async def test_connect_retries_never_retry_a_refused_token(
    start_hub_server: ServerFactory, caplog: pytest.LogCaptureFixture
) -> None:
    server = start_hub_server("--require-token", "right")
    with caplog.at_level("INFO", logger="hubcli"), pytest.raises(AuthenticationError):
        async with hubcli.connect(server.url, access_token="wrong", connect_retries=5):
            pass
    assert "retry" not in caplog.text
