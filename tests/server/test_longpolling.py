"""Long polling: the status of each poll, DELETE, and connections left behind."""

from __future__ import annotations

import httpx
import trio

from hubcli.server.connections import Status
from tests.server.conftest import Hub, StartHub
from tests.server.rawclient import negotiate

HANDSHAKE = b'{"protocol":"json","version":1}\x1e'


async def new_connection(hub: Hub, client: httpx.AsyncClient) -> str:
    token = (await negotiate(hub.url))["connectionToken"]
    return f"{hub.url}?id={token}"


async def started(hub: Hub, client: httpx.AsyncClient) -> str:
    """A long polling connection past its first poll and handshake."""
    url = await new_connection(hub, client)
    assert (await client.get(url)).status_code == 200
    assert (await client.post(url, content=HANDSHAKE)).status_code == 200
    assert (await client.get(url)).content == b"{}\x1e"
    return url


async def test_first_poll_answers_at_once_with_an_empty_200(hub: Hub) -> None:
    async with httpx.AsyncClient(timeout=10) as client:
        url = await new_connection(hub, client)
        first = await client.get(url)
        assert first.status_code == 200
        assert first.content == b""
        assert first.headers["content-type"] == "application/octet-stream"
        assert first.headers["content-length"] == "0"
        assert first.headers["cache-control"] == "no-cache, no-store"
        await client.post(url, content=HANDSHAKE)
        second = await client.get(url)
        assert (second.status_code, second.content) == (200, b"{}\x1e")
        assert second.headers["content-type"] == "application/octet-stream"


async def test_data_and_poll_timeout(start_hub: StartHub) -> None:
    hub = await start_hub(long_poll_timeout=0.3, keepalive=0.05)
    async with httpx.AsyncClient(timeout=10) as client:
        url = await started(hub, client)
        await client.post(
            url, content=b'{"type":1,"invocationId":"1","target":"Add","arguments":[1,2]}\x1e'
        )
        assert (await client.get(url)).content == b'{"type":3,"invocationId":"1","result":3}\x1e'
        # No pings over long polling: an idle poll ends empty after the poll timeout.
        start = trio.current_time()
        idle = await client.get(url)
        assert (idle.status_code, idle.content) == (200, b"")
        assert idle.headers["content-type"] == "text/plain"
        assert trio.current_time() - start >= 0.25


async def wait_for_pending_poll(hub: Hub) -> None:
    [connection] = hub.app.connections.all()
    with trio.fail_after(5):
        while connection.status is not Status.ACTIVE:
            await connection.status_changed.wait()


async def test_a_newer_poll_ends_the_pending_one_with_204(hub: Hub) -> None:
    async with httpx.AsyncClient(timeout=10) as client:
        url = await started(hub, client)
        older_done, newer_done = trio.Event(), trio.Event()
        responses: dict[str, httpx.Response] = {}
        async with trio.open_nursery() as nursery:

            async def poll(name: str, done: trio.Event) -> None:
                responses[name] = await client.get(url)
                done.set()

            nursery.start_soon(poll, "older", older_done)
            await wait_for_pending_poll(hub)
            nursery.start_soon(poll, "newer", newer_done)
            with trio.fail_after(5):
                await older_done.wait()
            assert (responses["older"].status_code, responses["older"].content) == (204, b"")
            await wait_for_pending_poll(hub)
            await client.post(
                url, content=b'{"type":1,"invocationId":"1","target":"Add","arguments":[1,2]}\x1e'
            )
            with trio.fail_after(5):
                await newer_done.wait()
        assert responses["newer"].content == b'{"type":3,"invocationId":"1","result":3}\x1e'


async def test_delete_ends_the_connection(hub: Hub) -> None:
    async with httpx.AsyncClient(timeout=10) as client:
        url = await started(hub, client)
        statuses: list[int] = []
        async with trio.open_nursery() as nursery:

            async def poll() -> None:
                statuses.append((await client.get(url)).status_code)

            nursery.start_soon(poll)
            await wait_for_pending_poll(hub)
            [connection] = hub.app.connections.all()
            deleted = await client.delete(url)
            assert deleted.status_code == 202
            assert deleted.headers["content-type"] == "text/plain"
        assert statuses == [204]
        with trio.fail_after(5):
            await connection.application_done.wait()
        assert (await client.get(url)).status_code == 404
        assert (await client.delete(url)).status_code == 404


async def test_after_a_server_close_the_next_poll_is_204_then_404(hub: Hub) -> None:
    async with httpx.AsyncClient(timeout=10) as client:
        url = await started(hub, client)
        await client.post(
            url,
            content=b'{"type":1,"invocationId":"1","target":"CloseConnection","arguments":["x",false]}\x1e',
        )
        assert (await client.get(url)).content == b'{"type":7,"error":"x"}\x1e'
        last = await client.get(url)
        assert last.status_code == 204
        assert last.content == b""
        assert (await client.get(url)).status_code == 404


async def test_a_client_that_stops_polling_is_dropped(start_hub: StartHub) -> None:
    hub = await start_hub(disconnect_timeout=0.3)
    async with httpx.AsyncClient(timeout=10) as client:
        url = await started(hub, client)
        [connection] = hub.app.connections.all()
        with trio.fail_after(5):
            await connection.application_done.wait()
        assert connection.status is Status.DISPOSED
        assert (await client.get(url)).status_code == 404


async def test_a_negotiated_connection_never_used_is_dropped(start_hub: StartHub) -> None:
    hub = await start_hub(disconnect_timeout=0.2)
    async with httpx.AsyncClient(timeout=10) as client:
        url = await new_connection(hub, client)
        [connection] = hub.app.connections.all()
        with trio.fail_after(5):
            while connection.status is not Status.DISPOSED:
                await connection.status_changed.wait()
        assert (await client.get(url)).status_code == 404


async def test_messagepack_over_long_polling(hub: Hub) -> None:
    from hubcli.protocol import Completion, Invocation, MessagePackHubProtocol

    protocol = MessagePackHubProtocol()
    async with httpx.AsyncClient(timeout=10) as client:
        url = await new_connection(hub, client)
        await client.get(url)
        await client.post(url, content=b'{"protocol":"messagepack","version":1}\x1e')
        assert (await client.get(url)).content == b"{}\x1e"
        await client.post(url, content=protocol.encode(Invocation("Echo", [b"\x00"], "1")))
        body = (await client.get(url)).content
        assert protocol.parser().feed(body) == [Completion.with_result("1", b"\x00")]
