"""A graceful stop: every transport's client gets Close (allowReconnect) first."""

from __future__ import annotations

import httpx
import trio
import trio.testing

from hubcli.protocol import Close
from hubcli.server import HubApp, ServerOptions, serve
from tests.server.rawclient import RawHub, negotiate

CLOSE = b'{"type":7,"allowReconnect":true}\x1e'
HANDSHAKE = b'{"protocol":"json","version":1}\x1e'


async def test_stop_closes_websockets_sse_and_long_polling_clients() -> None:
    options = ServerOptions(port=0)
    app = HubApp(options)
    stop = trio.Event()
    async with trio.open_nursery() as nursery:
        url = await nursery.start(
            lambda task_status: serve(options, stop=stop, app=app, task_status=task_status)
        )
        async with httpx.AsyncClient(timeout=10) as client:
            poll_url = f"{url}?id={(await negotiate(url))['connectionToken']}"
            await client.get(poll_url)
            await client.post(poll_url, content=HANDSHAKE)
            assert (await client.get(poll_url)).content == b"{}\x1e"

            sse_url = f"{url}?id={(await negotiate(url))['connectionToken']}"
            async with (
                RawHub.connect(url) as ws,
                client.stream("GET", sse_url, headers={"Accept": "text/event-stream"}) as sse,
            ):
                events = sse.aiter_raw()
                assert await events.__anext__() == b":\r\n"
                await client.post(sse_url, content=HANDSHAKE)
                assert await events.__anext__() == b"data: {}\x1e\r\n\r\n"
                assert len(app.state.connections) == 3

                polled = trio.Event()
                poll_answer: list[bytes] = []

                async def poll() -> None:
                    poll_answer.append((await client.get(poll_url)).content)
                    polled.set()

                nursery.start_soon(poll)
                # The poll is pending (the server waits to answer it) before the stop,
                # as the test means: not racing the shutdown with its request.
                await trio.testing.wait_all_tasks_blocked(0.05)
                stop.set()
                assert await ws.receive_all() == [Close(None, allow_reconnect=True)]
                rest = b"".join([chunk async for chunk in events])
                assert rest == b"data: " + CLOSE + b"\r\n\r\n"
                with trio.fail_after(10):
                    await polled.wait()
                assert poll_answer == [CLOSE]
