"""The Python side of bench/roundtrip_bench.py: N sequential Echo calls on one open
connection, timed inside the process (connecting and start-up excluded).

    python bench/roundtrip_clients.py hubcli URL N [json|messagepack]
    python bench/roundtrip_clients.py bare URL N
    python bench/roundtrip_clients.py interleave URL,URL... N BLOCK

Prints the mean microseconds a call, of wall time and of this process's CPU.
`interleave` makes N hubcli calls on each hub, BLOCK at a time on each in turn (a
slow spell of a shared machine falls on all alike), and prints per hub the median
of its blocks' microseconds a call, one a line. `bare` is trio-websocket alone
exchanging the same JSON frames with the same server (negotiate, handshake, then
one Invocation and a wait for its Completion at a time): the floor of the stack
hubcli was built on.
"""

from __future__ import annotations

import statistics
import sys
import time
from contextlib import AsyncExitStack

import httpx
import orjson
import trio
import trio_websocket

WARMUP = 200


async def hubcli_client(url: str, count: int, protocol: str) -> tuple[float, float]:
    import hubcli

    async with hubcli.connect(url, protocol=protocol, transport="websockets") as hub:
        for index in range(WARMUP):
            await hub.invoke("Echo", index)
        started, cpu = time.perf_counter(), time.process_time()
        for index in range(count):
            await hub.invoke("Echo", index)
        return time.perf_counter() - started, time.process_time() - cpu


async def bare_client(url: str, count: int) -> tuple[float, float]:
    async with httpx.AsyncClient() as http:
        negotiated = (await http.post(f"{url}/negotiate?negotiateVersion=1")).json()
    ws_url = "ws" + url[len("http") :] + "?id=" + negotiated["connectionToken"]
    async with trio_websocket.open_websocket_url(ws_url) as ws:
        await ws.send_message('{"protocol":"json","version":1}\x1e')
        await ws.get_message()

        async def call(index: int) -> None:
            invocation_id = str(index)
            await ws.send_message(
                f'{{"type":1,"invocationId":"{invocation_id}","target":"Echo",'
                f'"arguments":[{index}]}}\x1e'
            )
            while True:
                message = await ws.get_message()
                # The hub answers in text frames; a binary one would carry the same.
                text = message if isinstance(message, str) else message.decode()
                for record in text.split("\x1e")[:-1]:
                    value = orjson.loads(record)
                    if value["type"] == 3 and value["invocationId"] == invocation_id:
                        return

        for index in range(WARMUP):
            await call(index)
        started, cpu = time.perf_counter(), time.process_time()
        for index in range(WARMUP, WARMUP + count):
            await call(index)
        return time.perf_counter() - started, time.process_time() - cpu


async def interleaved_clients(urls: list[str], count: int, block: int) -> list[float]:
    import hubcli

    async with AsyncExitStack() as stack:
        hubs = [
            await stack.enter_async_context(hubcli.connect(url, transport="websockets"))
            for url in urls
        ]
        for hub in hubs:
            for index in range(WARMUP):
                await hub.invoke("Echo", index)
        blocks: list[list[float]] = [[] for _ in hubs]
        for done in range(0, count, block):
            size = min(block, count - done)
            shift = done // block % len(hubs)
            for turn in range(len(hubs)):
                index = (turn + shift) % len(hubs)
                started = time.perf_counter()
                for call in range(size):
                    await hubs[index].invoke("Echo", call)
                blocks[index].append((time.perf_counter() - started) / size * 1e6)
        return [statistics.median(times) for times in blocks]


def main() -> None:
    mode, url, count_text, *rest = sys.argv[1:]
    count = int(count_text)
    if mode == "interleave":
        for micros in trio.run(interleaved_clients, url.split(","), count, int(rest[0])):
            print(f"{micros:.1f}")
        return
    if mode == "hubcli":
        elapsed, cpu = trio.run(hubcli_client, url, count, rest[0] if rest else "json")
    else:
        elapsed, cpu = trio.run(bare_client, url, count)
    print(f"{elapsed / count * 1e6:.1f} {cpu / count * 1e6:.1f}")


if __name__ == "__main__":
    main()
