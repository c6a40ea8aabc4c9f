"""The TCP front (hubcli/server/front.py): TLS, routing, relaying and native WebSockets.

Every test talks to the hub over real sockets on 127.0.0.1; the raw ones write the
bytes themselves, so what they check is exactly what the front put on the wire.
"""

from __future__ import annotations

import json
import os
import ssl
import struct
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any
from urllib.parse import urlsplit

import h11
import httpx
import pytest
import trio
import trustme
import wsproto
import wsproto.events
from trio_websocket import ConnectionClosed, open_websocket_url

from hubcli.protocol import Close
from hubcli.server import HubApp, ServerOptions, serve

from .conftest import StartHub
from .rawclient import TIMEOUT, RawHub, ws_url

MASK = b"\x11\x22\x33\x44"


def host_port(url: str) -> tuple[str, int]:
    parts = urlsplit(url)
    assert parts.hostname is not None
    assert parts.port is not None
    return parts.hostname, parts.port


def frame_head(opcode: int, length: int, fin: bool = True) -> bytes:
    """A masked client frame's first bytes, up to its mask."""
    head = bytes([(0x80 if fin else 0) | opcode])
    if length < 126:
        return head + bytes([0x80 | length])
    if length < 1 << 16:
        return head + bytes([0x80 | 126]) + struct.pack("!H", length)
    return head + bytes([0x80 | 127]) + struct.pack("!Q", length)


def masked_frame(opcode: int, payload: bytes) -> bytes:
    """One client frame, built by hand (so it can carry what no library would send)."""
    head = frame_head(opcode, len(payload))
    masked = bytes(b ^ MASK[i % 4] for i, b in enumerate(payload[:64]))
    if len(payload) > 64:
        # Beyond what the test reads back, the payload may stay as it is (masked garbage).
        masked += payload[64:]
    return head + MASK + masked


async def open_upgrade(url: str) -> tuple[trio.SocketStream, wsproto.WSConnection, Any]:
    """A WebSocket opening handshake on a raw socket: the stream, the wsproto client,
    and the server's answer (AcceptConnection or RejectConnection)."""
    parts = urlsplit(ws_url(url))
    stream = await trio.open_tcp_stream(*host_port(url))
    connection = wsproto.WSConnection(wsproto.ConnectionType.CLIENT)
    target = f"{parts.path}?{parts.query}" if parts.query else parts.path
    await stream.send_all(connection.send(wsproto.events.Request(host=parts.netloc, target=target)))
    return stream, connection, await next_event(stream, connection)


async def next_event(stream: trio.SocketStream, connection: wsproto.WSConnection) -> Any:
    while True:
        for event in connection.events():
            return event
        with trio.fail_after(TIMEOUT):
            data = await stream.receive_some(65536)
        connection.receive_data(data or None)


async def close_frame(stream: trio.SocketStream, connection: wsproto.WSConnection) -> Any:
    while True:
        event = await next_event(stream, connection)
        if isinstance(event, wsproto.events.CloseConnection):
            return event


async def test_an_upgrade_is_served_by_the_front_not_hypercorn(hub: Any) -> None:
    async with RawHub.connect(hub.url) as raw:
        assert (await raw.invoke("Echo", "native")).result == "native"
        (connection,) = hub.app.connections.all()
        assert connection.request is not None
        assert connection.request.native is not None


async def test_a_websocket_upgrade_to_an_unknown_path_is_404(hub: Any) -> None:
    stream, _, answer = await open_upgrade(hub.base + "/nothing-here")
    async with stream:
        assert isinstance(answer, wsproto.events.RejectConnection)
        assert answer.status_code == 404


async def test_an_invalid_upgrade_is_refused_with_400(hub: Any) -> None:
    host, port = host_port(hub.url)
    async with await trio.open_tcp_stream(host, port) as stream:
        await stream.send_all(
            b"GET /hub HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            b"Sec-WebSocket-Version: 13\r\n\r\n"
        )
        with trio.fail_after(TIMEOUT):
            answer = await stream.receive_some(65536)
    assert answer.startswith(b"HTTP/1.1 400 "), answer


