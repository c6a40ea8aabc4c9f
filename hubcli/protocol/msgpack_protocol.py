"""The MessagePack hub protocol: VarInt length prefix + one MessagePack array a message.

Two readers share the work. The fast one lets msgpack's C Unpacker decode a whole
message and accepts it when it has exactly the expected shape. Anything else goes to
the positional reader, which reads field by field as the .NET server does: it gives the
server's own error texts, and tolerates what the server tolerates (an array header
shorter than the fields that follow it, extra trailing elements).
"""

from __future__ import annotations

import datetime as dt
from collections import deque
from collections.abc import Callable
from typing import Any, Final, NoReturn

import msgpack

from .base import HubProtocolBase, TransferFormat
from .errors import MessageTooLargeError, ProtocolError, UnencodableValueError
from .messages import (
    PING,
    Ack,
    CancelInvocation,
    Close,
    Completion,
    CompletionKind,
    Headers,
    HubMessage,
    IncomingMessage,
    Invocation,
    InvocationBatch,
    InvocationBindingFailure,
    MessageType,
    Ping,
    Sequence,
    StreamInvocation,
    StreamItem,
    StreamItemBatch,
)
from .varint import MAX_PREFIX_BYTES, TOO_LARGE, encode_length

_RESULT_KIND_ERROR: Final = 1
_RESULT_KIND_VOID: Final = 2
_RESULT_KIND_RESULT: Final = 3

_UNPACK_ERRORS: Final = (ValueError, TypeError, OverflowError, msgpack.UnpackException)


def _new_unpacker(max_buffer_size: int = 0) -> msgpack.Unpacker:
    # timestamp=3: the timestamp extension becomes an aware UTC datetime.
    return msgpack.Unpacker(
        raw=False,
        timestamp=3,
        strict_map_key=False,
        max_buffer_size=max_buffer_size,
    )


# ---------------------------------------------------------------------------- writing


def _message_to_array(message: HubMessage) -> list[Any]:
    if isinstance(message, StreamItem):
        return [2, message.headers, message.invocation_id, message.item]
    if isinstance(message, Invocation):
        return [
            1,
            message.headers,
            message.invocation_id,
            message.target,
            message.arguments,
            message.stream_ids,
        ]
    if isinstance(message, StreamInvocation):
        return [
            4,
            message.headers,
            message.invocation_id,
            message.target,
            message.arguments,
            message.stream_ids,
        ]
    if isinstance(message, Completion):
        if message.kind is CompletionKind.ERROR:
            return [3, message.headers, message.invocation_id, _RESULT_KIND_ERROR, message.error]
        if message.kind is CompletionKind.RESULT:
            return [3, message.headers, message.invocation_id, _RESULT_KIND_RESULT, message.result]
        return [3, message.headers, message.invocation_id, _RESULT_KIND_VOID]
    if isinstance(message, CancelInvocation):
        return [5, message.headers, message.invocation_id]
    if isinstance(message, Ping):
        return [6]
    if isinstance(message, Close):
        return [7, message.error, message.allow_reconnect]
    if isinstance(message, Ack):
        return [8, message.sequence_id]
    if isinstance(message, Sequence):
        return [9, message.sequence_id]
    raise TypeError(f"{type(message).__name__} is not sent on the wire")


def _pack_default(value: Any) -> Any:
    if isinstance(value, memoryview):
        return value.tobytes()
    if isinstance(value, int):
        raise UnencodableValueError(f"MessagePack cannot carry the integer {value}: beyond 64 bits")
    raise UnencodableValueError(f"MessagePack cannot carry a value of type {type(value).__name__}")


# --------------------------------------------------------------- positional reading


