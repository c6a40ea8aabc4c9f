"""Several calls in flight on one connection, read by several tasks: the normal case
once a hub pushes and a client does more than one thing at a time."""

from __future__ import annotations

import pytest
import trio

import hubcli
from hubcli.client import Hub

PROTOCOLS = ["json", "messagepack"]
TRANSPORTS = ["websockets", "sse", "longpolling"]


def _combinations() -> list[tuple[str, str]]:
    return [
        (transport, protocol)
        for transport in TRANSPORTS
        for protocol in PROTOCOLS
        if not (transport == "sse" and protocol == "messagepack")
    ]


async def _read(hub: Hub, count: int, pause_every: int) -> list[int]:
    items: list[int] = []
    async with hub.stream("Forever", 0) as stream:
        async for item in stream:
            items.append(item)
            if pause_every and len(items) % pause_every == 0:
                await trio.sleep(0.005)
            if len(items) == count:
                break
    return items


@pytest.mark.parametrize(("transport", "protocol"), _combinations())
async def test_two_streams_read_by_two_tasks(
    shared_hub_server: str, transport: str, protocol: str
) -> None:
    # Each stream holds only what its own messages weigh: with both in flight the
    # receive loop buffers instead of waiting, and a frame carrying items of both
    # streams must not be charged to each in full (a false "ran more than N bytes
    # ahead of its reader" within seconds).
    count = 30_000
    results: dict[str, list[int]] = {}
    with trio.fail_after(60):
        async with hubcli.connect(shared_hub_server, transport=transport, protocol=protocol) as hub:

            async def read(name: str, pause_every: int) -> None:
                results[name] = await _read(hub, count, pause_every)

            async with trio.open_nursery() as nursery:
                nursery.start_soon(read, "steady", 0)
                nursery.start_soon(read, "pausing", 500)
            assert await hub.invoke("Echo", "still fine") == "still fine"
    assert results == {"steady": list(range(count)), "pausing": list(range(count))}


@pytest.mark.parametrize("protocol", PROTOCOLS)
async def test_streams_invokes_and_uploads_in_flight_together(
    shared_hub_server: str, protocol: str
) -> None:
    async def numbers(count: int) -> object:
        for number in range(count):
            yield number
            if number % 100 == 0:
                await trio.sleep(0)

    sums: list[float] = []
    echoes: list[int] = []
    streamed: list[list[int]] = []
    with trio.fail_after(60):
        async with hubcli.connect(shared_hub_server, protocol=protocol) as hub:

            async def stream() -> None:
                streamed.append([item async for item in hub.stream("Counter", 2000, 0)])

            async def upload() -> None:
                sums.append(await hub.invoke("UploadSum", numbers(3000)))

            async def invokes() -> None:
                for index in range(200):
                    echoes.append(await hub.invoke("Echo", index))

            async with trio.open_nursery() as nursery:
                for _ in range(3):
                    nursery.start_soon(stream)
                nursery.start_soon(upload)
                nursery.start_soon(invokes)
    assert streamed == [list(range(2000))] * 3
    assert sums == [sum(range(3000))]
    assert echoes == list(range(200))
