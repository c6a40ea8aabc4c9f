"""The library API over every transport, in-process (trio) against `hubcli serve`."""

from __future__ import annotations

import hashlib
import logging
from collections.abc import AsyncIterator, Callable

import pytest
import trio

import hubcli
from hubcli.client import ItemBatches, ServerTimeoutError, links
from tests.cli.hubcli_process import run
from tests.serverproc import HubServer

ServerFactory = Callable[..., HubServer]
COMBINATIONS = [
    ("websockets", "json"),
    ("websockets", "messagepack"),
    ("sse", "json"),
    ("longpolling", "json"),
    ("longpolling", "messagepack"),
]


async def _numbers(count: int) -> AsyncIterator[int]:
    for number in range(1, count + 1):
        yield number


@pytest.mark.parametrize(("transport", "protocol"), COMBINATIONS)
async def test_every_call_kind(shared_hub_server: str, transport: str, protocol: str) -> None:
    async with hubcli.connect(shared_hub_server, transport=transport, protocol=protocol) as hub:
        assert hub.transport == {"websockets": "WebSockets", "sse": "ServerSentEvents"}.get(
            transport, "LongPolling"
        )
        assert await hub.invoke("Add", 2, 3) == 5
        assert await hub.invoke("Echo", {"a": [1, None, "é"]}) == {"a": [1, None, "é"]}
        await hub.send("Broadcast", "hello")
        assert [item async for item in hub.stream("Counter", 5, 0)] == [0, 1, 2, 3, 4]
        async with hub.stream("FastStream", 20000) as stream:
            items = [item async for batch in stream.batches() for item in batch]
        assert items == list(range(20000))

        async def batches() -> AsyncIterator[list[int]]:
            yield list(range(1, 101))
            yield list(range(101, 301))

        expected = hashlib.sha256("".join(f"{n}\n" for n in range(1, 301)).encode()).hexdigest()
        summary = await hub.invoke("UploadSummary", ItemBatches(batches()))
        assert summary == {"count": 300, "checksum": expected}
        assert [item async for item in hub.stream("StreamEchoInt", _numbers(5))] == [1, 2, 3, 4, 5]
        before = await hub.invoke("GetCancelledStreamCount")
        async with hub.stream("Forever", 1) as forever:
            async for item in forever:
                if item == 2:
                    break
        assert await hub.invoke("WaitForCancelledStreams", before + 1, 10000) >= before + 1


async def test_concurrent_sends_share_posts(
    shared_hub_server: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="httpx")
    async with hubcli.connect(shared_hub_server, transport="longpolling") as hub:
        results: dict[int, int] = {}

        async def add(n: int) -> None:
            results[n] = await hub.invoke("Add", n, n)

        async with trio.open_nursery() as nursery:
            for n in range(40):
                nursery.start_soon(add, n)
    assert results == {n: 2 * n for n in range(40)}
    posts = [r for r in caplog.records if r.name == "httpx" and "POST" in r.getMessage()]
    # 40 invocations plus handshake and Close, in fewer POSTs: the ones queued behind
    # a POST in flight went together in the next.
    assert len(posts) < 30


async def test_long_polling_has_no_pings_and_no_default_server_timeout(
    start_hub_server: ServerFactory,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    caplog.set_level(logging.DEBUG, logger="hubcli")
    server = start_hub_server("--keepalive", "60")
    # A default short enough to see: WebSockets time out on it, Long Polling does not.
    monkeypatch.setattr(links, "DEFAULT_SERVER_TIMEOUT_SECONDS", 0.4)
    async with hubcli.connect(server.url, transport="longpolling", keepalive_interval=0.1) as hub:
        assert await hub.invoke("Slow", 1000) == 1000
    assert not [r for r in caplog.records if r.getMessage() == '-> {"type":6}\u241e']
    async with hubcli.connect(server.url, transport="websockets") as hub:
        with pytest.raises(ServerTimeoutError):
            await hub.invoke("Slow", 3000)
    # An explicit timeout applies to every transport.
    async with hubcli.connect(server.url, transport="longpolling", server_timeout=0.4) as hub:
        with pytest.raises(ServerTimeoutError):
            await hub.invoke("Slow", 3000)


async def test_network_settings_at_once(shared_hub_server: str) -> None:
    settings = hubcli.client.NetworkSettings(headers=(("X-Trace", "abc"),), cookies=(("c", "1"),))
    async with hubcli.connect(shared_hub_server, transport="sse", network=settings) as hub:
        info = await hub.invoke("GetConnectionInfo")
    assert info["headers"]["x-trace"] == "abc"
    assert info["cookies"] == {"c": "1"}
    with pytest.raises(ValueError, match="not both"):
        async with hubcli.connect(shared_hub_server, network=settings, proxy="http://p:1"):
            pass


async def test_a_ws_url_means_a_websocket_without_negotiate_as_in_the_cli(
    shared_hub_server: str, caplog: pytest.LogCaptureFixture
) -> None:
    ws_url = "ws" + shared_hub_server[len("http") :]
    with caplog.at_level(logging.INFO, logger="hubcli"):
        async with hubcli.connect(ws_url) as hub:
            assert await hub.invoke("Add", 2, 3) == 5
    assert "negotiation skipped" in caplog.text
    assert "negotiate: POST" not in caplog.text
    with pytest.raises(hubcli.InvalidArgumentError) as refused:
        async with hubcli.connect(ws_url, transport="sse"):
            pass
    # The CLI applies the same rule, in the same words.
    result = run("invoke", "-t", "sse", ws_url, "Add", "2", "3")
    assert (result.returncode, result.stderr) == (2, f"hubcli: error: {refused.value}\n")


@pytest.mark.parametrize(
    "url",
    [
        "http://h:99999/hub",
        "http://[::1/hub",
        "http://a..b/hub",
        f"http://{'x' * 64}.example/hub",
        "ftp://h/hub",
        "http:///hub",
        "http://user:secret@h:0x1/hub",
        "http://h/hub\r\nX: 1",
    ],
)
async def test_the_cli_checks_a_hub_url_with_the_librarys_rule(url: str) -> None:
    with pytest.raises(hubcli.InvalidURLError) as refused:
        async with hubcli.connect(url):
            pass
    result = run("invoke", url, "Add", "2", "3")
    assert (result.returncode, result.stderr) == (2, f"hubcli: error: {refused.value}\n")
    assert "secret" not in result.stderr
