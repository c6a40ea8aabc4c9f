"""One exception tree: each kind of failure, triggered for real, is a member of it,
exported from `hubcli` and `hubcli.client`, documented, and caught by HubcliError."""

from __future__ import annotations

import ast
import builtins
import inspect
import math
from collections.abc import Callable
from pathlib import Path

import pytest
import trio

import hubcli
import hubcli.client
import hubcli.errors
import hubcli.protocol.errors
from tests.serverproc import HubServer

ROOT = Path(__file__).resolve().parents[2]
TREE = [
    value
    for value in vars(hubcli.errors).values()
    if isinstance(value, type) and issubclass(value, Exception)
]


def test_the_tree_is_exported_from_hubcli_and_hubcli_client_and_documented() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("\n### Errors\n", 1)[1].split("\n## ", 1)[0]
    assert len(TREE) >= 20
    for cls in TREE:
        name = cls.__name__
        assert issubclass(cls, hubcli.HubcliError), name
        assert name in hubcli.__all__
        assert name in hubcli.client.__all__
        assert name in hubcli.errors.__all__
        assert getattr(hubcli, name) is cls
        assert getattr(hubcli.client, name) is cls
        assert inspect.getdoc(cls), f"{name} has no docstring"
        assert f"`{name}`" in section, f"README's Errors section does not list {name}"
        assert name in (hubcli.errors.__doc__ or ""), f"the tree drawing lacks {name}"
    # The protocol core's names are the same classes, not look-alikes.
    for name in hubcli.protocol.errors.__all__:
        assert getattr(hubcli.protocol.errors, name) in TREE


async def _failure(body: Callable[[], object]) -> BaseException:
    try:
        await body()  # type: ignore[misc]
    except hubcli.HubcliError as error:
        return error
    raise AssertionError("nothing was raised")


async def _connect(url: str, **options: object) -> None:
    async with hubcli.connect(url, **options):  # type: ignore[arg-type]
        pass


@pytest.mark.parametrize(
    "url",
    ["ftp://127.0.0.1/hub", "http:///hub", "http://127.0.0.1:99999/hub", "http://a..b/hub", "hub"],
)
async def test_a_bad_url_is_an_invalid_url_error(url: str) -> None:
    error = await _failure(lambda: _connect(url))
    assert type(error) is hubcli.InvalidURLError
    assert isinstance(error, hubcli.client.InvalidArgumentError)
    assert isinstance(error, ValueError)  # as before the tree
    assert "invalid hub URL" in str(error)


@pytest.mark.parametrize(
    "options",
    [
        {"protocol": "xml"},
        {"transport": "carrier-pigeon"},
        {"skip_negotiation": True, "transport": "sse"},
        {"headers": [("Bad Name", "x")]},
        {"cookies": "novalue"},
        {"proxy": "socks5://127.0.0.1:1"},
        {"handlers": {"Target": 42}},
        {"access_token": "line\nbreak"},
        # Numbers that reached trio unchecked: a hang, a ValueError, or a limit
        # that fails every connection.
        {"close_timeout": math.nan},
        {"close_timeout": -1.0},
        {"connect_timeout": math.nan},
        {"handshake_timeout": math.nan},
        {"handshake_timeout": 0},
        {"server_timeout": -1.0},
        {"keepalive_interval": math.nan},
        {"max_message_size": 0},
        {"stream_buffer_limit": 0},
        {"stateful_buffer_size": -1},
        {"connect_retries": -1},
    ],
)
async def test_bad_arguments_are_invalid_argument_errors(
    shared_hub_server: str, options: dict[str, object]
) -> None:
    with trio.fail_after(10):
        error = await _failure(lambda: _connect(shared_hub_server, **options))
    assert type(error) is hubcli.InvalidArgumentError
    assert isinstance(error, ValueError)


async def test_bad_arguments_to_hub_methods_are_invalid_argument_errors(
    shared_hub_server: str,
) -> None:
    async with hubcli.connect(shared_hub_server, protocol="messagepack") as hub:
        with pytest.raises(hubcli.InvalidArgumentError, match="must be callable"):
            hub.on("Target", "not a function")  # type: ignore[arg-type]
        with pytest.raises(hubcli.InvalidArgumentError, match="target"):
            hub.on("", print)
        with pytest.raises(hubcli.InvalidArgumentError, match="non-empty"):
            hub.events("")
        with pytest.raises(hubcli.UnencodableValueError, match="beyond 64 bits"):
            await hub.invoke("Echo", 2**70)
        with pytest.raises(hubcli.InvalidArgumentError):
            hubcli.client.ReconnectPolicy(delays=(-1.0,))
        assert await hub.invoke("Echo", 1) == 1  # none of it harmed the connection


