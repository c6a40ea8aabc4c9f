"""The floor of each WebSocket server stack, beside `hubcli serve`, in one run.

    .venv/bin/python bench/websocket_floor_bench.py [--runs 5] [--frames 30000]
        [--items 1000000] [--frames-per-write 1] [--stacks hypercorn,wsproto,...]

Which WebSocket stack should `hubcli serve` stand on (issue 13)? Each candidate runs
in a server process of its own that does nothing but count what it receives, or send
what was encoded before the connection came:

- hypercorn: an ASGI app on hypercorn's trio worker (what `hubcli serve` uses today);
- trio-websocket: its own `serve_websocket` (receive buffer 64 KiB, not its 4 KiB);
- wsproto: `WSConnection(SERVER)` straight on a trio stream, `receive_some(65536)`;
- websockets: the `websockets` package's sans-IO `ServerProtocol` on a trio stream,
  `receive_some(65536)` (what `hubcli serve`'s front serves WebSockets with);
- frames: a hand-written frame reader on a trio stream (wsproto only for the
  handshake), to show what wsproto's own frame parsing costs;
- frames+parse: the same, each payload also parsed into hub messages by hubcli's own
  JSON parser (hubcli.protocol): a floor for the whole upload on that stack;
- hubcli: `hubcli serve` itself, doing the real SignalR work.

Receive: a client in this process (a blocking socket writing frames masked in advance,
one socket write per `--frames-per-write` frames, so it costs far less per frame than
any server) sends `--frames` text frames of one StreamItem record each
(`{"type":2,"invocationId":"1","item":N}` + 0x1e, ~42 bytes); the time runs from the
end of the handshake(s) until the server's one answer: "done" from a floor server
once it has counted them all, the Completion of `UploadSummary` from `hubcli serve`
(the whole upload, invocation and Completion records included).

Send: each floor server sends `--items` StreamItem records batched as FastStream
batches them (2048 a frame), then "end"; `hubcli serve` streams `FastStream(items)`.
The client reads every frame and counts the records.

The client is Python, not Node: tests/conformance/node_modules has no `ws` package,
and Node 20 has no WebSocket client of its own. Writing frames masked in advance, it
costs under 2 us a frame (the whole "frames" run), below every other server. The
floor servers are this same file, started as `--serve STACK`.

Runs are interleaved across stacks (drift hits all alike); reported: medians of wall
time, ratio to the fastest stack, and the server process's CPU (user + system, from
/proc) per frame or item.
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

from client_bench import checkout_env, compile_hubcli, start_server

SCRIPT = Path(__file__).resolve()
FLOOR_STACKS = ("hypercorn", "trio-websocket", "wsproto", "websockets", "frames", "frames+parse")
ALL_STACKS = (*FLOOR_STACKS, "hubcli")
BATCH = 2048  # items per frame, as FastStream sends them
MAX_MESSAGE = 16 * 1024 * 1024
MASK = b"\x5a\xa5\x3c\xc3"
RECORD_SEPARATOR = b"\x1e"


# ---------------------------------------------------------------- frames and records


def item_record(index: int) -> bytes:
    return b'{"type":2,"invocationId":"1","item":%d}\x1e' % index


def send_batches(items: int) -> list[str]:
    """What a floor server sends for `items`: FastStream's batches, encoded in advance."""
    return [
        "".join(
            f'{{"type":2,"invocationId":"1","item":{index}}}\x1e'
            for index in range(start, min(start + BATCH, items))
        )
        for start in range(0, items, BATCH)
    ]


# Encoded once at server start for the --items the bench asks for.
PREPARED: dict[int, list[str]] = {}


def batches(items: int) -> list[str]:
    return PREPARED.get(items) or send_batches(items)


