"""The JSON hub protocol: records of UTF-8 JSON, each ended by 0x1E.

Field rules follow what the ASP.NET Core server writes and accepts: writer field order
type, headers, invocationId, target, arguments, streamIds; readers take fields in any
order, ignore unknown ones, and report problems with the server's own wording.
"""

from __future__ import annotations

from operator import itemgetter
from typing import Any, Final

import orjson

from . import jsonvalues
from .base import HubProtocolBase, TransferFormat
from .errors import MessageTooLargeError, ProtocolError
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
    MessageType,
    Ping,
    Sequence,
    StreamInvocation,
    StreamItem,
    StreamItemBatch,
    new_invocation,
)

RECORD_SEPARATOR: Final = b"\x1e"

_JSON_TYPE_NAMES: Final[dict[type, str]] = {
    dict: "Object",
    list: "Array",
    str: "String",
    int: "Number",
    float: "Number",
    type(None): "Null",
}

# field -> (python type, .NET token name) for the type checks the server makes
_FIELD_TYPES: Final[dict[str, tuple[type, str]]] = {
    "invocationId": (str, "String"),
    "target": (str, "String"),
    "arguments": (list, "Array"),
    "streamIds": (list, "Array"),
    "error": (str, "String"),
    "allowReconnect": (bool, "Boolean"),
    "headers": (dict, "Object"),
}


def token_name(value: Any) -> str:
    if value is True:
        return "True"
    if value is False:
        return "False"
    return _JSON_TYPE_NAMES.get(type(value), "Unknown")


def expect_object(value: Any) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise ProtocolError(
            f"Unexpected JSON Token Type '{token_name(value)}'. Expected a JSON Object."
        )
    return value


def _missing(name: str) -> ProtocolError:
    return ProtocolError(f"Missing required property '{name}'.")


def _check_field_types(record: dict[str, Any]) -> None:
    for key, value in record.items():
        expected = _FIELD_TYPES.get(key)
        if expected is None:
            continue
        if key == "headers":
            _check_headers(value)
        elif key == "invocationId" and value is None:
            continue  # a null id reads as "no id", as the server's reader does
        elif not isinstance(value, expected[0]) or (
            expected[0] is not bool and isinstance(value, bool)
        ):
            raise ProtocolError(f"Expected '{key}' to be of type {expected[1]}.")


def _check_headers(value: Any) -> None:
    if not isinstance(value, dict):
        raise ProtocolError("Expected 'headers' to be of type Object.")
    for name, header_value in value.items():
        if not isinstance(header_value, str):
            raise ProtocolError(f"Expected header '{name}' to be of type String.")


def _sequence_id(record: dict[str, Any]) -> int:
    if "sequenceId" not in record:
        raise _missing("sequenceId")
    value = record["sequenceId"]
    if not isinstance(value, int) or isinstance(value, bool):
        raise ProtocolError("Expected 'sequenceId' to be of type Number.")
    return value


def _stream_ids(record: dict[str, Any]) -> list[str]:
    stream_ids = record.get("streamIds") or []
    for stream_id in stream_ids:
        if not isinstance(stream_id, str) or not stream_id:
            raise ProtocolError("Null or empty value in streamIds received.")
    return list(stream_ids)


def _required(record: dict[str, Any], name: str) -> Any:
    if name not in record or record[name] is None:
        raise _missing(name)
    return record[name]


def message_from_record(value: Any) -> HubMessage | None:
    """Turn one decoded record into a message; None for an unknown message type."""
    record = expect_object(value)
    if "type" not in record:
        raise _missing("type")
    message_type = record["type"]
    if not isinstance(message_type, int) or isinstance(message_type, bool):
        raise ProtocolError("Expected 'type' to be of type Number.")
    _check_field_types(record)
    headers: Headers = record.get("headers") or {}

    if message_type == MessageType.INVOCATION:
        return Invocation(
            target=_required(record, "target"),
            arguments=_required(record, "arguments"),
            invocation_id=record.get("invocationId"),
            stream_ids=_stream_ids(record),
            headers=headers,
        )
    if message_type == MessageType.STREAM_ITEM:
        invocation_id = _required(record, "invocationId")
        if "item" not in record:
            raise _missing("item")
        return StreamItem(invocation_id, record["item"], headers)
    if message_type == MessageType.COMPLETION:
        invocation_id = _required(record, "invocationId")
        if "error" in record and "result" in record:
            raise ProtocolError("The 'error' and 'result' properties are mutually exclusive.")
        if record.get("error") is not None:
            return Completion.with_error(invocation_id, record["error"], headers)
        if "result" in record:
            return Completion.with_result(invocation_id, record["result"], headers)
        return Completion.void(invocation_id, headers)
    if message_type == MessageType.STREAM_INVOCATION:
        return StreamInvocation(
            invocation_id=_required(record, "invocationId"),
            target=_required(record, "target"),
            arguments=_required(record, "arguments"),
            stream_ids=_stream_ids(record),
            headers=headers,
        )
    if message_type == MessageType.CANCEL_INVOCATION:
        return CancelInvocation(_required(record, "invocationId"), headers)
    if message_type == MessageType.PING:
        return PING
    if message_type == MessageType.CLOSE:
        return Close(record.get("error"), bool(record.get("allowReconnect", False)))
    if message_type == MessageType.ACK:
        return Ack(_sequence_id(record))
    if message_type == MessageType.SEQUENCE:
        return Sequence(_sequence_id(record))
    return None


