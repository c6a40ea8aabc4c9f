"""The user's headers (-H) as curl treats them, on every transport: one replaces the
header of the same name hubcli would send, `-H 'Name:'` removes it, and a header
that cannot be sent (framing, the WebSocket handshake) is a usage error."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from tests.cli.hubcli_process import run
from tests.transports.test_redirects import Redirector, _base, start_redirector

__all__ = ["start_redirector"]  # the fixture, for this module's tests

TRANSPORTS = ("websockets", "sse", "longpolling")


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_headers_hubcli_sets_itself_can_be_replaced(shared_hub_server: str, transport: str) -> None:
    result = run(
        "invoke",
        "-t",
        transport,
        "-H",
        "Host: hub.example",
        "-H",
        "User-Agent: mine/1",
        "-H",
        "X-Requested-With: me",
        "-H",
        "Cookie: a=1",
        shared_hub_server,
        "Add",
        "2",
        "3",
    )
    assert (result.returncode, result.stdout, result.stderr) == (0, "5\n", "")


def _received(redirector: Redirector, method: str) -> dict[str, list[str]]:
    request = next(r for r in redirector.stop() if r["method"] == method)
    headers: dict[str, list[str]] = {}
    for name, value in request["headers"]:  # type: ignore[union-attr]
        headers.setdefault(name, []).append(value)
    return headers


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_what_the_server_receives(
    shared_hub_server: str, start_redirector: Callable[..., Redirector], transport: str
) -> None:
    # The redirector records the first request (negotiate's POST, or the upgrade).
    redirector = start_redirector(_base(shared_hub_server))
    flags = ["-H", "Host: hub.example", "-H", "User-Agent:", "-H", "X-Twice: 1", "-H", "X-Twice: 2"]
    if transport == "websockets":
        flags += ["--skip-negotiation", "-t", "websockets"]
        url = redirector.url.replace("http://", "ws://") + "/hop/0/hub"
        method = "GET"
    else:
        flags += ["-t", transport, "-H", "Accept:"]
        url = f"{redirector.url}/hop/0/hub"
        method = "POST"
    run("invoke", *flags, url, "Add", "2", "3")
    received = _received(redirector, method)
    assert received["host"] == ["hub.example"]
    assert "user-agent" not in received
    assert received["x-twice"] == ["1", "2"]
    if transport != "websockets":
        assert "accept" not in received


@pytest.mark.parametrize(
    "header",
    [
        "Content-Length: 5",
        "Transfer-Encoding: chunked",
        "Connection: close",
        "Upgrade: websocket",
        "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==",
        "Expect: 100-continue",
        "Host:",
    ],
)
def test_headers_that_cannot_be_sent_are_usage_errors(shared_hub_server: str, header: str) -> None:
    for transport in TRANSPORTS:
        result = run("invoke", "-t", transport, "-H", header, shared_hub_server, "Add", "2", "3")
        assert result.returncode == 2, (transport, result.stderr)
        name = header.partition(":")[0]
        assert result.stderr.startswith(f"hubcli: error: the header {name!r} cannot be sent: ")
        assert result.stderr.count("\n") == 1


def test_two_host_headers_are_a_usage_error(shared_hub_server: str) -> None:
    result = run("invoke", "-H", "Host: a", "-H", "host: b", shared_hub_server, "Add", "2", "3")
    assert result.returncode == 2
    assert result.stderr == "hubcli: error: the header 'Host' cannot be sent: it is given twice\n"
