"""`hubcli serve --hub PATH[:SETTINGS]`: one hub at several paths with settings of
their own, case-insensitive routing, the root /redirect with its process-wide
count, negotiate cookies on refusals, and open endpoints beside a JWT key."""

from __future__ import annotations

import re

import httpx
import jwt
import pytest

import hubcli
from hubcli.server import ServerOptions
from hubcli.server.hubspec import HubSpec, parse_hub_spec
from hubcli.server.options import TransportName
from tests.server.conftest import StartHub
from tests.serverproc import serve_refusal, start_hub_server

KEY = "a-key-for-hs256-of-at-least-32-bytes"
COOKIE = "testCookie=testValue; path=/"
SSE_LP = (TransportName.SERVER_SENT_EVENTS, TransportName.LONG_POLLING)


def _origin(url: str) -> str:
    return url.rsplit("/", 1)[0]


@pytest.mark.parametrize(
    ("text", "spec"),
    [
        ("/chat", HubSpec("/chat")),
        ("/chat/:transports=longpolling+SSE", HubSpec("/chat", SSE_LP)),
        (
            "/a/b:authorize=no, transports=websockets",
            HubSpec("/a/b", (TransportName.WEBSOCKETS,), False),
        ),
        ("/x:Authorize=YES", HubSpec("/x", None, True)),
    ],
)
def test_specs(text: str, spec: HubSpec) -> None:
    assert parse_hub_spec(text) == spec


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("chat", "starting with '/'"),
        ("/chat:transports=", "transports: "),
        ("/chat:transports=carrier-pigeon", "transports: "),
        ("/chat:authorize=maybe", "authorize: yes or no"),
        ("/chat:color=red", "expected one of"),
        ("/a b", "no blanks"),
    ],
)
def test_bad_specs(text: str, why: str) -> None:
    with pytest.raises(ValueError, match=re.escape(why)):
        parse_hub_spec(text)


def test_option_checks() -> None:
    with pytest.raises(ValueError, match="mapped twice"):
        ServerOptions(hubs=(HubSpec("/a"), HubSpec("/A")))
    with pytest.raises(ValueError, match="requires authorization"):
        ServerOptions(hubs=(HubSpec("/a", authorize=True),))
    line = serve_refusal("--hub", "/a:authorize=yes")
    assert line.startswith("hubcli: error: invalid value for --hub: /a requires authorization"), (
        line
    )
    line = serve_refusal("--hub", "/a:transports=smoke")
    assert line.startswith("hubcli: error: invalid value for --hub: transports: "), line


async def test_endpoints_share_one_hub_with_their_own_transports(start_hub: StartHub) -> None:
    hub = await start_hub(path="/main", hubs=(HubSpec("/nows", SSE_LP),))
    origin = _origin(hub.url)
    async with httpx.AsyncClient() as http:
        offered = await http.post(f"{origin}/NoWS/negotiate?negotiateVersion=1")
        assert [t["transport"] for t in offered.json()["availableTransports"]] == [
            "ServerSentEvents",
            "LongPolling",
        ]
        assert (await http.post(f"{origin}/MAIN/negotiate")).status_code == 200
        assert (await http.post(f"{origin}/elsewhere/negotiate")).status_code == 404
    async with (
        hubcli.connect(f"{origin}/main", transport="websockets") as main,
        hubcli.connect(f"{origin}/NOWS", transport="longpolling") as nows,
    ):
        await main.invoke("JoinGroup", "g")
        await nows.invoke("JoinGroup", "g")
        assert await main.invoke("GetConnectionCount") == 2
    with pytest.raises(hubcli.ConnectError):
        async with hubcli.connect(f"{origin}/nows", transport="websockets"):
            pass


async def test_authorization_per_endpoint(start_hub: StartHub) -> None:
    hub = await start_hub(
        path="/open",
        jwt_key=KEY,
        hubs=(HubSpec("/open", authorize=False), HubSpec("/secure", authorize=True)),
        negotiate_cookies=(COOKIE,),
    )
    origin = _origin(hub.url)
    forged = jwt.encode({"nameid": "mallory", "exp": 4102444800}, "x" * 32, algorithm="HS256")
    async with httpx.AsyncClient() as http:
        refused = await http.post(f"{origin}/secure/negotiate?negotiateVersion=1")
        assert refused.status_code == 401
        # The cookies go on every answer to a negotiate, as the test app's middleware sets them.
        assert refused.headers.get_list("set-cookie") == [COOKIE]
        token = (await http.get(f"{origin}/generateJwtToken")).text
        # The HTTP API is as open as the --path hub.
        pushed = await http.post(
            f"{origin}/api/v1/hubs/open", json={"target": "t", "arguments": []}
        )
        assert pushed.status_code == 202
    async with hubcli.connect(f"{origin}/secure", access_token=token) as client:
        assert await client.invoke("GetUserId") == "testuser"
    async with hubcli.connect(f"{origin}/open", access_token=forged) as client:
        # ASP.NET Core without [Authorize]: authentication fails quietly, anonymous.
        assert await client.invoke("GetUserId") is None
    async with hubcli.connect(f"{origin}/open", access_token=token) as client:
        assert await client.invoke("GetUserId") == "testuser"


async def test_secured_api_when_the_path_hub_is(start_hub: StartHub) -> None:
    hub = await start_hub(path="/secure", jwt_key=KEY, hubs=(HubSpec("/open", authorize=False),))
    async with httpx.AsyncClient() as http:
        pushed = await http.post(
            f"{_origin(hub.url)}/api/v1/hubs/secure", json={"target": "t", "arguments": []}
        )
    assert pushed.status_code == 401


async def test_root_redirect_counts_across_the_process(start_hub: StartHub) -> None:
    hub = await start_hub(path="/testhub")
    origin = _origin(hub.url)
    async with httpx.AsyncClient() as http:
        first = await http.post(f"{origin}/redirect/negotiate?baseUrl=http://example.test:1")
        second = await http.get(f"{origin}/Redirect?numRedirects=0")
        assert (await http.post(f"{origin}/redirection/negotiate")).status_code == 404
    assert first.json() == {"url": "http://example.test:1/testhub?numRedirects=1"}
    assert second.json() == {"url": f"{origin}/testhub?numRedirects=2"}
    async with hubcli.connect(f"{origin}/redirect", transport="longpolling") as client:
        assert await client.invoke("GetNumRedirects") == 3


def test_the_command_line_flags() -> None:
    server = start_hub_server(
        "--path", "/one", "--jwt-key", KEY, "--hub", "/one:authorize=no", "--hub", "/two"
    )
    try:
        origin = server.base_url
        assert httpx.post(f"{origin}/one/negotiate").status_code == 200
        assert httpx.post(f"{origin}/Two/negotiate").status_code == 401
    finally:
        server.stop()
