"""Stateful reconnect through the library against `hubcli serve --chaos
--allow-stateful-reconnect`, whose fault methods cut the TCP connection as a
network fault does: calls in flight go on, nothing is lost or delivered twice."""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator, Callable

import pytest
import trio

import hubcli
from hubcli.client import ConnectionClosedError, Event, Hub
from tests.serverproc import HubServer

ServerFactory = Callable[..., HubServer]
PROTOCOLS = ["json", "messagepack"]


@pytest.fixture(scope="module")
def chaos_hub() -> AsyncIterator[str]:  # type: ignore[misc]
    from tests import serverproc

    server = serverproc.start_hub_server("--chaos", "--allow-stateful-reconnect")
    yield server.url
    server.stop()


@pytest.mark.parametrize("protocol", PROTOCOLS)
@pytest.mark.parametrize("drop_after", [0, 7, 1999, 4999])
async def test_a_stream_across_a_drop_is_whole(
    chaos_hub: str, protocol: str, drop_after: int
) -> None:
    with trio.fail_after(30):
        async with hubcli.connect(chaos_hub, protocol=protocol, stateful_reconnect=True) as hub:
            first_id = hub.connection_id
            items = [item async for item in hub.stream("ResumableCounter", 5000, 0, drop_after)]
            assert hub.resumes == 1
            assert hub.connection_id == first_id
            assert await hub.invoke("Echo", "same connection") == "same connection"
    assert items == list(range(5000))


async def test_without_stateful_reconnect_the_drop_ends_it(chaos_hub: str) -> None:
    items: list[int] = []

    async def read(hub: Hub) -> None:
        async for item in hub.stream("ResumableCounter", 5000, 0, 100):
            items.append(item)

    with trio.fail_after(30):
        async with hubcli.connect(chaos_hub) as hub:
            with pytest.raises(ConnectionClosedError):
                await read(hub)
    assert items == list(range(len(items)))
    assert len(items) < 5000


async def _drop_soon(hub: Hub, after: trio.Event) -> None:
    await after.wait()
    await hub.invoke("DropTransport")


@pytest.mark.parametrize("protocol", PROTOCOLS)
async def test_an_upload_across_a_drop_arrives_once(chaos_hub: str, protocol: str) -> None:
    count = 20_000
    halfway = trio.Event()

    async def lines() -> AsyncIterator[str]:
        for index in range(count):
            if index == count // 2:
                halfway.set()
            if index % 500 == 0:
                await trio.sleep(0.001)
            yield f"line {index}"

    expected = hashlib.sha256()
    for index in range(count):
        expected.update(f"line {index}\n".encode())
    with trio.fail_after(60):
        async with (
            hubcli.connect(chaos_hub, protocol=protocol, stateful_reconnect=True) as hub,
            trio.open_nursery() as nursery,
        ):
            nursery.start_soon(_drop_soon, hub, halfway)
            summary = await hub.invoke("UploadSummary", lines())
            assert hub.resumes == 1
    assert summary == {"count": count, "checksum": expected.hexdigest()}


@pytest.mark.parametrize("protocol", PROTOCOLS)
async def test_pushes_across_a_drop_arrive_once_in_order(chaos_hub: str, protocol: str) -> None:
    count = 30_000
    received: list[int] = []
    with trio.fail_after(60):
        async with hubcli.connect(chaos_hub, protocol=protocol, stateful_reconnect=True) as hub:
            events = hub.events("Tick")
            await hub.invoke("Notify", "Tick", count, 0)
            async for event in events:
                assert isinstance(event, Event)
                received.append(event.arguments[0])
                if len(received) == 100:
                    await hub.invoke("DropTransport")
                if len(received) == count:
                    break
            assert hub.resumes == 1
    assert received == list(range(count))


_COUNT_DEAD_SOCKETS = """
import gc, sys, trio, hubcli
from hubcli.client.transports.wsconnection import WebSocketConnection

async def main(url: str) -> None:
    async with hubcli.connect(url, stateful_reconnect=True) as hub:
        for _ in range(3):
            await hub.invoke("DropTransport")
        assert hub.resumes == 3
        gc.set_debug(gc.DEBUG_SAVEALL)
        gc.collect()
        print(sum(type(thing) is WebSocketConnection for thing in gc.garbage))

trio.run(main, sys.argv[1])
"""


def test_a_resume_leaves_no_cycles_behind(chaos_hub: str) -> None:
    """Each dropped socket is freed by reference counting, not left to the cycle
    collector: the CLI collects young objects rarely (startup.YOUNG_OBJECTS), and
    a listen resuming all day would grow by each dead socket's objects. (A process
    of its own: what earlier tests left is not this test's business.)"""
    import subprocess
    import sys

    result = subprocess.run(
        [sys.executable, "-c", _COUNT_DEAD_SOCKETS, chaos_hub],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert result.stdout.strip() == "0"