def masked_frame(payload: bytes, opcode: int = 1) -> bytes:
    """One final client frame (clients must mask)."""
    size = len(payload)
    if size < 126:
        header = bytes((0x80 | opcode, 0x80 | size))
    elif size < 1 << 16:
        header = bytes((0x80 | opcode, 0x80 | 126)) + size.to_bytes(2, "big")
    else:
        header = bytes((0x80 | opcode, 0x80 | 127)) + size.to_bytes(8, "big")
    key = (MASK * (size // 4 + 1))[:size]
    masked = (int.from_bytes(payload, "big") ^ int.from_bytes(key, "big")).to_bytes(size, "big")
    return header + MASK + masked


def unmask(payload: bytes, key: bytes) -> bytes:
    size = len(payload)
    repeated = (key * (size // 4 + 1))[:size]
    return (int.from_bytes(payload, "big") ^ int.from_bytes(repeated, "big")).to_bytes(size, "big")


def parse_path(path: str) -> tuple[str, int]:
    """`/recv/30000` or `/send/1000000`."""
    _, kind, count = path.split("?", maxsplit=1)[0].split("/")
    return kind, int(count)


# ---------------------------------------------------------------- floor servers

Scope = MutableMapping[str, Any]
AsgiMessage = MutableMapping[str, Any]


async def asgi_app(
    scope: Scope,
    receive: Callable[[], Awaitable[AsgiMessage]],
    send: Callable[[AsgiMessage], Awaitable[None]],
) -> None:
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return
    if scope["type"] != "websocket":
        await send({"type": "http.response.start", "status": 404, "headers": []})
        await send({"type": "http.response.body", "body": b""})
        return
    await receive()  # websocket.connect
    await send({"type": "websocket.accept"})
    kind, count = parse_path(scope["path"])
    if kind == "recv":
        received = 0
        while received < count:
            message = await receive()
            if message["type"] == "websocket.disconnect":
                return
            received += 1
        await send({"type": "websocket.send", "text": "done"})
    else:
        for batch in batches(count):
            await send({"type": "websocket.send", "text": batch})
        await send({"type": "websocket.send", "text": "end"})
    while (await receive())["type"] != "websocket.disconnect":
        pass


async def serve_hypercorn() -> None:
    import trio
    from hypercorn.config import Config
    from hypercorn.trio import serve

    config = Config()
    config.bind = ["127.0.0.1:0"]
    config.accesslog = None
    config.loglevel = "WARNING"
    config.include_server_header = False
    config.websocket_max_message_size = MAX_MESSAGE
    async with trio.open_nursery() as nursery:
        binds: list[str] = await nursery.start(partial(serve, asgi_app, config))  # type: ignore[arg-type]
        announce(int(binds[0].rsplit(":", 1)[1]))


async def serve_trio_websocket() -> None:
    import trio
    from trio_websocket import ConnectionClosed, WebSocketRequest, serve_websocket

    async def handler(request: WebSocketRequest) -> None:
        ws = await request.accept()
        kind, count = parse_path(request.path)
        try:
            if kind == "recv":
                for _ in range(count):
                    await ws.get_message()
                await ws.send_message("done")
            else:
                for batch in batches(count):
                    await ws.send_message(batch)
                await ws.send_message("end")
            while True:
                await ws.get_message()
        except ConnectionClosed:
            pass

    async with trio.open_nursery() as nursery:
        server = await nursery.start(
            partial(
                serve_websocket,
                handler,
                "127.0.0.1",
                0,
                None,
                max_message_size=MAX_MESSAGE,
                receive_buffer_size=65536,
            )
        )
        announce(server.port)


async def serve_wsproto(handle: Callable[[Any], Awaitable[None]]) -> None:
    import trio

    listeners = await trio.open_tcp_listeners(0, host="127.0.0.1")
    announce(listeners[0].socket.getsockname()[1])
    await trio.serve_listeners(handle, listeners)


async def wsproto_connection(stream: Any) -> None:
    """Counts wsproto's Message events; sends with wsproto's own encoder."""
    import trio
    from wsproto import ConnectionType, WSConnection
    from wsproto.events import AcceptConnection, CloseConnection, Message, Ping, Request

    ws = WSConnection(ConnectionType.SERVER)
    received = 0
    target = -1
    try:
        while data := await stream.receive_some(65536):
            ws.receive_data(data)
            out: list[bytes] = []
            for event in ws.events():
                if isinstance(event, Message):
                    if event.message_finished:
                        received += 1
                        if received == target:
                            out.append(ws.send(Message(data="done")))
                elif isinstance(event, Request):
                    kind, count = parse_path(event.target)
                    out.append(ws.send(AcceptConnection()))
                    if kind == "recv":
                        target = count
                    else:
                        await stream.send_all(b"".join(out))
                        out.clear()
                        for batch in batches(count):
                            await stream.send_all(ws.send(Message(data=batch)))
                        out.append(ws.send(Message(data="end")))
                elif isinstance(event, CloseConnection):
                    await stream.send_all(b"".join([*out, ws.send(event.response())]))
                    return
                elif isinstance(event, Ping):
                    out.append(ws.send(event.response()))
            if out:
                await stream.send_all(b"".join(out))
    except (trio.BrokenResourceError, trio.ClosedResourceError):
        pass


async def websockets_connection(stream: Any) -> None:
    """Counts the data frames `websockets`' sans-IO protocol parses; sends with it too."""
    import trio
    from websockets.frames import Frame, Opcode
    from websockets.http11 import Request
    from websockets.server import ServerProtocol

    protocol = ServerProtocol(max_size=MAX_MESSAGE)
    received = 0
    target = -1
    try:
        while data := await stream.receive_some(65536):
            protocol.receive_data(data)
            for event in protocol.events_received():
                if isinstance(event, Frame):
                    if event.opcode is Opcode.TEXT or event.opcode is Opcode.BINARY:
                        received += 1
                        if received == target:
                            protocol.send_text(b"done")
                elif isinstance(event, Request):
                    kind, count = parse_path(event.path)
                    protocol.send_response(protocol.accept(event))
                    if kind == "recv":
                        target = count
                    else:
                        await stream.send_all(b"".join(protocol.data_to_send()))
                        for batch in batches(count):
                            protocol.send_text(batch.encode())
                            await stream.send_all(b"".join(protocol.data_to_send()))
                        protocol.send_text(b"end")
            if writes := protocol.data_to_send():
                await stream.send_all(b"".join(writes))
    except (trio.BrokenResourceError, trio.ClosedResourceError):
        pass


def server_frame(payload: bytes, opcode: int = 1) -> bytes:
    size = len(payload)
    if size < 126:
        header = bytes((0x80 | opcode, size))
    elif size < 1 << 16:
        header = bytes((0x80 | opcode, 126)) + size.to_bytes(2, "big")
    else:
        header = bytes((0x80 | opcode, 127)) + size.to_bytes(8, "big")
    return header + payload


async def frames_connection(stream: Any, *, parse: bool = False) -> None:
    """wsproto for the handshake only, then frames read by hand: each unmasked and each
    text frame checked to be UTF-8 (as a real server must), counted, control frames
    answered. Fragmented messages are counted per frame: enough for a floor. With
    `parse`, each payload also goes through hubcli's own JSON hub message parser and
    the messages are counted: what is left of a whole upload without hubcli's tasks,
    pipes and dispatch."""
    import trio
    from wsproto import ConnectionType, WSConnection
    from wsproto.events import AcceptConnection, Request

    from hubcli.protocol import JsonHubProtocol

    parser = JsonHubProtocol().parser()
    ws = WSConnection(ConnectionType.SERVER)
    buffer = b""
    try:
        while data := await stream.receive_some(65536):
            ws.receive_data(data)
            request = next((e for e in ws.events() if isinstance(e, Request)), None)
            if request is not None:
                break
        else:
            return
        await stream.send_all(ws.send(AcceptConnection()))
        kind, count = parse_path(request.target)
        if kind == "send":
            for batch in batches(count):
                await stream.send_all(server_frame(batch.encode()))
            await stream.send_all(server_frame(b"end"))
        # What wsproto read past the handshake is not reachable through its public API;
        # a real client waits for the 101 before it sends frames, and so does ours.
        received = 0
        while data := await stream.receive_some(65536):
            buffer = buffer + data if buffer else data
            position = 0
            end = len(buffer)
            while end - position >= 6:
                first = buffer[position]
                size = buffer[position + 1] & 0x7F
                header = 6
                if size == 126:
                    header = 8
                    if end - position < header:
                        break
                    size = int.from_bytes(buffer[position + 2 : position + 4], "big")
                elif size == 127:
                    header = 14
                    if end - position < header:
                        break
                    size = int.from_bytes(buffer[position + 2 : position + 10], "big")
                if end - position < header + size:
                    break
                key = buffer[position + header - 4 : position + header]
                payload = unmask(buffer[position + header : position + header + size], key)
                position += header + size
                opcode = first & 0x0F
                if opcode == 8:
                    await stream.send_all(server_frame(payload[:2], 8))
                    return
                if opcode == 9:
                    await stream.send_all(server_frame(payload, 10))
                elif first & 0x80 and opcode in (0, 1, 2):
                    if opcode == 1:
                        payload.decode()  # text must be UTF-8, as wsproto checks too
                    received += len(parser.feed(payload)) if parse else 1
                    if received == count and kind == "recv":
                        await stream.send_all(server_frame(b"done"))
            buffer = buffer[position:]
    except (trio.BrokenResourceError, trio.ClosedResourceError):
        pass


def announce(port: int) -> None:
    print(port, flush=True)


def run_floor_server(stack: str, items: int) -> None:
    import trio

    PREPARED[items] = send_batches(items)
    servers: dict[str, Callable[[], Awaitable[None]]] = {
        "hypercorn": serve_hypercorn,
        "trio-websocket": serve_trio_websocket,
        "wsproto": partial(serve_wsproto, wsproto_connection),
        "websockets": partial(serve_wsproto, websockets_connection),
        "frames": partial(serve_wsproto, frames_connection),
        "frames+parse": partial(serve_wsproto, partial(frames_connection, parse=True)),
    }
    trio.run(servers[stack])


# ---------------------------------------------------------------- the client


class Client:
    """A blocking WebSocket client that reads server frames without copying them twice."""

    def __init__(self, port: int, path: str) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port))
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.sock.sendall(
            f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\n"
            "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
            "Sec-WebSocket-Version: 13\r\n\r\n".encode()
        )
        self.buffer = bytearray()
        self.position = 0
        while b"\r\n\r\n" not in self.buffer:
            self._receive()
        head, _, rest = bytes(self.buffer).partition(b"\r\n\r\n")
        if not head.startswith(b"HTTP/1.1 101"):
            raise RuntimeError(f"no upgrade on {path}: {head[:80]!r}")
        self.buffer = bytearray(rest)

    def _receive(self) -> None:
        chunk = self.sock.recv(1 << 20)
        if not chunk:
            raise ConnectionError("server closed the socket")
        if self.position > 1 << 20:
            del self.buffer[: self.position]
            self.position = 0
        self.buffer += chunk

    def _need(self, size: int) -> None:
        while len(self.buffer) - self.position < size:
            self._receive()

    def frame(self) -> tuple[int, bytes]:
        self._need(2)
        first, second = self.buffer[self.position], self.buffer[self.position + 1]
        size = second & 0x7F
        header = 2
        if size == 126:
            header = 4
            self._need(header)
            size = int.from_bytes(self.buffer[self.position + 2 : self.position + 4], "big")
        elif size == 127:
            header = 10
            self._need(header)
            size = int.from_bytes(self.buffer[self.position + 2 : self.position + 10], "big")
        self._need(header + size)
        start = self.position + header
        payload = bytes(self.buffer[start : start + size])
        self.position = start + size
        return first & 0x0F, payload

    def send_in_writes(self, frames: list[bytes], per_write: int) -> None:
        if per_write <= 0:
            self.sock.sendall(b"".join(frames))
            return
        for start in range(0, len(frames), per_write):
            self.sock.sendall(b"".join(frames[start : start + per_write]))

    def close(self) -> None:
        try:
            self.sock.sendall(masked_frame(b"\x03\xe8", opcode=8))
            self.sock.shutdown(socket.SHUT_WR)
        except OSError:
            pass
        self.sock.close()


@dataclass
class Server:
    stack: str
    process: subprocess.Popen[str]
    port: int
    path: str  # hubcli's hub path; unused by the floor servers

    def cpu(self) -> float:
        """User + system CPU seconds the server process has used so far."""
        fields = Path(f"/proc/{self.process.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@dataclass
class Sample:
    wall: float
    cpu: float


def signalr_handshake(client: Client) -> None:
    client.sock.sendall(masked_frame(b'{"protocol":"json","version":1}\x1e'))
    _, answer = client.frame()
    if answer != b"{}\x1e":
        raise RuntimeError(f"handshake refused: {answer!r}")


def receive_run(server: Server, frames: list[bytes], per_write: int) -> Sample:
    count = len(frames)
    if server.stack.startswith("hubcli"):
        client = Client(server.port, server.path)
        signalr_handshake(client)
        upload = [
            masked_frame(
                b'{"type":1,"invocationId":"0","target":"UploadSummary",'
                b'"arguments":[],"streamIds":["1"]}\x1e'
            ),
            *frames,
            masked_frame(b'{"type":3,"invocationId":"1"}\x1e'),
        ]
    else:
        client = Client(server.port, f"/recv/{count}")
        upload = frames
    cpu = server.cpu()
    started = time.perf_counter()
    client.send_in_writes(upload, per_write)
    while True:
        _, payload = client.frame()
        if payload == b"done":
            break
        if b'"type":3' in payload and b'"invocationId":"0"' in payload:
            if b'"count":%d' % count not in payload:
                raise RuntimeError(f"hubcli counted otherwise: {payload[:200]!r}")
            break
    wall = time.perf_counter() - started
    sample = Sample(wall, server.cpu() - cpu)
    client.close()
    return sample


def send_run(server: Server, items: int) -> Sample:
    if server.stack.startswith("hubcli"):
        client = Client(server.port, server.path)
        signalr_handshake(client)
    else:
        client = Client(server.port, f"/send/{items}")
    cpu = server.cpu()
    started = time.perf_counter()
    if server.stack.startswith("hubcli"):
        client.sock.sendall(
            masked_frame(
                b'{"type":4,"invocationId":"0","target":"FastStream","arguments":[%d]}\x1e' % items
            )
        )
    records = 0
    while True:
        opcode, payload = client.frame()
        if opcode == 8:
            raise RuntimeError(f"{server.stack} closed the socket: {payload!r}")
        if payload == b"end":
            break
        records += payload.count(RECORD_SEPARATOR)
        if b'"type":3' in payload:
            records -= 1
            break
    wall = time.perf_counter() - started
    sample = Sample(wall, server.cpu() - cpu)
    client.close()
    if records != items:
        raise RuntimeError(f"{server.stack} sent {records} records, not {items}")
    return sample


# ---------------------------------------------------------------- the bench


def start_floor_server(stack: str, items: int) -> Server:
    process = subprocess.Popen(
        [sys.executable, str(SCRIPT), "--serve", stack, "--items", str(items)],
        stdout=subprocess.PIPE,
        text=True,
        env=checkout_env(),
    )
    assert process.stdout is not None
    return Server(stack, process, int(process.stdout.readline()), "")


def start_hubcli(stack: str = "hubcli", checkout: Path | None = None) -> Server:
    """`hubcli serve` of this checkout, or of another one (e.g. a worktree of main)."""
    if checkout is None:
        process, url = start_server()
    else:
        process = subprocess.Popen(
            [sys.executable, "-m", "hubcli", "serve", "--port", "0"],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
            env={**os.environ, "PYTHONPATH": str(checkout)},
            cwd=checkout,  # `-m` puts the working directory ahead of PYTHONPATH
        )
        assert process.stdout is not None
        url = process.stdout.readline().strip()
    address, _, path = url.partition("://")[2].partition("/")
    return Server(stack, process, int(address.rsplit(":", 1)[1]), "/" + path)


def report(title: str, unit: str, count: int, samples: dict[str, list[Sample]]) -> None:
    medians = {
        stack: Sample(
            statistics.median(s.wall for s in runs), statistics.median(s.cpu for s in runs)
        )
        for stack, runs in samples.items()
    }
    fastest = min(m.wall for m in medians.values())
    print(f"\n{title}")
    print(f"{'stack':<16} {'wall':>9} {'x fastest':>10} {'server CPU':>11} {'CPU/' + unit:>12}")
    for stack, m in medians.items():
        print(
            f"{stack:<16} {m.wall:7.3f} s {m.wall / fastest:9.2f}x {m.cpu:9.2f} s "
            f"{m.cpu / count * 1e6:9.2f} us"
        )
    if "hubcli" in medians:
        whole = medians["hubcli"].wall
        floors = ", ".join(
            f"{whole / m.wall:.2f}x {stack}" for stack, m in medians.items() if stack != "hubcli"
        )
        print(f"hubcli over each floor: {floors}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--frames", type=int, default=30_000)
    parser.add_argument("--items", type=int, default=1_000_000)
    parser.add_argument(
        "--frames-per-write",
        type=int,
        default=1,
        help="client frames per socket write (0: all in one write)",
    )
    parser.add_argument("--stacks", default=",".join(ALL_STACKS))
    parser.add_argument("--skip-send", action="store_true")
    parser.add_argument("--serve", choices=FLOOR_STACKS, help=argparse.SUPPRESS)
    options = parser.parse_args()
    if options.serve:
        run_floor_server(options.serve, options.items)
        return
    stacks = [stack for stack in options.stacks.split(",") if stack]
    unknown = set(stacks) - set(ALL_STACKS)
    if unknown:
        parser.error(f"unknown stacks: {', '.join(sorted(unknown))}")
    if "hubcli" in stacks:
        compile_hubcli()
    servers = [
        start_hubcli() if stack == "hubcli" else start_floor_server(stack, options.items)
        for stack in stacks
    ]
    frames = [masked_frame(item_record(index)) for index in range(options.frames)]
    print(
        f"websocket floor bench: {options.runs} runs each, interleaved, medians; "
        f"{options.frames} frames of ~{len(item_record(options.frames // 2))} B, "
        f"{options.frames_per_write or 'all'} a write; {options.items} items sent"
    )
    try:
        received: dict[str, list[Sample]] = {server.stack: [] for server in servers}
        sent: dict[str, list[Sample]] = {server.stack: [] for server in servers}
        for _ in range(options.runs):
            for server in servers:
                received[server.stack].append(receive_run(server, frames, options.frames_per_write))
        report(
            f"receive {options.frames} small frames (hubcli: the whole UploadSummary)",
            "frame",
            options.frames,
            received,
        )
        if not options.skip_send:
            for _ in range(options.runs):
                for server in servers:
                    sent[server.stack].append(send_run(server, options.items))
            report(
                f"send {options.items} items, {BATCH} a frame (hubcli: FastStream)",
                "item",
                options.items,
                sent,
            )
    finally:
        for server in servers:
            server.process.terminate()
            server.process.wait()


if __name__ == "__main__":
    main()
