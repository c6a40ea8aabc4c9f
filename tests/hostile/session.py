"""One negotiated connection of the hostile server: what the client sent, and the
queue of what the server does next, whatever transport carries it.

The client's bytes (WebSocket messages, POST bodies) go in through `client_data`;
the handshake request and the client's first call set off the script's steps, each
queued as an `Action` that the transport in use plays out.
"""

from __future__ import annotations

import json
import math
from collections import deque
from dataclasses import dataclass
from typing import Any, Final

import msgpack
import trio

from .records import SEPARATOR, Encoder
from .script import Ending, Handshake, Script, Trigger

PAUSE_SECONDS: Final = 0.3
# The handshakes after which a real server goes on to hub messages.
ACCEPTED: Final = frozenset(
    {
        Handshake.GOOD,
        Handshake.MINOR_VERSION,
        Handshake.EMPTY_ERROR,
        Handshake.SLOW,
        Handshake.SPLIT,
        Handshake.GARBAGE_AFTER,
        Handshake.MESSAGEPACK_AFTER,
        Handshake.JSON_AFTER,
    }
)
# What hubcli numbers its first call when the server has to guess (no call yet).
FIRST_CALL_ID: Final = "0"


@dataclass(frozen=True)
class Data:
    """One transport message to the client."""

    payload: bytes


@dataclass(frozen=True)
class Pause:
    seconds: float


@dataclass(frozen=True)
class End:
    ending: Ending


Action = Data | Pause | End


def _varint_split(buffer: bytes) -> tuple[int, int] | None:
    """(length, prefix size) of a MessagePack record, or None until it has arrived."""
    length = shift = 0
    for index, byte in enumerate(buffer[:5]):
        length |= (byte & 0x7F) << shift
        shift += 7
        if not byte & 0x80:
            return length, index + 1
    return None


class Session:
    def __init__(self, script: Script, token: str, log: list[str]) -> None:
        self.script = script
        self.token = token
        self._log = log
        self.transport: str | None = None
        self.protocol = "json"
        self.ended = False
        self.first_poll_answered = False
        self.posts = 0
        self.empty_polls_left = 0
        self._buffer = b""
        self._handshaken = False
        self._triggered = False
        self._queued: deque[Action] = deque()
        self._send, self._receive = trio.open_memory_channel[Action](math.inf)

    # ------------------------------------------------------------ the client

    def client_data(self, data: bytes) -> None:
        self._buffer += data
        if not self._handshaken:
            index = self._buffer.find(SEPARATOR)
            if index < 0:
                return
            request = json.loads(self._buffer[:index])
            self.protocol = str(request.get("protocol"))
            self._buffer = self._buffer[index + 1 :]
            self._handshaken = True
            self._log.append(f"handshake request: {request}")
            self._handshake()
        for kind, call in self._messages():
            if (
                kind in (1, 4)
                and not self._triggered
                and self.script.trigger is Trigger.ON_INVOCATION
                and self._accepted
            ):
                self._hub(call or FIRST_CALL_ID)

    def _messages(self) -> list[tuple[Any, str | None]]:
        """(type, invocation id) of each whole hub message the client sent."""
        found: list[tuple[Any, str | None]] = []
        if self.protocol == "messagepack":
            while (split := _varint_split(self._buffer)) is not None:
                length, prefix = split
                if len(self._buffer) < prefix + length:
                    break
                body = msgpack.unpackb(self._buffer[prefix : prefix + length], raw=False)
                self._buffer = self._buffer[prefix + length :]
                call = body[2] if body[0] in (1, 4) and len(body) > 2 else None
                found.append((body[0], call))
        else:
            *records, self._buffer = self._buffer.split(SEPARATOR)
            for record in records:
                message = json.loads(record)
                found.append((message.get("type"), message.get("invocationId")))
        return found

    # ------------------------------------------------------------- the script

    @property
    def encoder(self) -> Encoder:
        return Encoder(self.protocol, self.script.value)

    @property
    def _accepted(self) -> bool:
        return self.script.handshake in ACCEPTED

    def _queue(self, action: Action) -> None:
        self._send.send_nowait(action)

    def _handshake(self) -> None:
        behaviour = self.script.handshake
        if behaviour is Handshake.SLOW:
            self._queue(Pause(PAUSE_SECONDS))
        for payload in self.encoder.handshake(behaviour):
            self._queue(Data(payload))
        if behaviour in (Handshake.PARTIAL_THEN_CLOSE, Handshake.CLOSE_INSTEAD):
            self._queue(End(Ending.CLEAN))
        elif behaviour is Handshake.FLOOD:
            self._queue(End(Ending.FLOOD))
        elif behaviour in (Handshake.NEVER, Handshake.PARTIAL_THEN_HOLD):
            pass
        elif not self._accepted:
            self._end()
        elif self.script.trigger is Trigger.AFTER_HANDSHAKE:
            self._hub(FIRST_CALL_ID)

    def _hub(self, call: str) -> None:
        self._triggered = True
        self._log.append(f"hub messages for call {call}")
        encoder = self.encoder
        for frame in self.script.frames:
            payload = b"".join(encoder.record(record, call) for record in frame.records)
            if not payload:
                continue
            if frame.split and len(payload) > 1:
                middle = len(payload) // 2
                self._queue(Data(payload[:middle]))
                self._queue(Data(payload[middle:]))
            else:
                self._queue(Data(payload))
        self._end()

    def _end(self) -> None:
        if self.script.ending is not Ending.HOLD:
            self._queue(End(self.script.ending))

    # ----------------------------------------------------------- the transport

    async def next_action(self) -> Action:
        if self._queued:
            return self._queued.popleft()
        return await self._receive.receive()

    def next_action_nowait(self) -> Action | None:
        if self._queued:
            return self._queued.popleft()
        try:
            return self._receive.receive_nowait()
        except trio.WouldBlock:
            return None

    def put_back(self, action: Action) -> None:
        self._queued.appendleft(action)