def message_to_record(message: HubMessage) -> dict[str, Any]:
    """The JSON object for a message, fields in the order the .NET server writes them."""
    record: dict[str, Any]
    if isinstance(message, StreamItem):
        record = {"type": 2}
        if message.headers:
            record["headers"] = message.headers
        record["invocationId"] = message.invocation_id
        record["item"] = message.item
        return record
    if isinstance(message, (Invocation, StreamInvocation)):
        record = {"type": 1 if isinstance(message, Invocation) else 4}
        if message.headers:
            record["headers"] = message.headers
        if message.invocation_id is not None:
            record["invocationId"] = message.invocation_id
        record["target"] = message.target
        record["arguments"] = message.arguments
        if message.stream_ids:
            record["streamIds"] = message.stream_ids
        return record
    if isinstance(message, Completion):
        record = {"type": 3}
        if message.headers:
            record["headers"] = message.headers
        record["invocationId"] = message.invocation_id
        if message.kind is CompletionKind.ERROR:
            record["error"] = message.error
        elif message.kind is CompletionKind.RESULT:
            record["result"] = message.result
        return record
    if isinstance(message, CancelInvocation):
        record = {"type": 5}
        if message.headers:
            record["headers"] = message.headers
        record["invocationId"] = message.invocation_id
        return record
    if isinstance(message, Ping):
        return {"type": 6}
    if isinstance(message, Close):
        record = {"type": 7}
        if message.error is not None:
            record["error"] = message.error
        if message.allow_reconnect:
            record["allowReconnect"] = True
        return record
    if isinstance(message, Ack):
        return {"type": 8, "sequenceId": message.sequence_id}
    if isinstance(message, Sequence):
        return {"type": 9, "sequenceId": message.sequence_id}
    raise TypeError(f"{type(message).__name__} is not sent on the wire")


_PING_RECORD: Final = b'{"type":6}\x1e'


def split_records(buffer: bytes) -> tuple[list[bytes], bytes]:
    """Whole records (separator removed) and the incomplete rest."""
    pieces = buffer.split(RECORD_SEPARATOR)
    return pieces[:-1], pieces[-1]


def _decode_records(records: list[bytes], *, exact: bool) -> list[Any]:
    # One C call for the whole batch: records cannot hold a raw 0x1E (JSON escapes
    # control characters), so joining them with commas into an array is lossless
    # for valid input. The element count must match; otherwise some record was not
    # a single document and the per-record path reports which and why. Records that
    # orjson could round (`exact` is False) take the per-record exact path.
    if exact and len(records) == 1:
        try:
            return [orjson.loads(records[0])]
        except orjson.JSONDecodeError:
            pass  # the per-record path says why
    elif exact:
        try:
            values = orjson.loads(b"[" + b",".join(records) + b"]")
        except orjson.JSONDecodeError:
            pass
        else:
            if len(values) == len(records):
                return values  # type: ignore[no-any-return]
    return [jsonvalues.loads(record) for record in records]


_TYPE_OF = itemgetter("type")
_ID_OF = itemgetter("invocationId")
_ITEM_OF = itemgetter("item")