async def test_relayed_requests_keep_the_real_client_and_pipeline(hub: Any) -> None:
    # Two requests pipelined in one write on one keep-alive connection: a negotiate,
    # then the Server-Sent Events request of what it creates. The connection id is
    # not known before the first answer, so the second asks with a made-up one and
    # must get the real server's 404; a third, on the same socket, opens SSE.
    host, port = host_port(hub.url)
    path = urlsplit(hub.url).path
    client = h11.Connection(h11.CLIENT)
    async with await trio.open_tcp_stream(host, port) as stream:
        local = stream.socket.getsockname()
        negotiate = h11.Request(
            method="POST",
            target=f"{path}/negotiate?negotiateVersion=1",
            headers=[("host", host), ("content-length", "0")],
        )
        unknown = h11.Request(
            method="GET",
            target=f"{path}?id=nope",
            headers=[("host", host), ("accept", "text/event-stream")],
        )
        pipelined = client.send(negotiate) + client.send(h11.EndOfMessage())
        second = h11.Connection(h11.CLIENT)
        pipelined += second.send(unknown) + second.send(h11.EndOfMessage())
        await stream.send_all(pipelined)
        responses = await read_responses(stream, 2)
        assert [status for status, _ in responses] == [200, 404]
        token = json.loads(responses[0][1])["connectionToken"]
        sse = h11.Request(
            method="GET",
            target=f"{path}?id={token}",
            headers=[("host", host), ("accept", "text/event-stream")],
        )
        third = h11.Connection(h11.CLIENT)
        await stream.send_all(third.send(sse) + third.send(h11.EndOfMessage()))
        with trio.fail_after(TIMEOUT):
            head = await stream.receive_some(65536)
        assert head.startswith(b"HTTP/1.1 200 "), head
        connection = hub.app.connections.get(token)
        assert connection is not None
        assert connection.request is not None
        assert connection.request.client == (local[0], local[1])
        assert connection.request.native is None


async def read_responses(stream: trio.SocketStream, count: int) -> list[tuple[int, bytes]]:
    """`count` whole responses off one connection, as (status, body)."""
    responses: list[tuple[int, bytes]] = []
    reader = h11.Connection(h11.CLIENT)
    status, body = 0, b""
    with trio.fail_after(TIMEOUT):
        while len(responses) < count:
            event = reader.next_event()
            if event is h11.NEED_DATA:
                reader.receive_data(await stream.receive_some(65536))
            elif isinstance(event, h11.Response):
                status, body = event.status_code, b""
            elif isinstance(event, h11.Data):
                body += event.data
            elif isinstance(event, h11.EndOfMessage):
                responses.append((status, body))
                # h11 reads one response per request it sent: pretend the next.
                reader = replace_reader(reader)
    return responses


def replace_reader(reader: h11.Connection) -> h11.Connection:
    leftover, _ = reader.trailing_data
    fresh = h11.Connection(h11.CLIENT)
    fresh.send(h11.Request(method="GET", target="/", headers=[("host", "x")]))
    fresh.send(h11.EndOfMessage())
    if leftover:  # (an empty write would tell h11 the connection ended)
        fresh.receive_data(leftover)
    return fresh


async def test_a_frame_over_the_limit_closes_with_1009_and_no_reason(start_hub: StartHub) -> None:
    hub = await start_hub()
    limit = 16 * 1024 * 1024
    async with RawHub.connect(hub.url) as raw:
        await raw.ws.send_message("x" * (limit + 1))
        with trio.fail_after(TIMEOUT), pytest.raises(ConnectionClosed) as closed:
            await drain_messages(raw)
    reason = closed.value.reason
    assert reason is not None
    assert reason.code == 1009
    assert not reason.reason


