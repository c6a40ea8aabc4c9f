"""Cookies: the user's (-b), and those the server sets on negotiate (sticky sessions),
go on every request of the connection, whatever the transport."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

import hubcli
from tests import serverproc
from tests.cli.hubcli_process import run
from tests.serverproc import HubServer

TRANSPORTS = ["websockets", "sse", "longpolling"]


@pytest.fixture(scope="module")
def sticky() -> Iterator[HubServer]:
    """A hub behind a 'load balancer' with sticky sessions: negotiate sets the
    cookie, and any transport request without it is answered 404."""
    server = serverproc.start_hub_server("--sticky-cookie", "affinity=node-7")
    yield server
    server.stop()


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_cookies_set_on_negotiate_come_back(sticky: HubServer, transport: str) -> None:
    # An upload and a stream: several POSTs and polls, each needs the cookie.
    result = run("upload", "--stream", "-t", transport, sticky.url, "StreamEcho", stdin="a\nb\nc\n")
    assert result.stdout == '"a"\n"b"\n"c"\n', result.stderr
    info = run("invoke", "-t", transport, sticky.url, "GetConnectionInfo")
    assert json.loads(info.stdout)["cookies"] == {"affinity": "node-7"}


def test_without_the_cookie_the_connection_is_unknown(sticky: HubServer) -> None:
    direct = run("invoke", "--skip-negotiation", sticky.url, "Add", "1", "2")
    assert direct.returncode == 4
    assert "(HTTP 404): No Connection with that ID" in direct.stderr


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_user_cookies_reach_the_hub(shared_hub_server: str, transport: str) -> None:
    result = run(
        "invoke",
        "-t",
        transport,
        "-b",
        "session=abc; theme=dark",
        "-b",
        "lang=en",
        shared_hub_server,
        "GetConnectionInfo",
    )
    cookies = json.loads(result.stdout)["cookies"]
    assert cookies == {"session": "abc", "theme": "dark", "lang": "en"}, result.stderr


def test_cookie_file(shared_hub_server: str, tmp_path: Path) -> None:
    jar = tmp_path / "cookies.txt"
    jar.write_text(
        "# Netscape HTTP Cookie File\n"
        "127.0.0.1\tFALSE\t/\tFALSE\t0\tfromfile\tyes\n"
        "elsewhere.example\tFALSE\t/\tFALSE\t0\tforeign\tno\n"
    )
    result = run(
        "invoke", "-t", "longpolling", "-b", str(jar), shared_hub_server, "GetConnectionInfo"
    )
    assert json.loads(result.stdout)["cookies"] == {"fromfile": "yes"}, result.stderr
    missing = run("invoke", "-b", str(tmp_path / "absent.txt"), shared_hub_server, "Add")
    assert missing.returncode == 2
    assert missing.stderr.startswith("hubcli: error: cannot read the cookie file ")
    malformed = run("invoke", "-b", "=oops", shared_hub_server, "Add")
    assert malformed.returncode == 2


async def test_library_cookies(sticky: HubServer) -> None:
    for transport in TRANSPORTS:
        async with hubcli.connect(
            sticky.url, transport=transport, cookies={"mine": "1"}, headers=[("X-Trace", "t")]
        ) as hub:
            info = await hub.invoke("GetConnectionInfo")
        assert info["cookies"] == {"mine": "1", "affinity": "node-7"}
        assert info["headers"]["x-trace"] == "t"