async def test_a_hub_error_is_a_hub_error(shared_hub_server: str) -> None:
    async with hubcli.connect(shared_hub_server) as hub:
        error = await _failure(lambda: hub.invoke("ThrowHubException", "out of coffee"))
        assert type(error) is hubcli.HubError
        stream = hub.stream("StreamException")
        error = await _failure(stream.__anext__)
        assert type(error) is hubcli.HubError


async def test_a_rejected_handshake_is_a_handshake_error_and_a_connect_error(
    start_hub_server: Callable[..., HubServer],
) -> None:
    server = start_hub_server("--fault", "handshake-reject")
    error = await _failure(lambda: _connect(server.url))
    assert type(error) is hubcli.HandshakeError
    assert isinstance(error, hubcli.ConnectError)
    assert isinstance(error, hubcli.ProtocolError)
    assert "handshake" in str(error).lower()


async def test_a_garbled_handshake_is_a_handshake_error(
    start_hub_server: Callable[..., HubServer],
) -> None:
    server = start_hub_server("--fault", "handshake-garbage")
    error = await _failure(lambda: _connect(server.url))
    assert isinstance(error, hubcli.client.HandshakeError)


async def test_an_unusable_negotiate_is_a_connect_error(
    start_hub_server: Callable[..., HubServer],
) -> None:
    server = start_hub_server("--fault", "negotiate-html")
    error = await _failure(lambda: _connect(server.url))
    assert isinstance(error, hubcli.ConnectError)


async def test_refused_credentials_are_an_authentication_error(
    start_hub_server: Callable[..., HubServer],
) -> None:
    server = start_hub_server("--require-token", "secret")
    error = await _failure(lambda: _connect(server.url, access_token="wrong"))
    assert type(error) is hubcli.AuthenticationError
    assert isinstance(error, hubcli.ConnectError)


async def test_timeouts_are_hub_timeout_errors(
    start_hub_server: Callable[..., HubServer],
) -> None:
    silent_handshake = start_hub_server("--fault", "handshake-silent")
    error = await _failure(lambda: _connect(silent_handshake.url, handshake_timeout=0.3))
    assert type(error) is hubcli.ConnectTimeoutError
    assert isinstance(error, hubcli.HubTimeoutError)

    silent = start_hub_server("--fault", "silent=0")

    async def wait_for_silence() -> None:
        async with hubcli.connect(silent.url, server_timeout=0.3) as hub:
            await hub.invoke("Echo", 1)

    error = await _failure(wait_for_silence)
    assert type(error) is hubcli.ServerTimeoutError
    assert isinstance(error, hubcli.HubTimeoutError)


async def test_a_closed_connection_is_a_connection_closed_error(shared_hub_server: str) -> None:
    async with hubcli.connect(shared_hub_server) as hub:
        events = hub.events("Nothing")
    for use in (
        lambda: hub.invoke("Echo", 1),
        lambda: hub.send("Echo", 1),
        lambda: hub.stream("Counter", 1, 0).__anext__(),
        events.__anext__,
    ):
        error = await _failure(use)
        assert type(error) is hubcli.ConnectionClosedError


async def test_a_refused_connection_is_a_connect_error() -> None:
    listener = trio.socket.socket()
    await listener.bind(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    listener.close()  # nothing listens there now
    error = await _failure(lambda: _connect(f"http://127.0.0.1:{port}/hub"))
    assert type(error) is hubcli.ConnectError


# Modules that raise a built-in exception on purpose, and why that never reaches a
# library user (each is an internal signal, caught in the same module, or belongs to
# the server or the CLI alone).
RAISES_BUILTINS = {
    ("client/transports/__init__.py", "ValueError"),  # names checked by connect()
    ("client/network.py", "OSError"),  # load_cookie_file, for --cookie-jar only
    ("protocol/base.py", "NotImplementedError"),
    ("protocol/__init__.py", "AttributeError"),  # module __getattr__
    ("protocol/jsonvalues.py", "ValueError"),  # caught: ProtocolError
    ("protocol/json_protocol.py", "TypeError"),  # encoding a message type never sent
    ("protocol/msgpack_protocol.py", "TypeError"),  # the same
    ("protocol/negotiate.py", "ValueError"),  # the server's reading of a request
    ("client/api.py", "StopAsyncIteration"),
    ("client/pushes.py", "StopAsyncIteration"),
}
BUILTIN_EXCEPTIONS = {
    name
    for name, value in vars(builtins).items()
    if isinstance(value, type) and issubclass(value, BaseException)
}


def test_the_library_raises_no_builtin_exception_on_purpose() -> None:
    found = set()
    for layer in ("client", "protocol"):
        for path in (ROOT / "hubcli" / layer).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if isinstance(node, ast.Raise) and node.exc is not None:
                    exc = node.exc.func if isinstance(node.exc, ast.Call) else node.exc
                    if isinstance(exc, ast.Name) and exc.id in BUILTIN_EXCEPTIONS:
                        found.add((path.relative_to(ROOT / "hubcli").as_posix(), exc.id))
    assert found - RAISES_BUILTINS == set()
