"""stdout: data only, compact JSON lines, one write per received frame.

The writer never blocks the trio thread: on a pipe, terminal or socket stdout is
written without waiting (descriptors.py: on a description of hubcli's own) and a
full pipe parks only the task that writes, so keep-alive
pings and signals go on while a slow reader holds up the stream (and the stream,
waiting for the writer, stops reading the socket: backpressure end to end).
"""

from __future__ import annotations

import base64
import errno
import json
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, Final

import orjson
import trio

from hubcli.protocol import jsonvalues
from hubcli.protocol.messages import CompletionKind

from .descriptors import NonBlockingFd
from .errors import StdoutClosed, StdoutUnwritable
from .pretty import Style, render_json, restyle_lines

if TYPE_CHECKING:
    from hubcli.client.pushes import Event, Lifecycle

_SCALARS: Final = frozenset({int, float, bool, type(None)})
_PLAIN_LINE: Final = orjson.OPT_UTC_Z | orjson.OPT_APPEND_NEWLINE


class StdoutWriter:
    def __init__(self, fd: int = 1) -> None:
        # Several tasks may print (a call's output and the events beside it): each
        # write is whole lines, and one waits for the other's to be out.
        self._lock = trio.StrictFIFOLock()
        self._finishing: trio.CancelScope | None = None
        self._aborted = False
        self._abort_callbacks: list[Callable[[], None]] = []
        self.broken = False
        self._target: NonBlockingFd | None = None
        # Why nothing can be written, if so: fd 1 closed when the process started.
        # Found now, so a command that prints can refuse before it connects.
        self.unusable: StdoutUnwritable | None = None
        try:
            self._target = NonBlockingFd(fd, write=True)
        except OSError as error:
            reason = "it is closed" if error.errno == errno.EBADF else error.strerror
            self.unusable = StdoutUnwritable(reason or str(error))

    def close(self) -> None:
        if self._target is not None:
            self._target.close()

    def abort(self) -> None:
        """Give up on a write that is finishing a partly written frame."""
        self._aborted = True
        if self._finishing is not None:
            self._finishing.cancel()
        for callback in self._abort_callbacks:
            callback()

    def on_abort(self, callback: Callable[[], None]) -> None:
        """Call `callback` when the writing is aborted (at once if it was)."""
        if self._aborted:
            callback()
        else:
            self._abort_callbacks.append(callback)

    async def write(self, data: bytes) -> None:
        if self.unusable is not None:
            raise self.unusable
        async with self._lock:
            await self._write(data)

    async def _write(self, data: bytes) -> None:
        target = self._target
        assert target is not None  # else unusable
        view = memoryview(data)
        sent = 0
        while sent < len(view):
            try:
                sent += target.write(view[sent:])
            except BlockingIOError:
                if sent == 0:
                    # Nothing of this frame is out yet: cancelling here loses no line.
                    await target.wait()
                    continue
                if self._aborted:
                    return
                # Part of the frame is out: finish it so no line is ever cut,
                # even when cancelled, unless a second signal aborts.
                with trio.CancelScope(shield=True) as self._finishing:
                    await target.wait()
                self._finishing = None
            except (BrokenPipeError, ConnectionResetError):
                self.broken = True
                raise StdoutClosed from None
            except OSError as error:  # ENOSPC (/dev/full), EIO, ...
                raise StdoutUnwritable(error.strerror or str(error)) from None


def _bytes_as_base64(value: Any) -> Any:
    if isinstance(value, (bytes, bytearray, memoryview)):
        return base64.b64encode(bytes(value)).decode("ascii")
    raise TypeError


def _dumps_json(value: Any) -> bytes:
    try:
        return orjson.dumps(value)
    except TypeError:
        return jsonvalues.dumps(value)  # integers beyond 64 bits, lone surrogates


def dumps_plain(value: Any) -> bytes:
    """MessagePack values as JSON: bytes as base64, timestamps as RFC 3339 (UTC, Z)."""
    try:
        return orjson.dumps(value, default=_bytes_as_base64, option=orjson.OPT_UTC_Z)
    except TypeError:
        from hubcli.protocol.msgpack_protocol import to_plain  # only MessagePack has these

        plain = to_plain(value)
        try:
            return jsonvalues.dumps(plain)
        except TypeError:  # extension types MessagePack left as they are
            return json.dumps(
                plain, ensure_ascii=False, separators=(",", ":"), default=repr
            ).encode()


def _lines(items: list[Any], dumps: Callable[[Any], bytes], messagepack: bool) -> bytes:
    if not items:
        return b""
    types = set(map(type, items))
    # Whole-frame fast paths, one C call for the frame: the separators of a JSON
    # array of scalars are its only commas, and in an array of strings without
    # escaped quotes every '","' is a separator.
    if types <= _SCALARS:
        try:
            return orjson.dumps(items)[1:-1].replace(b",", b"\n") + b"\n"
        except TypeError:
            pass
    elif types == {str}:
        encoded = orjson.dumps(items)
        if b'\\"' not in encoded:
            return encoded[1:-1].replace(b'","', b'"\n"') + b"\n"
    buffer = bytearray()
    # Appending each result at once: orjson's results hold far more memory than
    # their length, so a list of them (what b"".join builds) grows by kilobytes each.
    try:
        if messagepack:
            for item in items:
                buffer += orjson.dumps(item, _bytes_as_base64, _PLAIN_LINE)
        else:
            for item in items:
                buffer += orjson.dumps(item, None, orjson.OPT_APPEND_NEWLINE)
    except TypeError:  # a value orjson refuses: the exact encoders, item by item
        buffer.clear()
        for item in items:
            buffer += dumps(item)
            buffer += b"\n"
    return bytes(buffer)


