"""Transport choice: `-t auto` walks what the server offers, and a transport that fails
to start makes the client negotiate again and try the next one."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest

import hubcli
from hubcli.client import ConnectError
from tests.cli.hubcli_process import run
from tests.serverproc import HubServer

ServerFactory = Callable[..., HubServer]


def test_auto_uses_the_only_transport_offered(start_hub_server: ServerFactory) -> None:
    server = start_hub_server("--transports", "longpolling")
    result = run("invoke", "-v", "-t", "auto", server.url, "GetActiveTransportName")
    assert result.stdout == '"LongPolling"\n', result.stderr
    assert "connected: LongPolling, json" in result.stderr
    assert "trying WebSockets" not in result.stderr  # not offered, so not tried


def test_a_failed_start_falls_back_on_a_fresh_negotiate(start_hub_server: ServerFactory) -> None:
    server = start_hub_server("--break-websockets")
    result = run("invoke", "-v", server.url, "GetConnectionInfo")
    assert result.returncode == 0, result.stderr
    info = json.loads(result.stdout)
    assert info["transport"] == "ServerSentEvents"
    log = result.stderr
    assert "transport: WebSockets failed: the server refused the WebSocket connection" in log
    assert "(HTTP 503)" in log
    assert "negotiating again to try ServerSentEvents" in log
    assert log.count("negotiate: POST") == 2  # the first token is burnt with its transport
    assert "connected: ServerSentEvents, json" in log


def test_messagepack_falls_back_past_sse(start_hub_server: ServerFactory) -> None:
    server = start_hub_server("--break-websockets")
    result = run("invoke", "-v", "-p", "messagepack", server.url, "GetActiveTransportName")
    assert result.stdout == '"LongPolling"\n', result.stderr
    assert "skipping transport ServerSentEvents: it cannot carry Binary data" in result.stderr
    assert "connected: LongPolling, messagepack" in result.stderr


def test_every_transport_failing_names_each(start_hub_server: ServerFactory) -> None:
    server = start_hub_server("--break-websockets", "--transports", "websockets")
    result = run("invoke", server.url, "Add", "1", "2")
    assert result.returncode == 4
    assert result.stderr.startswith(
        "hubcli: error: the server refused the WebSocket connection to ws://127.0.0.1:"
    )
    assert "id=" not in result.stderr  # the connection token stays out of messages
    sse_only = run("invoke", "-t", "sse", server.url, "Add", "1", "2")
    assert sse_only.returncode == 4
    assert "None of the transports supported by the client" in sse_only.stderr


def test_failures_of_several_transports_are_summed_up() -> None:
    from hubcli.client.errors import AuthenticationError
    from hubcli.client.links import _all_failed

    refused = [
        ("WebSockets", AuthenticationError("WebSocket refused: HTTP 401", 401)),
        ("LongPolling", AuthenticationError("the first poll was refused: HTTP 401.", 401)),
    ]
    error = _all_failed(refused)
    assert isinstance(error, AuthenticationError)  # exit 5, not 4
    assert str(error) == (
        "Unable to connect to the server with any of the available transports. "
        "WebSockets failed: WebSocket refused: HTTP 401. "
        "LongPolling failed: the first poll was refused: HTTP 401."
    )
    mixed = _all_failed([refused[0], ("LongPolling", ConnectError("down"))])
    assert type(mixed) is ConnectError


def test_the_users_list_limits_the_choice(start_hub_server: ServerFactory) -> None:
    server = start_hub_server("--break-websockets")
    result = run("invoke", "-v", "-t", "websockets,longpolling", server.url, "Add", "1", "2")
    assert result.stdout == "3\n", result.stderr
    assert "connected: LongPolling" in result.stderr
    assert "trying ServerSentEvents" not in result.stderr
    several = run("invoke", "-t", "sse", "-t", "websockets", server.url, "GetActiveTransportName")
    # The server's order decides, not the user's: WebSockets first, then SSE.
    assert several.stdout == '"ServerSentEvents"\n', several.stderr


def test_unknown_transport_is_a_usage_error(shared_hub_server: str) -> None:
    result = run("invoke", "-t", "carrier-pigeon", shared_hub_server, "Add")
    assert result.returncode == 2
    assert result.stderr == (
        "hubcli: error: unknown transport 'carrier-pigeon' "
        "(use -t auto|websockets|sse|longpolling)\n"
    )


async def test_library_fallback_and_transport_lists(start_hub_server: ServerFactory) -> None:
    server = start_hub_server("--break-websockets")
    asked: list[int] = []

    async def token() -> str:
        asked.append(1)
        return "t"

    async with hubcli.connect(server.url, access_token=token) as hub:
        assert hub.transport == "ServerSentEvents"
        assert await hub.invoke("Add", 1, 2) == 3
    assert len(asked) == 2  # once per negotiate
    async with hubcli.connect(server.url, transport=["longpolling"]) as hub:
        assert hub.transport == "LongPolling"
    with pytest.raises(ConnectError, match="refused the WebSocket"):
        async with hubcli.connect(server.url, transport="websockets"):
            pass
    with pytest.raises(ValueError, match="unknown transport"):
        async with hubcli.connect(server.url, transport="smoke-signals"):
            pass
    with pytest.raises(ValueError, match="Negotiation can only be skipped"):
        async with hubcli.connect(server.url, transport="sse", skip_negotiation=True):
            pass