def _whole_frame_batch(values: list[Any]) -> StreamItemBatch | None:
    """The frame as one batch when every record is a plain StreamItem of one invocation.

    The common shape of a fast stream, checked and gathered in a few C-level passes
    (map over the records) instead of a Python loop per record; None otherwise.
    """
    try:
        if set(map(type, values)) != {dict} or set(map(len, values)) != {3}:
            return None
        types = list(map(_TYPE_OF, values))
        if set(types) != {2} or set(map(type, types)) != {int}:  # not 2.0
            return None
        invocation_ids = set(map(_ID_OF, values))
        items = list(map(_ITEM_OF, values))
    except (KeyError, TypeError):  # another field than item, or an unhashable id
        return None
    if len(invocation_ids) != 1:
        return None
    (invocation_id,) = invocation_ids
    if type(invocation_id) is not str:
        return None
    return StreamItemBatch(invocation_id, items)


_TARGET_OF = itemgetter("target")
_ARGUMENTS_OF = itemgetter("arguments")


def _whole_frame_invocations(values: list[Any]) -> InvocationBatch | None:
    """The frame as one batch when every record is a plain Invocation of one target
    (exactly type, target and arguments), checked as `_whole_frame_batch` does."""
    try:
        if set(map(type, values)) != {dict} or set(map(len, values)) != {3}:
            return None
        types = list(map(_TYPE_OF, values))
        if set(types) != {1} or set(map(type, types)) != {int}:  # not True or 1.0
            return None
        targets = set(map(_TARGET_OF, values))
        arguments = list(map(_ARGUMENTS_OF, values))
    except (KeyError, TypeError):
        return None
    if len(targets) != 1 or set(map(type, arguments)) != {list}:
        return None
    (target,) = targets
    if type(target) is not str or not target:
        return None
    return InvocationBatch(target, arguments)


_ITEM_HEAD: Final = b'{"type":2,"invocationId":"'
_ITEM_TAIL: Final = b'","item":'


def _compact_stream_frame(frame: bytes) -> StreamItemBatch | None:
    """Whole records that are all `{"type":2,"invocationId":ID,"item":V}`, written
    compactly with one ID (as bulk writers do), decoded as the list of their items in
    ONE orjson call: no envelope objects at all. None for any other frame.

    0x1E never occurs inside JSON text, so once every `}` 0x1E PREFIX is replaced by a
    comma and no 0x1E is left, each record was PREFIX + V + `}`; the count check (one
    value per record, as in `_decode_records`) then leaves exactly one value per V.
    """
    if not frame.startswith(_ITEM_HEAD) or not frame.endswith(b"}\x1e"):
        return None
    id_end = frame.find(b'"', len(_ITEM_HEAD))
    if id_end < 0:
        return None
    raw_id = frame[len(_ITEM_HEAD) : id_end]
    if b"\\" in raw_id or RECORD_SEPARATOR in raw_id:
        return None  # an escaped id (the exact path decodes it), or no JSON at all
    prefix = frame[:id_end] + _ITEM_TAIL
    if not frame.startswith(prefix):
        return None
    separator = b"}" + RECORD_SEPARATOR + prefix
    values = frame[len(prefix) : -2]
    body = values.replace(separator, b",")
    if RECORD_SEPARATOR in body:
        return None  # a record that is not PREFIX + V + "}"
    # Every 0x1E but the last was in a replaced separator, and each replacement
    # shortened the text by the same length: no counting pass is needed.
    records = 1 + (len(values) - len(body)) // (len(separator) - 1)
    if not jsonvalues.orjson_is_exact(body):
        return None  # an integer orjson would round: the exact path decodes the frame
    try:
        items = orjson.loads(b"[" + body + b"]")
        invocation_id = raw_id.decode("utf-8")
    except (orjson.JSONDecodeError, UnicodeDecodeError):
        return None
    if type(items) is not list or len(items) != records:
        return None
    return StreamItemBatch(invocation_id, items)


_RESULT_HEAD: Final = b'{"type":3,"invocationId":'
_RESULT_MIDDLE: Final = b',"result":'
_RESULT_TAIL: Final = b"}" + RECORD_SEPARATOR
_ACK_HEAD: Final = b'{"type":8,"sequenceId":'
_INVOCATION_HEAD: Final = b'{"type":1,"target":"'
_INVOCATION_TAIL: Final = b'","arguments":['


