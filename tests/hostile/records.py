"""The bytes of the hostile server's handshakes and hub messages, in JSON and MessagePack.

Written from the protocol's specification with the json and msgpack libraries, not
with hubcli's own encoders: the server must not share the client's mistakes.
"""

from __future__ import annotations

import json
import math
from typing import Any, Final

import msgpack

from .script import Handshake, Record, Value

SEPARATOR: Final = b"\x1e"
# Larger than any --max-message-size the tests pass.
OVERSIZED_BYTES: Final = 64 * 1024
FOREIGN_ID: Final = "9999"


def varint(length: int) -> bytes:
    out = bytearray()
    while True:
        byte = length & 0x7F
        length >>= 7
        if length:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def _deep(levels: int) -> Any:
    value: Any = 0
    for _ in range(levels):
        value = [value]
    return value


def _json_text(value: Value) -> str:
    """The value as JSON text (some of which the json module would not write)."""
    match value:
        case Value.PLAIN:
            return "42"
        case Value.STRING:
            return json.dumps('tab\there "quoted" \\ \u00e9\u4e2d\U0001f600 \u2028 \x00')
        case Value.NESTED:
            return json.dumps({"a": [1, {"b": None, "c": [True, False]}], "": {}})
        case Value.BIG_INTEGER:
            return (
                "[9223372036854775807, 18446744073709551615, 18446744073709551616,"
                " -9223372036854775809]"
            )
        case Value.FLOAT:
            return "[0.1, 1e308, -1e-308, 5e-324]"
        case Value.DEEP:
            return "[" * 1500 + "]" * 1500
        case Value.LONE_SURROGATE:
            return '"\\ud800 and \\udfff"'
        case Value.BINARY:
            return '"AQID"'
        case Value.TIMESTAMP | Value.FAR_TIMESTAMP:
            return '"2000-01-01T00:00:00Z"'
        case Value.NAN:
            return "[NaN, Infinity, -Infinity]"
        case Value.BAD_TIMESTAMP | Value.UNKNOWN_EXT | Value.NON_STRING_KEYS:
            return '{"1": "one"}'


class _Raw:
    """msgpack bytes spliced in as they are."""

    def __init__(self, data: bytes) -> None:
        self.data = data


def _msgpack_value(value: Value) -> Any:
    match value:
        case Value.PLAIN:
            return 42
        case Value.STRING:
            return 'tab\there "quoted" \\ \u00e9\u4e2d\U0001f600 \u2028 \x00'
        case Value.NESTED:
            return {"a": [1, {"b": None, "c": [True, False]}], "": {}}
        case Value.BIG_INTEGER:
            return [2**63 - 1, 2**64 - 1, -(2**63)]
        case Value.FLOAT:
            return [0.1, 1e308, -1e-308, 5e-324]
        case Value.DEEP:
            return _Raw(b"\x91" * 1500 + b"\xc0")
        case Value.LONE_SURROGATE:
            # A str of invalid UTF-8: msgpack's raw=False reading refuses it.
            return _Raw(b"\xa3\xed\xa0\x80")
        case Value.BINARY:
            return b"\x01\x02\x03"
        case Value.TIMESTAMP:
            return msgpack.Timestamp(946684800, 0)
        case Value.FAR_TIMESTAMP:
            return msgpack.Timestamp(2**40, 999_999_999)
        case Value.BAD_TIMESTAMP:
            # ext 8 of type -1 (a timestamp) with 3 bytes: timestamps have 4, 8 or 12.
            return _Raw(b"\xc7\x03\xff\x00\x01\x02")
        case Value.UNKNOWN_EXT:
            return msgpack.ExtType(42, b"hubcli")
        case Value.NON_STRING_KEYS:
            return {1: "one", b"two": 2, None: 3}
        case Value.NAN:
            return [math.nan, math.inf, -math.inf]


def _pack(value: Any) -> bytes:
    """msgpack.packb, with `_Raw` pieces spliced in wherever they stand."""
    if isinstance(value, _Raw):
        return value.data
    if isinstance(value, list):
        packer = msgpack.Packer(use_bin_type=True)
        return packer.pack_array_header(len(value)) + b"".join(_pack(item) for item in value)
    return msgpack.packb(value, use_bin_type=True, strict_types=False)


