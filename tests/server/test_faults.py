"""--fault: every connection meets the named fault, so a client's handling of it
can be tested. Where a fault is a silence, the test waits a bounded number of the
periods in which the server would otherwise have spoken."""

from __future__ import annotations

import json

import httpx
import pytest
import trio

from hubcli.protocol import Invocation, Ping
from hubcli.server.faults import Faults, HandshakeFault, parse_faults
from tests.server.conftest import StartHub
from tests.server.rawclient import RawHub, raw_hub


def faults(*names: str) -> Faults:
    return parse_faults(names)


async def post_negotiate(url: str) -> httpx.Response:
    async with httpx.AsyncClient() as client:
        return await client.post(f"{url}/negotiate?negotiateVersion=1")


async def test_negotiate_500(start_hub: StartHub) -> None:
    hub = await start_hub(faults=faults("negotiate-500"))
    response = await post_negotiate(hub.url)
    assert (response.status_code, response.content) == (500, b"Internal Server Error")
    assert response.headers["content-type"] == "text/plain"
    # The redirect endpoints are left alone.
    async with httpx.AsyncClient() as client:
        assert (await client.post(f"{hub.url}/redirect/negotiate")).status_code == 200


async def test_negotiate_404(start_hub: StartHub) -> None:
    hub = await start_hub(faults=faults("negotiate-404"))
    response = await post_negotiate(hub.url)
    assert (response.status_code, response.content) == (404, b"")


async def test_negotiate_html(start_hub: StartHub) -> None:
    hub = await start_hub(faults=faults("negotiate-html"))
    response = await post_negotiate(hub.url)
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    assert response.text.startswith("<!DOCTYPE html>")
    with pytest.raises(json.JSONDecodeError):
        response.json()


async def test_negotiate_slow(start_hub: StartHub) -> None:
    hub = await start_hub(faults=faults("negotiate-slow=0.4"))
    start = trio.current_time()
    response = await post_negotiate(hub.url)
    assert trio.current_time() - start >= 0.4
    assert response.json()["negotiateVersion"] == 1


async def test_slow_and_failing_negotiate_combine(start_hub: StartHub) -> None:
    hub = await start_hub(faults=faults("negotiate-slow=0.2", "negotiate-500"))
    start = trio.current_time()
    assert (await post_negotiate(hub.url)).status_code == 500
    assert trio.current_time() - start >= 0.2


@pytest.mark.parametrize("protocol", ["json", "messagepack"])
async def test_handshake_reject(start_hub: StartHub, protocol: str) -> None:
    hub = await start_hub(faults=faults("handshake-reject"))
    async with RawHub.connect(hub.url, protocol=protocol, handshake=False) as raw:
        assert await raw.handshake(protocol) == (
            b'{"error":"An unexpected error occurred during connection handshake."}\x1e'
        )
        assert await raw.close_code() == 1000


async def nothing_within(raw: RawHub, seconds: float) -> None:
    with trio.move_on_after(seconds) as quiet:
        frame = await raw.ws.get_message()
        pytest.fail(f"the server said {frame!r}")
    assert quiet.cancelled_caught


async def test_handshake_garbage_then_nothing(start_hub: StartHub) -> None:
    hub = await start_hub(faults=faults("handshake-garbage"), handshake_timeout=0.1)
    async with RawHub.connect(hub.url, handshake=False) as raw:
        assert await raw.handshake("json") == b"<html>garbage</html>\x1e"
        # The socket stays open, past the handshake timeout.
        await nothing_within(raw, 0.5)
        await raw.send_raw('{"type":6}\x1e')


async def test_handshake_silent(start_hub: StartHub) -> None:
    hub = await start_hub(faults=faults("handshake-silent"), handshake_timeout=0.1)
    async with RawHub.connect(hub.url, handshake=False) as raw:
        await raw.send_raw('{"protocol":"json","version":1}\x1e')
        # Not even "Handshake was canceled." after the 0.1 s timeout.
        await nothing_within(raw, 0.5)


async def test_handshake_faults_apply_to_long_polling_too(start_hub: StartHub) -> None:
    hub = await start_hub(faults=faults("handshake-reject"))
    with pytest.raises(AssertionError, match="unexpected error occurred during connection"):
        async with raw_hub(hub.url, "longpolling"):
            pass


async def test_silent_from_the_handshake_on(start_hub: StartHub) -> None:
    hub = await start_hub(faults=faults("silent"), keepalive=0.05, client_timeout=0.1)
    async with RawHub.connect(hub.url) as raw:
        # No answer, no ping, and no client timeout either (ten of each period).
        await raw.send(Ping(), Invocation("Add", [1, 2], "1"))
        await nothing_within(raw, 0.5)


async def test_silent_after_a_while(start_hub: StartHub) -> None:
    hub = await start_hub(faults=faults("silent=0.5"), keepalive=0.05)
    async with RawHub.connect(hub.url) as raw:
        assert (await raw.invoke("Add", 1, 2)).result == 3
        assert await raw.receive() == Ping()
        with trio.fail_after(5):
            # Pings stop once the hub falls silent...
            while True:
                with trio.move_on_after(0.5) as quiet:
                    assert await raw.receive() == Ping()
                if quiet.cancelled_caught:
                    break
        # ...and so do answers.
        await raw.send(Invocation("Add", [1, 2], "late"))
        await nothing_within(raw, 0.3)


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        ([], Faults()),
        (["negotiate-500"], Faults(negotiate_status=500)),
        (["NEGOTIATE-404"], Faults(negotiate_status=404)),
        (["negotiate-html"], Faults(negotiate_html=True)),
        (["negotiate-slow"], Faults(negotiate_delay=10.0)),
        (["negotiate-slow=2.5"], Faults(negotiate_delay=2.5)),
        (["handshake-silent"], Faults(handshake=HandshakeFault.SILENT)),
        (["silent"], Faults(silent_after=0.0)),
        (["silent=3", "negotiate-500"], Faults(negotiate_status=500, silent_after=3.0)),
        (["drop-transport"], Faults(drop_every=5.0)),
        (["drop-transport=0.25"], Faults(drop_every=0.25)),
    ],
)
def test_fault_names(values: list[str], expected: Faults) -> None:
    assert parse_faults(values) == expected
    assert parse_faults(expected.names) == expected


@pytest.mark.parametrize(
    ("values", "error"),
    [
        (["bogus"], "unknown fault 'bogus'"),
        (["negotiate-500", "negotiate-html"], "cannot both answer negotiate"),
        (["handshake-reject", "handshake-silent"], "cannot both answer the handshake"),
        (["negotiate-slow=soon"], "needs a number of seconds >= 0"),
        (["silent=-1"], "needs a number of seconds >= 0"),
        (["silent=nan"], "needs a number of seconds >= 0"),
        (["handshake-reject=1"], "takes no value"),
        (["drop-transport=0"], "needs more than 0 seconds"),
    ],
)
def test_fault_errors(values: list[str], error: str) -> None:
    with pytest.raises(ValueError, match=error):
        parse_faults(values)
