"""aiosignalr 0.1.1's server hosting what bench/server_bench.py calls, for comparison.

    bench/.venv-aiosignalr/bin/python bench/aiosignalr_hub.py [PORT]

Prints http://127.0.0.1:PORT/hub, then serves (aiosignalr's standalone aiohttp frontend,
`SignalRServer.serve`, its default ServerOptions) until SIGTERM or SIGINT. The methods
mirror `hubcli serve`'s (hubcli/server/methods): Echo(message), UploadSum(stream of
numbers), UploadSummary(stream) -> {count, checksum: SHA-256 of each item as a line},
Broadcast(message) (client method Broadcast on every connection). aiosignalr matches
method names case-insensitively and takes a parameter annotated IncomingStream as an
upload. Runs only in its own venv (aiosignalr is not a hubcli dependency).

No `from __future__ import annotations` here: aiosignalr reads the return annotation
object to decide whether a method has a result, and the IncomingStream annotation to
bind uploads.
"""

import asyncio
import hashlib
import json
import signal
import sys
from typing import Any

from aiosignalr.server import Hub, IncomingStream, SignalRServer


def item_line(item: Any) -> bytes:
    text = item if isinstance(item, str) else json.dumps(item, separators=(",", ":"))
    return text.encode("utf-8", "surrogatepass") + b"\n"


class BenchHub(Hub):
    async def Echo(self, message: Any) -> Any:
        return message

    async def UploadSum(self, stream: IncomingStream) -> float:
        total = 0
        async for item in stream:
            total += item
        return total

    async def UploadSummary(self, stream: IncomingStream) -> dict:
        digest = hashlib.sha256()
        count = 0
        async for item in stream:
            digest.update(item_line(item))
            count += 1
        return {"count": count, "checksum": digest.hexdigest()}

    async def Broadcast(self, message: Any) -> None:
        await self.clients.all_.send("Broadcast", message)


async def main(port: int) -> None:
    server = SignalRServer(BenchHub)
    host, bound = await server.serve("127.0.0.1", port, path="/hub")
    print(f"http://{host}:{bound}/hub", flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    await stop.wait()
    await server.close()


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]) if len(sys.argv) > 1 else 0))
