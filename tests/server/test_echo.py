"""`/echo`: a raw connection (ASP.NET Core's ConnectionHandler) beside the hub: the
same negotiate and transports, no handshake, every payload written back as it came."""

from __future__ import annotations

import httpx
import trio
from trio_websocket import open_websocket_url

from tests.server.conftest import Hub, StartHub

TIMEOUT = 10


async def test_a_websocket_without_negotiate_gets_its_payloads_back(hub: Hub) -> None:
    url = hub.base.replace("http", "ws", 1) + "/echo"
    with trio.fail_after(TIMEOUT):
        async with open_websocket_url(url) as ws:
            for payload in ("message", "é\x1e{not a hub message"):
                await ws.send_message(payload)
                assert await ws.get_message() == payload
            # Bytes in, text frames out: the echo never asks for binary.
            await ws.send_message(b"bytes")
            assert await ws.get_message() == "bytes"


async def test_long_polling_through_negotiate(hub: Hub) -> None:
    with trio.fail_after(TIMEOUT):
        async with httpx.AsyncClient(base_url=hub.base) as client:
            negotiated = await client.post("/echo/negotiate", params={"negotiateVersion": "1"})
            assert negotiated.status_code == 200
            body = negotiated.json()
            transports = {t["transport"] for t in body["availableTransports"]}
            assert transports == {"WebSockets", "ServerSentEvents", "LongPolling"}
            token = body["connectionToken"]
            first = await client.get("/echo", params={"id": token})  # the opening poll
            assert (first.status_code, first.content) == (200, b"")
            assert (await client.post("/echo", params={"id": token}, content=b"abc")).status_code
            polled = await client.get("/echo", params={"id": token})
            assert (polled.status_code, polled.content) == (200, b"abc")
            assert (await client.delete("/echo", params={"id": token})).status_code == 202


async def test_server_sent_events_carry_the_echo(hub: Hub) -> None:
    with trio.fail_after(TIMEOUT):
        async with httpx.AsyncClient(base_url=hub.base) as client:
            negotiated = await client.post("/echo/negotiate", params={"negotiateVersion": "1"})
            token = negotiated.json()["connectionToken"]
            headers = {"Accept": "text/event-stream"}
            async with client.stream("GET", "/echo", params={"id": token}, headers=headers) as sse:
                assert sse.status_code == 200
                await client.post("/echo", params={"id": token}, content=b"over sse")
                received = b""
                async for chunk in sse.aiter_bytes():
                    received += chunk
                    if b"data: over sse" in received:
                        break


async def test_the_hub_stays_where_it_is(start_hub: StartHub) -> None:
    # A hub mounted at /echo keeps its path: the echo steps aside.
    hub = await start_hub(path="/echo")
    async with httpx.AsyncClient() as client:
        negotiated = await client.post(f"{hub.url}/negotiate", params={"negotiateVersion": "1"})
    assert negotiated.status_code == 200
    url = hub.url.replace("http", "ws", 1)
    async with open_websocket_url(url) as ws:
        await ws.send_message('{"protocol":"json","version":1}\x1e')
        assert await ws.get_message() == "{}\x1e"
