"""Bearer tokens on every request of a connection, from every source, with their
precedence; 401 exits 5 with a hint; a redirect's token replaces the user's."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
import trio

import hubcli
from hubcli.client import AuthenticationError
from hubcli.server import HubApp, ServerOptions, serve
from tests import serverproc
from tests.cli.hubcli_process import run
from tests.serverproc import HubServer

TOKEN = "s3cret-token"
TRANSPORTS = ["websockets", "sse", "longpolling"]


@pytest.fixture(scope="module")
def protected() -> Iterator[HubServer]:
    """A hub that answers 401 to every request (negotiate, upgrade, poll, POST,
    DELETE) without the token."""
    server = serverproc.start_hub_server("--require-token", TOKEN)
    yield server
    server.stop()


def test_no_token_exits_5_with_a_hint(protected: HubServer) -> None:
    result = run("invoke", protected.url, "Add", "1", "2")
    assert result.returncode == 5
    assert result.stderr == (
        "hubcli: error: negotiate was refused: 401 Unauthorized "
        "(the hub wants credentials: a bearer token with --token, --token-file or "
        "HUBCLI_TOKEN, or another scheme with -H 'Authorization: SCHEME VALUE')\n"
    )
    wrong = run("invoke", "--token", "nope", protected.url, "Add", "1", "2")
    assert wrong.returncode == 5
    assert "the hub refused the bearer token" in wrong.stderr
    assert "nope" not in wrong.stderr


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_token_reaches_every_request(protected: HubServer, transport: str) -> None:
    # Several round trips: polls and POSTs each need the token, or the hub says 401.
    result = run(
        "upload",
        "--stream",
        "-t",
        transport,
        "--token",
        TOKEN,
        protected.url,
        "StreamEcho",
        stdin="a\nb\nc\n",
    )
    assert result.stdout == '"a"\n"b"\n"c"\n', result.stderr


def test_token_file_is_read_and_stripped(protected: HubServer, tmp_path: Path) -> None:
    token_file = tmp_path / "token"
    token_file.write_text(TOKEN + "\n")
    result = run(
        "invoke",
        "-t",
        "longpolling",
        "--token-file",
        str(token_file),
        protected.url,
        "Add",
        "1",
        "2",
    )
    assert result.stdout == "3\n", result.stderr
    missing = run("invoke", "--token-file", str(tmp_path / "absent"), protected.url, "Add")
    assert missing.returncode == 2
    assert missing.stderr == (
        f"hubcli: error: cannot read --token-file {tmp_path / 'absent'}: "
        "No such file or directory\n"
    )
    (tmp_path / "empty").write_text("\n")
    empty = run("invoke", "--token-file", str(tmp_path / "empty"), protected.url, "Add")
    assert empty.returncode == 2
    both = run("invoke", "--token", TOKEN, "--token-file", str(token_file), protected.url, "Add")
    assert both.returncode == 2
    assert "--token and --token-file exclude each other" in both.stderr


def test_token_file_wins_over_the_environment(protected: HubServer, tmp_path: Path) -> None:
    token_file = tmp_path / "token"
    token_file.write_text(TOKEN)
    result = run(
        "invoke",
        "--token-file",
        str(token_file),
        protected.url,
        "Add",
        "1",
        "2",
        env={"HUBCLI_TOKEN": "stale"},
    )
    assert result.stdout == "3\n", result.stderr


def test_token_from_the_environment_is_redacted(protected: HubServer) -> None:
    result = run(
        "invoke",
        "-vv",
        "-t",
        "sse",
        protected.url,
        "GetConnectionInfo",
        env={"HUBCLI_TOKEN": TOKEN},
    )
    assert json.loads(result.stdout)["headers"]["authorization"] == f"Bearer {TOKEN}"
    assert TOKEN not in result.stderr
    assert "Bearer ***" in result.stderr


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_token_in_query(protected: HubServer, transport: str) -> None:
    result = run(
        "invoke",
        "-vv",
        "-t",
        transport,
        "--token",
        TOKEN,
        "--token-in-query",
        protected.url,
        "GetConnectionInfo",
    )
    assert result.returncode == 0, result.stderr
    info = json.loads(result.stdout)
    assert info["query"]["access_token"] == TOKEN
    assert TOKEN not in result.stderr  # -vv shows the URLs and frames, redacted
    assert '"access_token":"***"' in result.stderr


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_explicit_authorization_header_wins(protected: HubServer, transport: str) -> None:
    # -H headers go on every request (polls and POSTs too), or the hub would say 401.
    header = ["-H", f"Authorization: Bearer {TOKEN}", "--token", "wrong"]
    ok = run(
        "upload",
        "--stream",
        "-t",
        transport,
        *header,
        protected.url,
        "StreamEcho",
        stdin="a\nb\n",
    )
    assert ok.stdout == '"a"\n"b"\n', ok.stderr
    refused = run(
        "invoke",
        "-t",
        transport,
        "-H",
        "Authorization: Bearer wrong",
        "--token",
        TOKEN,
        protected.url,
        "Add",
        "1",
        "2",
    )
    assert refused.returncode == 5


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_redirect_chain_with_tokens(protected: HubServer, transport: str) -> None:
    # Two hops, like Azure SignalR Service: each redirect hands out its own token,
    # which replaces the user's for the rest of the connection.
    result = run(
        "stream",
        "-v",
        "-t",
        transport,
        "--token",
        TOKEN,
        f"{protected.url}/redirect/2",
        "Counter",
        "3",
        "0",
    )
    assert result.stdout == "0\n1\n2\n", result.stderr
    assert result.stderr.count("negotiate: redirected to") == 2
    info = run(
        "invoke",
        "-t",
        transport,
        "--token",
        TOKEN,
        f"{protected.url}/redirect/2",
        "GetConnectionInfo",
    )
    authorization = json.loads(info.stdout)["headers"]["authorization"]
    assert authorization.startswith("Bearer redirect-")
    hops = run(
        "invoke",
        "-t",
        transport,
        "--token",
        TOKEN,
        f"{protected.url}/redirect/2",
        "GetNumRedirects",
    )
    assert hops.stdout == "2\n"
    refused = run("invoke", "-t", transport, f"{protected.url}/redirect/2", "Add", "1", "2")
    assert refused.returncode == 5


async def test_the_redirect_token_is_for_that_connection_only(protected: HubServer) -> None:
    async with hubcli.connect(f"{protected.url}/redirect/1", access_token=TOKEN) as hub:
        first = await hub.invoke("GetConnectionInfo")
    async with hubcli.connect(protected.url, access_token=TOKEN) as hub:
        second = await hub.invoke("GetConnectionInfo")
    assert first["headers"]["authorization"].startswith("Bearer redirect-")
    assert second["headers"]["authorization"] == f"Bearer {TOKEN}"


async def test_a_refused_poll_is_retried_once_with_a_fresh_token(
    nursery: trio.Nursery,
) -> None:
    options = ServerOptions(port=0, require_token="first")
    app = HubApp(options)
    url = await nursery.start(lambda task_status: serve(options, app=app, task_status=task_status))
    current = ["first"]

    def token() -> str:
        return current[0]

    async with hubcli.connect(url, transport="longpolling", access_token=token) as hub:
        assert await hub.invoke("Add", 1, 2) == 3
        # The server rotates its credentials mid-connection (the app's options are
        # what it checks every request against); the factory knows the new one.
        app.options = dataclasses.replace(options, require_token="second")
        current[0] = "second"
        assert await hub.invoke("Add", 2, 3) == 5
    with pytest.raises(AuthenticationError):
        async with hubcli.connect(url, access_token="first"):
            pass
