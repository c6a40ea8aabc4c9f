"""Server-Sent Events, the client's side: bytes of an event stream -> each event's data.

Only what SignalR needs of the format: the `data` lines of an event are joined with
"\\n" (so a CRLF inside a message arrives as LF: SSE is text-safe, not
binary-safe), and comments, `event`, `id` and `retry` fields are ignored. Lines end
with CRLF, LF or CR, and a chunk may end anywhere, even between a CR and its LF.
"""

from __future__ import annotations

import re
from typing import Final

_LINE_END: Final = re.compile(rb"[\r\n]")


class EventStreamParser:
    def __init__(self) -> None:
        self._buffer = bytearray()
        # How far the buffer is known to hold no line end: a long line arriving
        # in many chunks is scanned once, not once per chunk.
        self._scanned = 0
        self._data: list[bytes] = []

    def feed(self, chunk: bytes) -> list[bytes]:
        """The data of every event that `chunk` completes, in order."""
        buffer = self._buffer
        buffer += chunk
        events: list[bytes] = []
        start = 0
        position = self._scanned
        end = len(buffer)
        while True:
            match = _LINE_END.search(buffer, position)
            if match is None:
                break
            index = match.start()
            if buffer[index] == 0x0D:  # CR: a CRLF pair, or a line end of its own
                if index + 1 == end:
                    break  # the LF may be in the next chunk
                following = index + 2 if buffer[index + 1] == 0x0A else index + 1
            else:
                following = index + 1
            self._line(bytes(buffer[start:index]), events)
            start = position = following
        if start:
            del buffer[:start]
            position -= start
        self._scanned = max(position, len(buffer) - 1 if buffer.endswith(b"\r") else len(buffer))
        return events

    def _line(self, line: bytes, events: list[bytes]) -> None:
        if not line:
            if self._data:
                events.append(b"\n".join(self._data))
                self._data = []
            return
        if line[0] == 0x3A:  # ":" a comment
            return
        name, colon, value = line.partition(b":")
        if name != b"data":
            return  # event, id, retry and unknown fields mean nothing to SignalR
        if colon and value[:1] == b" ":
            value = value[1:]
        self._data.append(value)