class _FieldReader:
    """Reads one message body field by field, naming the field that fails."""

    def __init__(self, body: bytes) -> None:
        self._unpacker = _new_unpacker()
        self._unpacker.feed(body)

    def value(self, name: str) -> Any:
        try:
            return self._unpacker.unpack()
        except (msgpack.OutOfData, *_UNPACK_ERRORS):
            raise ProtocolError(f"Reading '{name}' failed.") from None

    def typed(self, name: str, kind: type, kind_name: str, nullable: bool = False) -> Any:
        try:
            value = self._unpacker.unpack()
        except (msgpack.OutOfData, *_UNPACK_ERRORS):
            value = _INVALID
        if value is None and nullable:
            return None
        if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
            raise ProtocolError(f"Reading '{name}' as {kind_name} failed.")
        return value

    def array_length(self, name: str) -> int:
        try:
            return int(self._unpacker.read_array_header())
        except (msgpack.OutOfData, *_UNPACK_ERRORS):
            raise ProtocolError(f"Reading array length for '{name}' failed.") from None

    def map_length(self, name: str) -> int:
        try:
            return int(self._unpacker.read_map_header())
        except (msgpack.OutOfData, *_UNPACK_ERRORS):
            raise ProtocolError(f"Reading map length for '{name}' failed.") from None

    def headers(self) -> Headers:
        headers: Headers = {}
        for index in range(self.map_length("headers")):
            key = self.typed(f"headers[{index}].Key", str, "String", nullable=True)
            value = self.typed(f"headers[{index}].Value", str, "String", nullable=True)
            if not key:
                raise ProtocolError("Null or empty key in header.")
            if not value:
                raise ProtocolError("Null or empty value in header.")
            headers[key] = value
        return headers

    def invocation_id(self, message_name: str, *, optional: bool = False) -> str | None:
        invocation_id = self.typed("invocationId", str, "String", nullable=True)
        if invocation_id is None and optional:
            return None
        if not invocation_id:
            raise ProtocolError(f"Null or empty invocation ID for {message_name} message.")
        return str(invocation_id)

    def target(self, message_name: str) -> str:
        target = self.typed("target", str, "String", nullable=True)
        if not target:
            raise ProtocolError(f"Null or empty target for {message_name} message.")
        return str(target)

    def stream_ids(self) -> list[str]:
        stream_ids: list[str] = []
        for _ in range(self.array_length("streamIds")):
            stream_id = self.typed("streamId", str, "String", nullable=True)
            if not stream_id:
                raise ProtocolError("Null or empty value in streamIds received.")
            stream_ids.append(stream_id)
        return stream_ids


_INVALID: Final = object()


def _read_invocation(reader: _FieldReader, item_count: int, streaming: bool) -> IncomingMessage:
    message_name = "StreamInvocation" if streaming else "Invocation"
    headers = reader.headers()
    invocation_id = reader.invocation_id(message_name, optional=not streaming)
    target = reader.target(message_name)
    try:
        arguments = [reader.value("arguments") for _ in range(reader.array_length("arguments"))]
    except ProtocolError as error:
        # The server answers a failure to read the arguments with a Completion error
        # and keeps the connection, so it is a message, not an exception.
        return InvocationBindingFailure(invocation_id, target, str(error), streaming)
    stream_ids = reader.stream_ids() if item_count > 5 else []
    if streaming:
        assert invocation_id is not None
        return StreamInvocation(invocation_id, target, arguments, stream_ids, headers)
    return Invocation(target, arguments, invocation_id, stream_ids, headers)


def _read_completion(reader: _FieldReader, item_count: int) -> Completion:
    headers = reader.headers()
    invocation_id = reader.invocation_id("Completion")
    assert invocation_id is not None
    result_kind = reader.typed("resultKind", int, "Int32")
    if result_kind == _RESULT_KIND_ERROR:
        return Completion.with_error(invocation_id, reader.typed("error", str, "String"), headers)
    if result_kind == _RESULT_KIND_VOID:
        return Completion.void(invocation_id, headers)
    if result_kind == _RESULT_KIND_RESULT:
        return Completion.with_result(invocation_id, reader.value("result"), headers)
    raise ProtocolError("Invalid invocation result kind.")