class Formatter:
    """Values to the bytes hubcli prints: plain, raw (-r) or envelope (-J)."""

    def __init__(self, *, raw: bool, envelope: bool, messagepack: bool) -> None:
        self.raw = raw
        self.envelope = envelope
        self._messagepack = messagepack
        self._dumps = dumps_plain if messagepack else _dumps_json

    def value(self, value: Any) -> bytes:
        if self.raw and type(value) is str:
            return value.encode("utf-8", "surrogatepass")
        return self._dumps(value)

    def items(self, items: list[Any]) -> bytes:
        if self.envelope:
            buffer = bytearray()
            for item in items:
                buffer += b'{"type":"item","item":'
                buffer += self._dumps(item)
                buffer += b"}\n"
            return bytes(buffer)
        if self.raw:
            if all(type(item) is str for item in items):
                return ("\n".join(items) + "\n").encode("utf-8", "surrogatepass")
            return b"".join(self.value(item) + b"\n" for item in items)
        return _lines(items, self._dumps, self._messagepack)

    def events(self, events: Sequence[Event]) -> bytes:
        """One line per server invocation: {"target":...,"arguments":[...]}; under -J
        typed, with the invocationId of a client-result request."""
        dumps = self._dumps
        buffer = bytearray()
        if self.envelope:
            for event in events:
                buffer += b'{"type":"event","target":'
                buffer += dumps(event.target)
                buffer += b',"arguments":'
                buffer += dumps(event.arguments)
                if event.invocation_id is not None:
                    buffer += b',"invocationId":'
                    buffer += dumps(event.invocation_id)
                buffer += b"}\n"
            return bytes(buffer)
        try:
            option = _PLAIN_LINE if self._messagepack else orjson.OPT_APPEND_NEWLINE
            default = _bytes_as_base64 if self._messagepack else None
            for event in events:
                buffer += orjson.dumps(
                    {"target": event.target, "arguments": event.arguments}, default, option
                )
        except TypeError:  # a value orjson refuses: the exact encoders
            buffer.clear()
            for event in events:
                buffer += b'{"target":' + dumps(event.target) + b',"arguments":'
                buffer += dumps(event.arguments) + b"}\n"
        return bytes(buffer)

    def lifecycle(self, record: Lifecycle) -> bytes:
        from hubcli.client.pushes import Reconnecting

        if isinstance(record, Reconnecting):
            fields: dict[str, Any] = {"type": "reconnecting", "error": record.error}
        else:
            fields = {"type": "reconnected", "connectionId": record.connection_id}
        return jsonvalues.dumps(fields) + b"\n"

    def json(self, value: Any) -> bytes:
        """`value` as compact JSON (MessagePack values as they are printed)."""
        return self._dumps(value)

    def completion(self, kind: CompletionKind, result: Any, error: str | None) -> bytes:
        """What invoke prints for a completion: the result (null included: ASP.NET
        Core completes a void method with a null result), or nothing for none."""
        if self.envelope:
            record: dict[str, Any] = {"type": "completion"}
            if kind is CompletionKind.ERROR:
                record["error"] = error
            elif kind is CompletionKind.RESULT:
                return b'{"type":"completion","result":' + self._dumps(result) + b"}\n"
            return jsonvalues.dumps(record) + b"\n"
        if kind is CompletionKind.RESULT:
            return self.value(result) + b"\n"
        return b""


class StyledFormatter(Formatter):
    """A Formatter for eyes (pretty.py): each compact line it would print, indented
    and/or coloured. Only made when the style asks for it, so the plain path, a
    pipe's, runs exactly as before."""

    def __init__(self, *, raw: bool, envelope: bool, messagepack: bool, style: Style) -> None:
        super().__init__(raw=raw, envelope=envelope, messagepack=messagepack)
        self.style = style

    def value(self, value: Any) -> bytes:
        data = super().value(value)
        if self.raw and type(value) is str:
            return data  # -r: the text itself, not JSON
        return render_json(data, pretty=self.style.pretty, color=self.style.color)

    def items(self, items: list[Any]) -> bytes:
        if self.raw and not self.envelope:
            return b"".join(self.value(item) + b"\n" for item in items)
        return restyle_lines(super().items(items), self.style)

    def events(self, events: Sequence[Event]) -> bytes:
        return restyle_lines(super().events(events), self.style)

    def lifecycle(self, record: Lifecycle) -> bytes:
        return restyle_lines(super().lifecycle(record), self.style)

    def completion(self, kind: CompletionKind, result: Any, error: str | None) -> bytes:
        if self.envelope:
            return restyle_lines(super().completion(kind, result, error), self.style)
        return super().completion(kind, result, error)  # through self.value


def formatter_for(*, raw: bool, envelope: bool, messagepack: bool, style: Style) -> Formatter:
    if style.plain:
        return Formatter(raw=raw, envelope=envelope, messagepack=messagepack)
    return StyledFormatter(raw=raw, envelope=envelope, messagepack=messagepack, style=style)


class Output:
    def __init__(self, formatter: Formatter, writer: StdoutWriter) -> None:
        self.formatter = formatter
        self.writer = writer

    async def items(self, items: list[Any]) -> None:
        data = self.formatter.items(items)
        if data:
            await self.writer.write(data)

    async def completion(self, kind: CompletionKind, result: Any, error: str | None) -> None:
        data = self.formatter.completion(kind, result, error)
        if data:
            await self.writer.write(data)

    async def events(self, events: Sequence[Any]) -> None:
        if events:
            await self.writer.write(self.formatter.events(events))

    async def lifecycle(self, record: Lifecycle) -> None:
        """A reconnect's step: a typed record under -J, nothing otherwise (the
        connection logs it on stderr)."""
        if self.formatter.envelope:
            await self.writer.write(self.formatter.lifecycle(record))