async def drain_messages(raw: RawHub) -> None:
    while True:
        await raw.ws.get_message()


async def drain_stream(stream: trio.SocketStream) -> None:
    while await stream.receive_some(65536):
        pass


async def test_bad_utf8_in_a_text_frame_closes_with_1007_and_no_reason(hub: Any) -> None:
    stream, _, answer = await open_upgrade(hub.url + "?negotiateVersion=0")
    async with stream:
        assert isinstance(answer, wsproto.events.AcceptConnection)
        await stream.send_all(masked_frame(0x1, b'{"protocol":"json","version":1}\x1e\xff'))
        with trio.fail_after(TIMEOUT):
            data = b""
            while len(data) < 4:
                data += await stream.receive_some(65536)
    # An unmasked close frame: 0x88, length 2, the code, and no reason after it.
    assert data[:4] == b"\x88\x02" + struct.pack("!H", 1007), data


@pytest.mark.parametrize(
    "payload",
    [b"", struct.pack("!H", 1001), struct.pack("!H", 4000) + b"bye"],
    ids=["no-code", "going-away", "4000-with-reason"],
)
async def test_a_clients_close_is_answered_with_1000(hub: Any, payload: bytes) -> None:
    # The real server's transport ends its side with NormalClosure whatever the peer
    # sent (Kestrel answers a close without a code with 1000, not with an echo).
    async with json_hub_socket(hub) as (stream, connection):
        await stream.send_all(masked_frame(0x8, payload))
        closed = await close_frame(stream, connection)
    assert closed.code == 1000, closed
    assert not closed.reason


async def test_tls_terminates_at_the_front(start_hub: StartHub, tmp_path: Any) -> None:
    ca = trustme.CA()
    cert = ca.issue_cert("127.0.0.1")
    cert_file, key_file = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert.cert_chain_pems[0].write_to_path(str(cert_file))
    cert.private_key_pem.write_to_path(str(key_file))
    hub = await start_hub(tls_cert=str(cert_file), tls_key=str(key_file))
    assert hub.url.startswith("https://")
    client_context = ssl.create_default_context()
    ca.configure_trust(client_context)
    # Relayed (negotiate's redirect): hypercorn sees plain HTTP from the front, yet
    # the URL it builds says https, as the client addressed it.
    async with httpx.AsyncClient(verify=client_context, timeout=TIMEOUT) as client:
        response = await client.post(f"{hub.url}/redirect/negotiate?negotiateVersion=1")
    assert response.status_code == 200, response.text
    assert json.loads(response.text)["url"].startswith(hub.base.replace("http:", "https:"))
    # Native: a wss:// WebSocket through the same TLS.
    async with open_websocket_url(
        ws_url(hub.url) + "?negotiateVersion=0", ssl_context=client_context
    ) as ws:
        await ws.send_message('{"protocol":"json","version":1}\x1e')
        assert await ws.get_message() == "{}\x1e"
        await ws.send_message('{"type":1,"invocationId":"1","target":"Echo","arguments":[7]}\x1e')
        assert await ws.get_message() == '{"type":3,"invocationId":"1","result":7}\x1e'


async def test_a_drop_cuts_a_relayed_connection_at_the_front(start_hub: StartHub) -> None:
    # Server-Sent Events travel through hypercorn; DropTransport still resets the
    # client's own TCP connection, which only the front holds.
    hub = await start_hub(chaos=True)
    host, port = host_port(hub.url)
    path = urlsplit(hub.url).path
    async with httpx.AsyncClient(timeout=TIMEOUT) as client:
        body = (await client.post(f"{hub.url}/negotiate?negotiateVersion=1")).json()
        token = body["connectionToken"]
        async with await trio.open_tcp_stream(host, port) as stream:
            request = (
                f"GET {path}?id={token} HTTP/1.1\r\nHost: {host}\r\n"
                "Accept: text/event-stream\r\n\r\n"
            ).encode()
            await stream.send_all(request)
            with trio.fail_after(TIMEOUT):
                head = await stream.receive_some(65536)
            assert head.startswith(b"HTTP/1.1 200 "), head
            send = f"{hub.url}?id={token}"
            await client.post(send, content=b'{"protocol":"json","version":1}\x1e')
            await client.post(
                send,
                content=b'{"type":1,"invocationId":"1","target":"DropTransport","arguments":[]}\x1e',
            )
            with trio.fail_after(TIMEOUT), pytest.raises(trio.BrokenResourceError):
                await drain_stream(stream)