def read_message_positionally(body: bytes) -> IncomingMessage | None:
    """Parse one message body as the .NET server does; None for an unknown type."""
    reader = _FieldReader(body)
    item_count = reader.array_length("message")
    message_type = reader.typed("messageType", int, "Int32")
    if message_type == MessageType.INVOCATION:
        return _read_invocation(reader, item_count, streaming=False)
    if message_type == MessageType.STREAM_INVOCATION:
        return _read_invocation(reader, item_count, streaming=True)
    if message_type == MessageType.STREAM_ITEM:
        headers = reader.headers()
        invocation_id = reader.invocation_id("StreamItem")
        assert invocation_id is not None
        return StreamItem(invocation_id, reader.value("item"), headers)
    if message_type == MessageType.COMPLETION:
        return _read_completion(reader, item_count)
    if message_type == MessageType.CANCEL_INVOCATION:
        headers = reader.headers()
        invocation_id = reader.invocation_id("CancelInvocation")
        assert invocation_id is not None
        return CancelInvocation(invocation_id, headers)
    if message_type == MessageType.PING:
        return PING
    if message_type == MessageType.CLOSE:
        error = reader.typed("error", str, "String", nullable=True)
        allow_reconnect = (
            reader.typed("allowReconnect", bool, "Boolean") if item_count > 2 else False
        )
        return Close(error, allow_reconnect)
    if message_type == MessageType.ACK:
        return Ack(reader.typed("sequenceId", int, "Int64"))
    if message_type == MessageType.SEQUENCE:
        return Sequence(reader.typed("sequenceId", int, "Int64"))
    return None


# --------------------------------------------------------------------- fast reading


def _plain_headers(value: Any) -> bool:
    if type(value) is not dict:
        return False
    return all(type(k) is str and k and type(v) is str and v for k, v in value.items())


def _plain_id(value: Any) -> bool:
    return type(value) is str and bool(value)


def _fast_message(value: Any) -> HubMessage | None:
    """The message for a well-formed decoded array, or None to take the slow road."""
    if type(value) is not list or not value:
        return None
    message_type = value[0]
    count = len(value)
    if message_type == 6 and type(message_type) is int:
        return PING
    if count < 2 or type(message_type) is not int:
        return None
    headers = value[1]
    if message_type == 2:
        if count >= 4 and _plain_headers(headers) and _plain_id(value[2]):
            return StreamItem(value[2], value[3], headers)
    elif message_type == 3:
        if count >= 4 and _plain_headers(headers) and _plain_id(value[2]):
            kind = value[3]
            if kind == _RESULT_KIND_VOID and type(kind) is int:
                return Completion.void(value[2], headers)
            if count >= 5 and kind == _RESULT_KIND_RESULT and type(kind) is int:
                return Completion.with_result(value[2], value[4], headers)
            if count >= 5 and kind == _RESULT_KIND_ERROR and type(value[4]) is str:
                return Completion.with_error(value[2], value[4], headers)
    elif message_type in (1, 4):
        if (
            count >= 5
            and _plain_headers(headers)
            and (_plain_id(value[2]) or (value[2] is None and message_type == 1))
            and _plain_id(value[3])
            and type(value[4]) is list
        ):
            stream_ids = value[5] if count > 5 else []
            if type(stream_ids) is not list or not all(_plain_id(s) for s in stream_ids):
                return None
            if message_type == 1:
                return Invocation(value[3], value[4], value[2], stream_ids, headers)
            return StreamInvocation(value[2], value[3], value[4], stream_ids, headers)
    elif message_type == 5 and count >= 3 and _plain_headers(headers) and _plain_id(value[2]):
        return CancelInvocation(value[2], headers)
    elif message_type == 7:
        error = value[1]
        allow_reconnect = value[2] if count > 2 else False
        if (error is None or type(error) is str) and type(allow_reconnect) is bool:
            return Close(error, allow_reconnect)
    elif message_type in (8, 9) and type(headers) is int:
        return Ack(headers) if message_type == 8 else Sequence(headers)
    return None


def _prefix_length(length: int) -> int:
    """Bytes of the VarInt prefix that declares `length`."""
    return (length.bit_length() + 6) // 7