def _compact_invocation_frame(frame: bytes) -> InvocationBatch | None:
    """Whole records that are all `{"type":1,"target":T,"arguments":[A]}`, written
    compactly with one T (as bulk writers do): their argument lists in ONE orjson
    call, as `_compact_stream_frame` does for stream items. None for any other frame.
    """
    if not frame.startswith(_INVOCATION_HEAD) or not frame.endswith(b"]}\x1e"):
        return None
    target_end = frame.find(b'"', len(_INVOCATION_HEAD))
    if target_end <= len(_INVOCATION_HEAD):
        return None  # no end, or an empty target (the general path refuses it)
    raw_target = frame[len(_INVOCATION_HEAD) : target_end]
    if b"\\" in raw_target or RECORD_SEPARATOR in raw_target:
        return None
    prefix = frame[:target_end] + _INVOCATION_TAIL
    if not frame.startswith(prefix):
        return None
    separator = b"]}" + RECORD_SEPARATOR + prefix
    values = frame[len(prefix) : -3]
    body = values.replace(separator, b"],[")
    if RECORD_SEPARATOR in body:
        return None
    records = 1 + (len(values) - len(body)) // (len(separator) - 3)
    if not jsonvalues.orjson_is_exact(body):
        return None
    try:
        arguments = orjson.loads(b"[[" + body + b"]]")
        target = raw_target.decode("utf-8")
    except (orjson.JSONDecodeError, UnicodeDecodeError):
        return None
    if type(arguments) is not list or len(arguments) != records:
        return None
    return InvocationBatch(target, arguments)