class Encoder:
    """Records for one connection: its protocol, its call's id and size limit."""

    def __init__(self, protocol: str, value: Value) -> None:
        self.protocol = protocol
        self.value = value

    @property
    def binary(self) -> bool:
        return self.protocol == "messagepack"

    # ------------------------------------------------------------ handshake

    def handshake(self, behaviour: Handshake) -> list[bytes]:
        """The transport messages of a handshake behaviour (none: send nothing)."""
        match behaviour:
            case Handshake.GOOD | Handshake.SLOW:
                return [b"{}\x1e"]
            case Handshake.MINOR_VERSION:
                return [b'{"minorVersion":1}\x1e']
            case Handshake.EMPTY_ERROR:
                return [b'{"error":""}\x1e']
            case Handshake.SPLIT:
                return [b"{", b"}\x1e"]
            case Handshake.ERROR:
                return [b'{"error":"Requested protocol \'x\' is not available."}\x1e']
            case Handshake.ERROR_NOT_STRING:
                return [b'{"error":5}\x1e']
            case Handshake.MINOR_VERSION_STRING:
                return [b'{"minorVersion":"1"}\x1e']
            case Handshake.TYPED:
                return [b'{"type":1,"target":"x","arguments":[]}\x1e']
            case Handshake.ARRAY:
                return [b"[]\x1e"]
            case Handshake.NUMBER:
                return [b"5\x1e"]
            case Handshake.GARBAGE:
                return [b"\x00<html>garbage\xff\x1e"]
            case Handshake.INVALID_UTF8:
                return [b'{"error":"\xff\xfe"}\x1e']
            case Handshake.DEEP_JSON:
                return [b"[" * 5000 + b"]" * 5000 + SEPARATOR]
            case Handshake.MESSAGEPACK:
                return [b"\x01\x80"]
            case Handshake.PARTIAL_THEN_HOLD | Handshake.PARTIAL_THEN_CLOSE:
                return [b'{"err']
            case Handshake.NEVER | Handshake.CLOSE_INSTEAD | Handshake.FLOOD:
                return []
            case Handshake.EMPTY_RECORD:
                return [SEPARATOR]
            case Handshake.HUGE_UNTERMINATED:
                return [b" " * (1024 * 1024)]
            case Handshake.GARBAGE_AFTER:
                return [b"{}\x1e\x00\xff not a message"]
            case Handshake.MESSAGEPACK_AFTER:
                return [b"{}\x1e" + varint(1) + b"\x91"]
            case Handshake.JSON_AFTER:
                return [b'{}\x1e{"type":6}\x1e{"type":3,"invocationId":"0","result":1}\x1e']

    # -------------------------------------------------------------- records

    def record(self, record: Record, invocation_id: str) -> bytes:
        if self.binary:
            return self._msgpack_record(record, invocation_id)
        return self._json_record(record, invocation_id)

    def _json_record(self, record: Record, call: str) -> bytes:
        value = _json_text(self.value)
        quoted = json.dumps(call)
        text: str
        match record:
            case Record.COMPLETION_RESULT:
                text = f'{{"type":3,"invocationId":{quoted},"result":{value}}}'
            case Record.COMPLETION_VOID:
                text = f'{{"type":3,"invocationId":{quoted}}}'
            case Record.COMPLETION_ERROR:
                text = f'{{"type":3,"invocationId":{quoted},"error":"It broke."}}'
            case Record.COMPLETION_RESULT_AND_ERROR:
                text = f'{{"type":3,"invocationId":{quoted},"result":{value},"error":"Both."}}'
            case Record.COMPLETION_UNKNOWN_ID:
                text = f'{{"type":3,"invocationId":"{FOREIGN_ID}","result":{value}}}'
            case Record.COMPLETION_NULL_ID:
                text = f'{{"type":3,"invocationId":null,"result":{value}}}'
            case Record.STREAM_ITEM:
                text = f'{{"type":2,"invocationId":{quoted},"item":{value}}}'
            case Record.STREAM_ITEM_UNKNOWN_ID:
                text = f'{{"type":2,"invocationId":"{FOREIGN_ID}","item":{value}}}'
            case Record.INVOCATION:
                text = f'{{"type":1,"target":"Tick","arguments":[{value}]}}'
            case Record.CLIENT_RESULT_REQUEST:
                text = f'{{"type":1,"invocationId":"s1","target":"Ask","arguments":[{value}]}}'
            case Record.INVOCATION_BAD_ARGUMENTS:
                text = '{"type":1,"target":"Tick","arguments":"not a list"}'
            case Record.STREAM_INVOCATION:
                text = '{"type":4,"invocationId":"s2","target":"Tick","arguments":[]}'
            case Record.CANCEL_INVOCATION:
                text = f'{{"type":5,"invocationId":{quoted}}}'
            case Record.PING:
                text = '{"type":6}'
            case Record.CLOSE:
                text = '{"type":7}'
            case Record.CLOSE_ERROR:
                text = '{"type":7,"error":"Connection closed with an error."}'
            case Record.CLOSE_RECONNECT:
                text = '{"type":7,"allowReconnect":true}'
            case Record.CLOSE_ERROR_RECONNECT:
                text = '{"type":7,"error":"Server is shutting down.","allowReconnect":true}'
            case Record.ACK:
                text = '{"type":8,"sequenceId":1}'
            case Record.SEQUENCE:
                text = '{"type":9,"sequenceId":1}'
            case Record.UNKNOWN_TYPE:
                text = '{"type":99,"what":"ever"}'
            case Record.NO_TYPE:
                text = '{"invocationId":"0"}'
            case Record.TYPE_NOT_A_NUMBER:
                text = '{"type":"3","invocationId":"0"}'
            case Record.NOT_AN_OBJECT:
                text = "[3, 0, 1]"
            case Record.WRONG_FIELD_TYPES:
                text = '{"type":3,"invocationId":0,"result":1}'
            case Record.TARGET_NOT_STRING:
                text = '{"type":1,"target":5,"arguments":[]}'
            case Record.MALFORMED:
                return b'{"type":3,"invocationId":\x1e'
            case Record.INVALID_UTF8:
                return b'{"type":1,"target":"\xff\xfe","arguments":[]}\x1e'
            case Record.EMPTY_RECORD:
                return SEPARATOR
            case Record.HANDSHAKE_AGAIN:
                text = "{}"
            case Record.OVERSIZED:
                text = f'{{"type":3,"invocationId":{quoted},"result":"{"x" * OVERSIZED_BYTES}"}}'
            case Record.HUGE_LENGTH_PREFIX:
                text = '{"type":6,"pad":"' + "y" * (4 * OVERSIZED_BYTES) + '"}'
        return text.encode("utf-8", "surrogatepass") + SEPARATOR

    def _msgpack_record(self, record: Record, call: str) -> bytes:
        value = _msgpack_value(self.value)
        body: list[Any] | bytes
        match record:
            case Record.COMPLETION_RESULT:
                body = [3, {}, call, 3, value]
            case Record.COMPLETION_VOID:
                body = [3, {}, call, 2]
            case Record.COMPLETION_ERROR:
                body = [3, {}, call, 1, "It broke."]
            case Record.COMPLETION_RESULT_AND_ERROR:
                # The result kind says error, but a result stands there.
                body = [3, {}, call, 1, value]
            case Record.COMPLETION_UNKNOWN_ID:
                body = [3, {}, FOREIGN_ID, 3, value]
            case Record.COMPLETION_NULL_ID:
                body = [3, {}, None, 3, value]
            case Record.STREAM_ITEM:
                body = [2, {}, call, value]
            case Record.STREAM_ITEM_UNKNOWN_ID:
                body = [2, {}, FOREIGN_ID, value]
            case Record.INVOCATION:
                body = [1, {}, None, "Tick", [value], []]
            case Record.CLIENT_RESULT_REQUEST:
                body = [1, {}, "s1", "Ask", [value], []]
            case Record.INVOCATION_BAD_ARGUMENTS:
                body = [1, {}, None, "Tick", "not a list", []]
            case Record.STREAM_INVOCATION:
                body = [4, {}, "s2", "Tick", [], []]
            case Record.CANCEL_INVOCATION:
                body = [5, {}, call]
            case Record.PING:
                body = [6]
            case Record.CLOSE:
                body = [7, None, False]
            case Record.CLOSE_ERROR:
                body = [7, "Connection closed with an error.", False]
            case Record.CLOSE_RECONNECT:
                body = [7, None, True]
            case Record.CLOSE_ERROR_RECONNECT:
                body = [7, "Server is shutting down.", True]
            case Record.ACK:
                body = [8, 1]
            case Record.SEQUENCE:
                body = [9, 1]
            case Record.UNKNOWN_TYPE:
                body = [99, "what", "ever"]
            case Record.NO_TYPE:
                body = []
            case Record.TYPE_NOT_A_NUMBER:
                body = ["3", {}, "0"]
            case Record.NOT_AN_OBJECT:
                body = msgpack.packb({"type": 3})
            case Record.WRONG_FIELD_TYPES:
                body = [3, {}, 0, 3, 1]
            case Record.TARGET_NOT_STRING:
                body = [1, {}, None, 5, [], []]
            case Record.MALFORMED:
                body = b"\x95\x03\xc1\xc1"
            case Record.INVALID_UTF8:
                body = [1, {}, None, _Raw(b"\xa2\xff\xfe"), [], []]
            case Record.EMPTY_RECORD:
                body = b""
            case Record.HANDSHAKE_AGAIN:
                return b"{}\x1e"
            case Record.OVERSIZED:
                body = [3, {}, call, 3, "x" * OVERSIZED_BYTES]
            case Record.HUGE_LENGTH_PREFIX:
                return varint(2**34) + b"\x96"
        data = body if isinstance(body, bytes) else _pack(body)
        return varint(len(data)) + data