class MessagePackMessageParser:
    """Sans-IO incremental parser for length-prefixed MessagePack hub messages."""

    def __init__(
        self,
        *,
        max_message_size: int | None = None,
        batching: bool = False,
        ignore_unknown_types: bool = False,
    ) -> None:
        self._unpacker = _new_unpacker()
        self._max_message_size = max_message_size
        self._batching = batching
        self._ignore_unknown_types = ignore_unknown_types
        # Fed bytes not yet consumed, with their absolute offsets, so the slow road
        # can see a message's exact body after the fast road has read past it.
        self._chunks: deque[tuple[int, bytes]] = deque()
        self._fed = 0
        self._length: int | None = None  # declared length of the message being read
        self._prefix_value = 0
        self._prefix_bytes = 0
        self._sizes: list[int] = []

    @property
    def buffered(self) -> int:
        return self._fed - self._unpacker.tell()

    @property
    def sizes(self) -> list[int]:
        return self._sizes

    def feed(self, data: bytes) -> list[IncomingMessage]:
        if data:
            chunk = bytes(data)
            self._unpacker.feed(chunk)
            self._chunks.append((self._fed, chunk))
            self._fed += len(chunk)
        messages: list[IncomingMessage] = []
        sizes: list[int] = []
        self._sizes = sizes
        # The batch being gathered: its kind (2: stream items, 1: invocations), its
        # key (invocation id or target), its values and their bytes.
        kind = 0
        key = ""
        batch: list[Any] = []
        batch_size = 0
        batching = self._batching

        def end_batch() -> None:
            if kind == 2:
                messages.append(StreamItemBatch(key, batch))
            else:
                messages.append(InvocationBatch(key, batch))
            sizes.append(batch_size)

        unpacker = self._unpacker
        tell = unpacker.tell
        read_bytes = unpacker.read_bytes
        unpack = unpacker.unpack
        limit = self._max_message_size
        fed = self._fed
        while True:
            length = self._length
            if length is None:
                # Most messages are shorter than 128 bytes: a one-byte prefix, read
                # here without the general (multi-byte, resumable) prefix reader.
                if self._prefix_bytes:
                    if not self._read_prefix():
                        break
                    length = self._length
                else:
                    first = read_bytes(1)
                    if not first:
                        break
                    if first[0] < 0x80:
                        length = first[0]
                        if limit is not None and length > limit:
                            raise MessageTooLargeError(length, limit)
                    elif not self._read_prefix(first[0]):
                        break
                    else:
                        length = self._length
                assert length is not None
            start = tell()
            if fed - start < length:
                self._length = length
                break
            self._length = None
            value = _INVALID
            if length:
                try:
                    value = unpack()
                except (msgpack.OutOfData, *_UNPACK_ERRORS):
                    self._unpacker_failed(start, length)
                if tell() - start != length:
                    value = self._unpacked_wrong_length(start, length)
            else:
                raise ProtocolError("Reading array length for 'message' failed.")
            size = length + (1 if length < 0x80 else _prefix_length(length))
            # The hot paths: a plain stream item, or a plain invocation, becomes
            # part of a batch, not an object.
            if batching and type(value) is list:
                fields = len(value)
                if fields == 4 and value[0] == 2 and value[1] == {} and type(value[2]) is str:
                    this_kind, this_key, this_value = 2, value[2], value[3]
                elif (
                    (fields == 5 or (fields == 6 and value[5] == []))
                    and value[0] == 1
                    and value[1] == {}
                    and value[2] is None
                    and type(value[3]) is str
                    and type(value[4]) is list
                ):
                    this_kind, this_key, this_value = 1, value[3], value[4]
                else:
                    this_kind = 0
                if this_kind and this_key and type(value[0]) is int:
                    if this_kind != kind or this_key != key:
                        if kind:
                            end_batch()
                        kind, key, batch, batch_size = this_kind, this_key, [], 0
                    batch.append(this_value)
                    batch_size += size
                    continue
            if kind:
                end_batch()
                kind = 0
            message: IncomingMessage | None = _fast_message(value)
            if message is None:
                message = self._read_slowly(start, length)
            if message is None:
                if not self._ignore_unknown_types:
                    raise ProtocolError("Unknown message type.")
                continue
            messages.append(message)
            sizes.append(size)
        if kind:
            end_batch()
        self._forget_consumed_chunks()
        return messages

    def _read_prefix(self, first: int | None = None) -> bool:
        """Read (or go on reading) a length prefix; False while it is incomplete."""
        read_bytes: Callable[[int], bytes | bytearray] = self._unpacker.read_bytes
        value = first
        while True:
            if value is None:
                byte = read_bytes(1)
                if not byte:
                    return False
                value = byte[0]
            if self._prefix_bytes == MAX_PREFIX_BYTES - 1 and value > 0x07:
                raise ProtocolError(TOO_LARGE)
            self._prefix_value |= (value & 0x7F) << (7 * self._prefix_bytes)
            self._prefix_bytes += 1
            if not value & 0x80:
                break
            value = None
        length = self._prefix_value
        self._prefix_value = self._prefix_bytes = 0
        limit = self._max_message_size
        if limit is not None and length > limit:
            raise MessageTooLargeError(length, limit)
        self._length = length
        return True

    def _unpacker_failed(self, start: int, length: int) -> NoReturn:
        # OutOfData: the array claims more bytes than the declared length holds
        # (the whole body is buffered); anything else: bytes that are not MessagePack.
        raise self._slow_error(start, length, "Invalid MessagePack data.")

    def _unpacked_wrong_length(self, start: int, length: int) -> Any:
        """_INVALID (for the slow road) when the body has bytes left; raises when the
        decoded value ran past the body. Leaves the unpacker at the end of the body."""
        consumed = self._unpacker.tell() - start
        if consumed < length:
            # The server reads fields past a short array header, so the slow road
            # decides; the rest of the body is skipped here.
            self._unpacker.read_bytes(length - consumed)
            return _INVALID
        raise self._slow_error(start, length, "The message is longer than its length prefix.")

    def _slow_error(self, start: int, length: int, fallback: str) -> ProtocolError:
        # The positional reader names the field at fault; if it finds none, the
        # bytes beyond the body were needed, which the server would refuse too.
        try:
            read_message_positionally(self._body(start, length))
        except ProtocolError as error:
            return error
        return ProtocolError(fallback)

    def _read_slowly(self, start: int, length: int) -> IncomingMessage | None:
        return read_message_positionally(self._body(start, length))

    def _body(self, start: int, length: int) -> bytes:
        end = start + length
        parts = []
        for chunk_start, chunk in self._chunks:
            chunk_end = chunk_start + len(chunk)
            if chunk_end <= start or chunk_start >= end:
                continue
            parts.append(chunk[max(start - chunk_start, 0) : min(end, chunk_end) - chunk_start])
        return b"".join(parts)

    def _forget_consumed_chunks(self) -> None:
        consumed = self._unpacker.tell()
        chunks = self._chunks
        while chunks and chunks[0][0] + len(chunks[0][1]) <= consumed:
            chunks.popleft()


class MessagePackHubProtocol(HubProtocolBase):
    _parser_factory = MessagePackMessageParser
    name: Final = "messagepack"
    version: Final = 1
    transfer_format: Final = TransferFormat.BINARY

    def __init__(self) -> None:
        self._packer = msgpack.Packer(use_bin_type=True, datetime=True, default=_pack_default)

    def encode_body(self, message: HubMessage) -> bytes:
        """One message without its length prefix."""
        try:
            return self._packer.pack(_message_to_array(message))
        except ValueError as error:
            if "datetime" in str(error):  # naive datetimes have no instant to encode
                raise UnencodableValueError("datetime values must carry a time zone") from None
            raise

    def encode(self, message: HubMessage) -> bytes:
        body = self.encode_body(message)
        return encode_length(len(body)) + body


def to_plain(value: Any) -> Any:
    """MessagePack-only values made JSON-ready: bytes as base64, timestamps as RFC 3339."""
    import base64

    if isinstance(value, dict):
        return {str(k) if not isinstance(k, str) else k: to_plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [to_plain(v) for v in value]
    if isinstance(value, bytes):
        return base64.b64encode(value).decode("ascii")
    if isinstance(value, dt.datetime):
        return value.isoformat().replace("+00:00", "Z")
    return value