async def test_a_graceful_stop_sends_close_then_a_close_frame(nursery: trio.Nursery) -> None:
    options = ServerOptions(port=0)
    stop = trio.Event()
    app = HubApp(options)
    url = await nursery.start(
        lambda task_status: serve(options, stop=stop, app=app, task_status=task_status)
    )
    async with RawHub.connect(url) as raw:
        stop.set()
        messages = await raw.receive_all()
        closes = [message for message in messages if isinstance(message, Close)]
        assert closes == [Close(None, True)], messages
        assert raw.ws.closed is not None
        assert raw.ws.closed.code == 1000


if os.name != "posix":  # pragma: no cover
    pytest.skip("raw sockets as on Linux", allow_module_level=True)


def fully_masked_frame(opcode: int, payload: bytes, fin: bool = True, mask: bytes = MASK) -> bytes:
    """A client frame with all of its payload masked (masked_frame masks 64 bytes)."""
    head = frame_head(opcode, len(payload), fin)
    return head + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload))


@asynccontextmanager
async def json_hub_socket(
    hub: Any,
) -> AsyncIterator[tuple[trio.SocketStream, wsproto.WSConnection]]:
    """A bare socket to the hub, upgraded and past the JSON handshake."""
    stream, connection, answer = await open_upgrade(hub.url + "?negotiateVersion=0")
    async with stream:
        assert isinstance(answer, wsproto.events.AcceptConnection)
        await stream.send_all(fully_masked_frame(0x1, b'{"protocol":"json","version":1}\x1e'))
        event = await next_event(stream, connection)
        assert isinstance(event, wsproto.events.TextMessage), event
        yield stream, connection


def echo_record(invocation_id: str, message: str) -> bytes:
    invocation = {"type": 1, "invocationId": invocation_id, "target": "Echo"}
    return json.dumps({**invocation, "arguments": [message]}).encode() + b"\x1e"


def echo_records(prefix: str, count: int, size: int) -> tuple[bytes, dict[str, str]]:
    """`count` Echo invocations of `size` characters in one payload (a frame over
    64 KiB holds many messages, each under the hub's 32 KiB limit)."""
    texts = {f"{prefix}-{index}": chr(97 + index % 26) * size for index in range(count)}
    return b"".join(echo_record(key, text) for key, text in texts.items()), texts


async def echo_results(
    stream: trio.SocketStream, connection: wsproto.WSConnection, count: int
) -> tuple[dict[str, Any], int]:
    """The next `count` completions, by invocation id, and the pongs on the way."""
    results: dict[str, Any] = {}
    pongs = 0
    text = ""
    with trio.fail_after(TIMEOUT):
        while len(results) < count:
            event = await next_event(stream, connection)
            if isinstance(event, wsproto.events.Pong):
                pongs += 1
                continue
            assert isinstance(event, wsproto.events.TextMessage), event
            # wsproto hands a long message over in pieces.
            text += event.data
            if not event.message_finished:
                continue
            records, text = text.split("\x1e")[:-1], ""
            for record in records:
                message = json.loads(record)
                assert message["type"] == 3, message
                results[message["invocationId"]] = message["result"]
    return results, pongs


