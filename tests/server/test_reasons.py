"""Reason phrases on status lines, as Kestrel writes them.

hypercorn has no supported way to send one (see hubcli/server/reasons.py), so the
server patches a name in hypercorn's HTTP/1.1 module. These tests read the status
line off a raw socket, so a hypercorn upgrade that moves that name fails here.
"""

from __future__ import annotations

import pytest
import trio

from hubcli.server import reasons
from tests.server.conftest import Hub, StartHub
from tests.server.rawclient import TIMEOUT, negotiate

WEBSOCKET_UPGRADE = (
    "Upgrade: websocket\r\nConnection: Upgrade\r\n"
    "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
)


async def status_line(hub: Hub, request: str) -> str:
    """The first line the server answers `request` (raw bytes on a new socket) with."""
    host, port = hub.base.split("://")[1].rsplit(":", 1)
    with trio.fail_after(TIMEOUT):
        stream = await trio.open_tcp_stream(host, int(port))
        async with stream:
            await stream.send_all(request.encode("latin-1"))
            received = b""
            while b"\r\n" not in received:
                data = await stream.receive_some()
                if not data:
                    break
                received += data
    return received.split(b"\r\n", 1)[0].decode("latin-1")


def request(method: str, target: str, extra: str = "") -> str:
    return f"{method} {target} HTTP/1.1\r\nHost: test\r\nContent-Length: 0\r\n{extra}\r\n"


@pytest.mark.parametrize(
    ("method", "target", "expected"),
    [
        ("POST", "/hub/negotiate?negotiateVersion=1", "HTTP/1.1 200 OK"),
        ("GET", "/nowhere", "HTTP/1.1 404 Not Found"),
        ("GET", "/hub/negotiate", "HTTP/1.1 405 Method Not Allowed"),
        ("GET", "/hub", "HTTP/1.1 400 Bad Request"),
    ],
)
async def test_the_apps_answers_carry_the_phrase(
    hub: Hub, method: str, target: str, expected: str
) -> None:
    assert await status_line(hub, request(method, target)) == expected


async def test_refusals_and_upgrades_carry_the_phrase(start_hub: StartHub) -> None:
    hub = await start_hub(require_token="s3cret")
    line = await status_line(hub, request("POST", "/hub/negotiate"))
    assert line == "HTTP/1.1 401 Unauthorized"
    token = (await negotiate(hub.url, headers={"Authorization": "Bearer s3cret"}))[
        "connectionToken"
    ]
    upgrade = request("GET", f"/hub?id={token}&access_token=s3cret", WEBSOCKET_UPGRADE)
    assert await status_line(hub, upgrade) == "HTTP/1.1 101 Switching Protocols"


async def test_hypercorns_own_errors_carry_the_phrase(hub: Hub) -> None:
    # A request h11 cannot parse never reaches the app: hypercorn answers it alone.
    assert await status_line(hub, "NOT HTTP AT ALL\r\n\r\n") == "HTTP/1.1 400 Bad Request"


async def test_adding_the_phrases_again_changes_nothing(hub: Hub) -> None:
    from hypercorn.protocol import h11 as hypercorn_h11

    patched = vars(hypercorn_h11)["h11"]
    reasons.add_reason_phrases()
    reasons.add_reason_phrases()
    assert vars(hypercorn_h11)["h11"] is patched
    assert await status_line(hub, request("GET", "/nowhere")) == "HTTP/1.1 404 Not Found"
