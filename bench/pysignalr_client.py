"""pysignalr (asyncio) as a benchmark client, beside bench/node_client.cjs.

    python pysignalr_client.py stream URL METHOD [JSON_ARG...]   count the items, print the count
    python pysignalr_client.py invoke URL METHOD [JSON_ARG...]   print the result as JSON

Runs in bench/.venv-others (pysignalr is not a hubcli dependency), which
bench/python_clients_bench.py creates. JSON protocol over WebSockets, after negotiate,
the library's defaults otherwise (logging too: nothing below WARNING is shown).

pysignalr's SignalRClient has no stop(): run() is the connection's whole life and only
returns by cancellation, so the client is run as a task that is cancelled (and awaited,
so websockets sends its Close frame) once the stream's Completion arrives.
stream() registers its callbacks before it sends the StreamInvocation, so no item can
arrive before the counter is in place.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import sys
from typing import Any

from pysignalr.client import SignalRClient
from pysignalr.messages import CompletionMessage


async def run(mode: str, url: str, method: str, arguments: list[Any]) -> Any:
    client = SignalRClient(url)
    outcome: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
    count = 0

    def fail(message: Any) -> None:
        if not outcome.done():
            outcome.set_exception(RuntimeError(f"hub error: {message}"))

    async def on_next(item: Any) -> None:
        nonlocal count
        count += 1

    async def on_complete(message: CompletionMessage) -> None:
        if message.error:
            fail(message.error)
        elif not outcome.done():
            outcome.set_result(count if mode == "stream" else message.result)

    async def on_error(message: CompletionMessage) -> None:
        fail(message.error)

    async def on_open() -> None:
        if mode == "stream":
            await client.stream(method, arguments, on_next, on_complete, on_error)
        else:
            await client.send(method, arguments, on_complete)

    client.on_open(on_open)
    client.on_error(on_error)
    runner = asyncio.create_task(client.run())
    try:
        await asyncio.wait([runner, outcome], return_when=asyncio.FIRST_COMPLETED)
        if not outcome.done():  # run() ended first: it only does so by raising
            runner.result()
            raise RuntimeError("pysignalr's run() returned before the call completed")
        return outcome.result()
    finally:
        runner.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await runner


def main() -> None:
    mode, url, method, *raw = sys.argv[1:]
    if mode not in ("stream", "invoke"):
        raise SystemExit(f"unknown mode {mode!r}: stream or invoke")
    result = asyncio.run(run(mode, url, method, [json.loads(text) for text in raw]))
    print(json.dumps(result))


if __name__ == "__main__":
    main()