async def test_frames_of_every_kind_reach_the_hub_whole(hub: Any) -> None:
    # Whole frames, control frames between them, fragments and frames cut by a
    # read, all in one stream: `websockets` must hand the hub every message intact.
    async with json_hub_socket(hub) as (stream, connection):
        long_text = "x" * 300  # a 16-bit length
        many, expected = echo_records("3", 100, 700)  # a 64-bit length
        fragmented = echo_record("4", "in three pieces")
        expected |= {
            "1": "whole",
            "2": long_text,
            "4": "in three pieces",
            "5": "after a ping",
            "6": "binary",
            "7": "two in one",
            "8": "two in one, second",
        }
        wire = b"".join(
            [
                fully_masked_frame(0x1, echo_record("1", "whole")),
                fully_masked_frame(0x1, echo_record("2", long_text)),
                fully_masked_frame(0x1, many),
                fully_masked_frame(0x1, fragmented[:10], fin=False),
                fully_masked_frame(0x9, b"ping inside a fragmented message"),
                fully_masked_frame(0x0, fragmented[10:20], fin=False),
                fully_masked_frame(0x0, fragmented[20:]),
                fully_masked_frame(0x9, b"ping"),
                fully_masked_frame(0x1, echo_record("5", "after a ping")),
                fully_masked_frame(0x2, echo_record("6", "binary")),
                fully_masked_frame(
                    0x1, echo_record("7", "two in one") + echo_record("8", "two in one, second")
                ),
            ]
        )
        for start in range(0, len(wire), 997):
            await stream.send_all(wire[start : start + 997])
        received, pongs = await echo_results(stream, connection, len(expected))
    assert received == expected
    assert pongs == 2


async def test_a_frame_cut_anywhere_by_a_read_reaches_the_hub_whole(hub: Any) -> None:
    # A whole frame and the first `cut` bytes of the next in one write, the rest
    # once the first was answered (so read): the cut falls in every part of the
    # header (16- and 64-bit lengths, mask) and in the payload.
    async with json_hub_socket(hub) as (stream, connection):
        for count, size, cuts in [(1, 200, [*range(1, 12), 100]), (100, 700, [*range(1, 18), 50])]:
            for cut in cuts:
                payload, texts = echo_records(f"{cut}b", count, size)
                first = fully_masked_frame(0x1, echo_record(f"{cut}a", "first"))
                second = fully_masked_frame(0x1, payload)
                await stream.send_all(first + second[:cut])
                assert await echo_results(stream, connection, 1) == ({f"{cut}a": "first"}, 0)
                await stream.send_all(second[cut:])
                assert await echo_results(stream, connection, count) == (texts, 0)


async def test_the_rest_of_a_cut_frame_is_never_taken_for_a_frame(hub: Any) -> None:
    # The rest of a frame cut by a read may look like a frame header: here its
    # masked payload reads 0x81 0x80 (a whole empty Text frame) right at the cut.
    # Only where a frame really begins may the front parse one.
    async with json_hub_socket(hub) as (stream, connection):
        text = "a" * 64
        payload = echo_record("2", text)
        # "a" ^ 0xE0 == 0x81 and "a" ^ 0xE1 == 0x80; the payload offset of the cut
        # is a multiple of 4, so the mask lines up there.
        mask = b"\xe0\xe1\x01\x02"
        offset = payload.index(b"a" * 16) // 4 * 4 + 4
        second = fully_masked_frame(0x1, payload, mask=mask)
        cut = len(second) - len(payload) + offset
        assert second[cut : cut + 2] == b"\x81\x80"
        await stream.send_all(fully_masked_frame(0x1, echo_record("1", "first")) + second[:cut])
        assert await echo_results(stream, connection, 1) == ({"1": "first"}, 0)
        await stream.send_all(second[cut:] + fully_masked_frame(0x1, echo_record("3", "third")))
        assert await echo_results(stream, connection, 2) == ({"2": text, "3": "third"}, 0)
