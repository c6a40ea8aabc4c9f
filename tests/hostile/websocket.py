"""The hostile server's WebSocket after the upgrade: the client's frames are read
with wsproto, and the server writes its own frames byte by byte, so it can write the
ones no library would (a reserved opcode, a Close of one byte, an endless message)."""

from __future__ import annotations

import base64
import hashlib
from typing import Final

import trio
from wsproto.connection import Connection, ConnectionType
from wsproto.events import BytesMessage, CloseConnection, Ping, TextMessage

from .http import FLOOD_CHUNK, FLOOD_CHUNKS, HttpConnection
from .records import FOREIGN_ID, Encoder
from .script import Ending, Record
from .session import Data, Pause, Session

WEBSOCKET_GUID: Final = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
CONTINUATION: Final = 0x0
TEXT: Final = 0x1
BINARY: Final = 0x2
RESERVED: Final = 0x3
CLOSE: Final = 0x8
PING: Final = 0x9
PONG: Final = 0xA
PINGS: Final = 200
CLOSE_CODES: Final = {
    Ending.CLEAN: 1000,
    Ending.STATUS_404: 4004,
    Ending.STATUS_500: 1011,
    Ending.STATUS_401: 1008,
    Ending.CODE_1001: 1001,
    Ending.CODE_1002: 1002,
    Ending.CODE_1009: 1009,
    Ending.CODE_4000: 4000,
}


def frame(opcode: int, payload: bytes, *, final: bool = True) -> bytes:
    """An unmasked frame (server to client)."""
    first = (0x80 if final else 0) | opcode
    length = len(payload)
    if length < 126:
        head = bytes([first, length])
    elif length < 65536:
        head = bytes([first, 126]) + length.to_bytes(2, "big")
    else:
        head = bytes([first, 127]) + length.to_bytes(8, "big")
    return head + payload


def accept_key(key: str) -> str:
    return base64.b64encode(hashlib.sha1((key + WEBSOCKET_GUID).encode()).digest()).decode()


class WebSocket:
    """A WebSocket after the upgrade: the client's frames read, the script's written."""

    def __init__(self, http: HttpConnection, session: Session, log: list[str]) -> None:
        self._http = http
        self._stream = http.stream
        self._session = session
        self._log = log
        self._protocol = Connection(ConnectionType.SERVER, trailing_data=http.trailing_data)
        self._send_lock = trio.Lock()

    @property
    def _opcode(self) -> int:
        # The handshake request names the protocol, so it is known before any data.
        return BINARY if self._session.protocol == "messagepack" else TEXT

    async def _send(self, data: bytes) -> None:
        async with self._send_lock:
            await self._stream.send_all(data)

    async def run(self) -> None:
        async with trio.open_nursery() as nursery:
            nursery.start_soon(self._read, nursery.cancel_scope)
            await self._write()

    async def _read(self, done: trio.CancelScope) -> None:
        """The client's frames: messages to the session; pings answered; its Close
        answered and the connection ended."""
        parts: list[bytes] = []
        try:
            while True:
                for event in self._protocol.events():
                    if isinstance(event, TextMessage | BytesMessage):
                        data = event.data.encode() if isinstance(event.data, str) else event.data
                        parts.append(bytes(data))
                        if event.message_finished:
                            message, parts = b"".join(parts), []
                            self._session.client_data(message)
                    elif isinstance(event, Ping):
                        await self._send(frame(PONG, bytes(event.payload)))
                    elif isinstance(event, CloseConnection):
                        echo = event.code.to_bytes(2, "big") if event.code < 1005 else b""
                        await self._send(frame(CLOSE, echo))
                        done.cancel()
                        return
                data = await self._stream.receive_some(64 * 1024)
                if not data:
                    done.cancel()
                    return
                self._protocol.receive_data(bytes(data))
        except (trio.BrokenResourceError, trio.ClosedResourceError):
            done.cancel()

    async def _write(self) -> None:
        while True:
            action = await self._session.next_action()
            if isinstance(action, Pause):
                await trio.sleep(action.seconds)
            elif isinstance(action, Data):
                await self._send(frame(self._opcode, action.payload))
            else:
                self._log.append(f"WebSockets ending: {action.ending.name}")
                await self._end(action.ending)
                return

    async def _end(self, ending: Ending) -> None:
        if ending in CLOSE_CODES:
            code = CLOSE_CODES[ending]
            await self._send(frame(CLOSE, code.to_bytes(2, "big") + ending.value.encode()))
            await trio.sleep_forever()  # the reader ends it, on the client's Close
        match ending:
            case Ending.CLOSE_NO_CODE:
                await self._send(frame(CLOSE, b""))
                await trio.sleep_forever()
            case Ending.CLOSE_BAD_PAYLOAD:
                await self._send(frame(CLOSE, b"\x03"))
                await trio.sleep_forever()
            case Ending.FIN:
                await self._http.fin()
            case Ending.RESET:
                await self._http.reset()
            case Ending.HALF_CLOSE:
                await self._http.half_close()
                await trio.sleep_forever()
            case Ending.MID_FRAME:
                whole = frame(self._opcode, b'{"type":3,"invocationId":"0","result":1}\x1e')
                await self._send(whole[: len(whole) // 2])
                await self._http.fin()
            case Ending.GARBAGE:
                await self._send(frame(RESERVED, b"abc"))
                await trio.sleep_forever()
            case Ending.WRONG_FRAME_TYPE:
                other = TEXT if self._opcode == BINARY else BINARY
                record = Encoder(self._session.protocol, self._session.script.value).record(
                    Record.COMPLETION_RESULT, FOREIGN_ID
                )
                await self._send(frame(other, record))
                await trio.sleep_forever()
            case Ending.INVALID_UTF8_TEXT:
                await self._send(frame(TEXT, b"\xff\xfe\x1e"))
                await trio.sleep_forever()
            case Ending.PING_FLOOD:
                for number in range(PINGS):
                    await self._send(frame(PING, str(number).encode()))
                await trio.sleep_forever()
            case Ending.FLOOD:
                # One message that never ends: a first frame, then continuations.
                await self._send(frame(self._opcode, FLOOD_CHUNK, final=False))
                for _ in range(FLOOD_CHUNKS - 1):
                    await self._send(frame(CONTINUATION, FLOOD_CHUNK, final=False))
                await trio.sleep_forever()
            case _:
                await trio.sleep_forever()
