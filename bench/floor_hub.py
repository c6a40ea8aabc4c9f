"""The floor of `hubcli serve`'s WebSocket stack, as a hub the official client can use.

    .venv/bin/python bench/floor_hub.py

Prints http://127.0.0.1:PORT/hub, then serves until SIGTERM or SIGINT. It stands on
exactly what `hubcli serve`'s front serves WebSockets with (hubcli/server/front.py,
transports/native_websockets.py): trio's TCP listener, 64 KiB reads, and the
`websockets` package's sans-IO ServerProtocol parsing every frame. Above that it does
as little as a hub the official client accepts can: a fixed negotiate answer, the
handshake answer, and then it only counts the data frames. The one message it reads
is the first invocation (for its id, to answer it). It ends the upload when a frame
holds a Completion (`"type":3`), skips pings (`"type":6`), and answers with the sum of
0..N-1, where N counts the StreamItem frames. That is the official client's
one-frame-per-item upload (bench/server_bench.py row 1) done by nothing but this stack:
the bare floor, measured beside `hubcli serve`. For rows 3 and 4 it answers a frame
holding an `Echo` invocation at once with its Completion (orjson, as hubcli's own
parser): the floor of an invoke's round trip on this stack.
"""

from __future__ import annotations

import contextlib
import json
import signal
import sys

import orjson
import trio
from websockets.frames import Frame, Opcode
from websockets.http11 import Request
from websockets.server import ServerProtocol

RECEIVE_CHUNK = 64 * 1024
MAX_MESSAGE = 32 * 1024
SEPARATOR = b"\x1e"
NEGOTIATE = json.dumps(
    {
        "negotiateVersion": 1,
        "connectionId": "floor",
        "connectionToken": "floor",
        "availableTransports": [{"transport": "WebSockets", "transferFormats": ["Text", "Binary"]}],
    }
).encode()


async def answer_http(stream: trio.SocketStream, head: bytes) -> None:
    """Negotiate (any POST): the fixed answer, then close."""
    del head
    await stream.send_all(
        b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: close\r\n"
        b"Content-Length: %d\r\n\r\n%s" % (len(NEGOTIATE), NEGOTIATE)
    )


async def connection(stream: trio.SocketStream) -> None:
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = await stream.receive_some(RECEIVE_CHUNK)
        if not chunk:
            return
        data += chunk
    if not data.startswith(b"GET "):
        await answer_http(stream, data)
        await stream.aclose()
        return
    protocol = ServerProtocol(max_size=MAX_MESSAGE)
    frames = 0
    invocation_id: str | None = None
    handshaken = False
    try:
        while True:
            if data:
                protocol.receive_data(data)
            else:
                protocol.receive_eof()
            for event in protocol.events_received():
                if isinstance(event, Request):
                    protocol.send_response(protocol.accept(event))
                elif isinstance(event, Frame) and event.opcode in (Opcode.TEXT, Opcode.BINARY):
                    payload = event.data
                    if not handshaken:
                        handshaken = True
                        protocol.send_text(b"{}" + SEPARATOR)
                    elif b'"type":6' in payload or b'"type":7' in payload:
                        pass  # a ping, or the client's Close
                    elif b'"target":"Echo"' in payload:
                        echo = orjson.loads(bytes(payload).rstrip(SEPARATOR))
                        answer = {"type": 3, "invocationId": echo["invocationId"]}
                        answer["result"] = echo["arguments"][0]
                        protocol.send_text(orjson.dumps(answer) + SEPARATOR)
                    elif invocation_id is None:
                        invocation = json.loads(bytes(payload).rstrip(SEPARATOR))
                        invocation_id = invocation["invocationId"]
                    elif b'"type":3' in payload:
                        result = frames * (frames - 1) // 2
                        completion = {"type": 3, "invocationId": invocation_id, "result": result}
                        protocol.send_text(json.dumps(completion).encode() + SEPARATOR)
                    else:
                        frames += 1
            if writes := protocol.data_to_send():
                await stream.send_all(b"".join(writes))
            if not data:
                return
            data = await stream.receive_some(RECEIVE_CHUNK)
    except (trio.BrokenResourceError, trio.ClosedResourceError):
        pass


async def main() -> None:
    listeners = await trio.open_tcp_listeners(0, host="127.0.0.1")
    port = listeners[0].socket.getsockname()[1]
    print(f"http://127.0.0.1:{port}/hub", flush=True)
    await trio.serve_listeners(connection, listeners)


if __name__ == "__main__":
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    with contextlib.suppress(KeyboardInterrupt):
        trio.run(main)