class JsonMessageParser:
    """Sans-IO incremental parser for JSON hub messages."""

    def __init__(
        self,
        *,
        max_message_size: int | None = None,
        batching: bool = False,
        ignore_unknown_types: bool = False,
    ) -> None:
        self._rest = b""
        self._sizes: list[int] = []
        self._max_message_size = max_message_size
        self._batching = batching
        self._ignore_unknown_types = ignore_unknown_types

    @property
    def buffered(self) -> int:
        return len(self._rest)

    @property
    def sizes(self) -> list[int]:
        return self._sizes

    def feed(self, data: bytes) -> list[IncomingMessage]:
        buffer = self._rest + data if self._rest else bytes(data)
        whole_end = buffer.rfind(RECORD_SEPARATOR) + 1
        self._sizes = []
        if not whole_end:
            self._rest = buffer
            self._check_rest_size()
            return []
        if whole_end == len(buffer) and buffer.find(RECORD_SEPARATOR) + 1 == whole_end:
            return self._one_record(buffer)
        if self._batching:
            fast = self._compact_frame(buffer)
            if fast is not None:
                return fast
        exact = jsonvalues.orjson_is_exact(
            buffer if whole_end == len(buffer) else buffer[:whole_end]
        )
        records, self._rest = split_records(buffer)
        limit = self._max_message_size
        if limit is not None:
            if len(self._rest) > limit:
                raise MessageTooLargeError(len(self._rest), limit)
            for record in records:
                if len(record) > limit:
                    raise MessageTooLargeError(len(record), limit)
        if not records:
            return []
        return self._to_messages(_decode_records(records, exact=exact), records)

    def _one_record(self, buffer: bytes) -> list[IncomingMessage]:
        """A frame of one whole record, the commonest at a high call rate (a call's
        Completion): the readers of many-record frames have nothing to gain on it."""
        self._rest = b""
        record = buffer[:-1]
        limit = self._max_message_size
        if limit is not None and len(record) > limit:
            raise MessageTooLargeError(len(record), limit)
        if record.startswith(_ACK_HEAD) and record.endswith(b"}"):
            # A stateful client's Ack, thousands a second on a fast stream: its
            # digits read without a JSON parse. Any other spelling (spaces, a sign,
            # a leading zero, more digits than fit in a long) takes the exact path.
            digits = record[len(_ACK_HEAD) : -1]
            plain = digits.isdigit() and (len(digits) == 1 or digits[0] != 0x30)
            if plain and len(digits) <= 18:
                self._sizes = [len(buffer)]
                return [Ack(int(digits))]
        value = jsonvalues.loads(record)
        if (
            type(value) is dict
            and len(value) == 4
            and type(value.get("type")) is int
            and value["type"] == 1
            and type(value.get("invocationId")) is str
            and type(value.get("target")) is str
            and type(value.get("arguments")) is list
        ):
            # An invoke with an id, a server's commonest frame at a high call rate:
            # as _to_messages builds it, without its loop.
            self._sizes = [len(buffer)]
            return [new_invocation(value["target"], value["arguments"], value["invocationId"])]
        return self._to_messages([value], [record])

    def _check_rest_size(self) -> None:
        limit = self._max_message_size
        if limit is not None and len(self._rest) > limit:
            raise MessageTooLargeError(len(self._rest), limit)

    def _compact_frame(self, buffer: bytes) -> list[IncomingMessage] | None:
        """The whole records of `buffer` as one batch, if a compact-frame reader can."""
        end = buffer.rfind(RECORD_SEPARATOR) + 1
        limit = self._max_message_size
        # Within the limit as a whole, so within it record by record.
        if not end or (limit is not None and end > limit):
            return None
        frame = buffer[:end]
        batch: IncomingMessage | None = _compact_stream_frame(frame) or _compact_invocation_frame(
            frame
        )
        if batch is None:
            return None
        self._sizes = [end]
        self._rest = buffer[end:]
        if limit is not None and len(self._rest) > limit:
            raise MessageTooLargeError(len(self._rest), limit)
        return [batch]

    def _to_messages(self, values: list[Any], records: list[bytes]) -> list[IncomingMessage]:
        if self._batching and len(values) > 1:
            # (One record is a batch of one in the loop below all the same.)
            whole = _whole_frame_batch(values) or _whole_frame_invocations(values)
            if whole is not None:
                self._sizes = [sum(map(len, records)) + len(records)]
                return [whole]
        messages: list[IncomingMessage] = []
        sizes = self._sizes
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

        for value, record in zip(values, records, strict=True):
            size = len(record) + 1
            # The hot paths: a plain stream item or plain invocation skips the
            # general checks, and when batching joins the current batch without
            # becoming an object of its own.
            if type(value) is dict:
                message_type = value.get("type")
                if type(message_type) is not int:
                    message_type = 0
                elif (
                    message_type == 2
                    and "headers" not in value
                    and "item" in value
                    and type(value.get("invocationId")) is str
                ):
                    this_key, this_value = value["invocationId"], value["item"]
                elif (
                    message_type == 1
                    and len(value) == 3
                    and type(value.get("target")) is str
                    and value["target"]
                    and type(value.get("arguments")) is list
                ):
                    this_key, this_value = value["target"], value["arguments"]
                elif (
                    message_type == 1
                    and len(value) == 4
                    and type(value.get("invocationId")) is str
                    and type(value.get("target")) is str
                    and type(value.get("arguments")) is list
                ):
                    # An invoke (with an id): its own message, never batched, built
                    # without the general checks it would pass.
                    if kind:
                        end_batch()
                        kind = 0
                    messages.append(
                        Invocation(value["target"], value["arguments"], value["invocationId"])
                    )
                    sizes.append(size)
                    continue
                else:
                    message_type = 0
                if message_type:
                    if not batching:
                        messages.append(
                            StreamItem(this_key, this_value)
                            if message_type == 2
                            else Invocation(this_key, this_value)
                        )
                        sizes.append(size)
                        continue
                    if message_type != kind or this_key != key:
                        if kind:
                            end_batch()
                        kind, key, batch, batch_size = message_type, this_key, [], 0
                    batch.append(this_value)
                    batch_size += size
                    continue
            if kind:
                end_batch()
                kind = 0
            message = message_from_record(value)
            if message is None:
                if not self._ignore_unknown_types:
                    raise ProtocolError(f"Unknown message type: {value['type']}.")
                continue
            messages.append(message)
            sizes.append(size)
        if kind:
            end_batch()
        return messages


class JsonHubProtocol(HubProtocolBase):
    _parser_factory = JsonMessageParser
    name: Final = "json"
    version: Final = 1
    transfer_format: Final = TransferFormat.TEXT

    def encode(self, message: HubMessage) -> bytes:
        if type(message) is Completion and message.kind is CompletionKind.RESULT:
            if not message.headers:
                # A call's answer, the commonest message a server writes: its parts
                # encoded as the record's would be, without the record (unless a part
                # needs the exact encoder, which then takes the whole record).
                dumps = jsonvalues.dumps_common
                invocation_id = dumps(message.invocation_id)
                # In a list, so orjson meets it at the depth the record puts it at
                # (orjson gives up past a fixed nesting depth).
                result = dumps([message.result])
                if invocation_id is not None and result is not None:
                    return b"".join(
                        (_RESULT_HEAD, invocation_id, _RESULT_MIDDLE, result[1:-1], _RESULT_TAIL)
                    )
        elif isinstance(message, Ping):
            return _PING_RECORD
        return jsonvalues.dumps(message_to_record(message)) + RECORD_SEPARATOR
