"""`hubcli serve --set-cookie`: cookies on every negotiate answer, as the official
functional tests' server sets them; clients carry them to the transport requests
and drop the expired ones."""

from __future__ import annotations

import httpx
import pytest

import hubcli
from tests.server.conftest import StartHub
from tests.serverproc import serve_refusal, start_hub_server

COOKIES = (
    "testCookie=testValue; path=/",
    "testCookie2=testValue2; path=/",
    "expiredCookie=doesntmatter; expires=Thu, 01 Jan 1970 00:00:00 GMT; path=/",
)


async def test_negotiate_sets_each_cookie(start_hub: StartHub) -> None:
    hub = await start_hub(negotiate_cookies=COOKIES)
    async with httpx.AsyncClient() as client:
        response = await client.post(f"{hub.url}/negotiate?negotiateVersion=1")
    assert response.headers.get_list("set-cookie") == list(COOKIES)


@pytest.mark.parametrize("transport", ["websockets", "serversentevents", "longpolling"])
async def test_the_client_brings_them_to_the_transport_request(
    start_hub: StartHub, transport: str
) -> None:
    hub = await start_hub(negotiate_cookies=COOKIES)
    async with hubcli.connect(hub.url, transport=transport) as client:
        assert await client.invoke("GetCookie", "testCookie") == "testValue"
        assert await client.invoke("GetCookie", "testCookie2") == "testValue2"
        assert await client.invoke("GetCookie", "expiredCookie") is None


@pytest.mark.parametrize("cookie", ["no-equals-sign", "=value", "a=b\r\nX-Injected: 1", "a=é"])
def test_a_cookie_that_cannot_be_a_header_is_refused(cookie: str) -> None:
    from hubcli.server import ServerOptions

    with pytest.raises(ValueError, match=r"^negotiate_cookies: "):
        ServerOptions(port=0, negotiate_cookies=(cookie,))


def test_the_command_line_flag() -> None:
    server = start_hub_server("--set-cookie", COOKIES[0], "--set-cookie", COOKIES[1])
    try:
        response = httpx.post(f"{server.url}/negotiate?negotiateVersion=1")
        assert response.headers.get_list("set-cookie") == list(COOKIES[:2])
    finally:
        server.stop()
    line = serve_refusal("--set-cookie", "a=b\nc")
    assert line.startswith("hubcli: error: invalid value for --set-cookie: "), line


async def test_a_malformed_pair_does_not_hide_the_others(start_hub: StartHub) -> None:
    # ASP.NET Core skips what it cannot read; a strict parser dropped the whole header.
    header = 'broken; a b=1; first=1; quoted="two words"; first=again; last=3'
    hub = await start_hub()
    async with hubcli.connect(
        hub.url, transport="longpolling", headers=[("Cookie", header)]
    ) as client:
        assert await client.invoke("GetCookie", "first") == "1"
        assert await client.invoke("GetCookie", "quoted") == "two words"
        assert await client.invoke("GetCookie", "last") == "3"
        assert await client.invoke("GetCookie", "broken") is None
