"""Many messages of one shape encoded in one call: the StreamItems of a benchmark
stream, the Invocations of a burst of pushes (Notify).

The envelope comes from the protocol core (the message encoded with a null in the
item's place, which both codecs write at the end or just before a fixed tail), so
only the item values are encoded here; anything unexpected falls back to the
core's encode_many.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Final

import msgpack
import orjson

from hubcli.protocol import (
    HubMessage,
    HubProtocol,
    Invocation,
    JsonHubProtocol,
    MessagePackHubProtocol,
    StreamItem,
    jsonvalues,
)
from hubcli.protocol.varint import encode_length

_orjson_dumps: Final = orjson.dumps
_JSON_NULL: Final = b"null"
_MSGPACK_NIL: Final = b"\xc0"
# What each codec writes after the item: StreamItem ends with it; Invocation (one
# argument) closes its arguments array and, in MessagePack, adds no stream ids.
_STREAM_ITEM_TAILS: Final = (b"}\x1e", b"")
_INVOCATION_TAILS: Final = (b"]}\x1e", b"\x90")


def stream_item_encoder(
    protocol: HubProtocol, invocation_id: str
) -> Callable[[Sequence[Any]], bytes]:
    """A function from items to the bytes of their StreamItems, in order."""
    return _encoder(protocol, lambda item: StreamItem(invocation_id, item), _STREAM_ITEM_TAILS)


def invocation_encoder(protocol: HubProtocol, target: str) -> Callable[[Sequence[Any]], bytes]:
    """A function from items to the bytes of Invocations of `target` (no id), each
    with the item as its only argument, in order."""
    return _encoder(protocol, lambda item: Invocation(target, [item]), _INVOCATION_TAILS)


def _encoder(
    protocol: HubProtocol,
    message: Callable[[Any], HubMessage],
    tails: tuple[bytes, bytes],
) -> Callable[[Sequence[Any]], bytes]:
    json_tail, msgpack_tail = tails
    if isinstance(protocol, JsonHubProtocol):
        probe = protocol.encode(message(None))
        if probe.endswith(_JSON_NULL + json_tail):
            return _json_encoder(probe[: -len(_JSON_NULL + json_tail)], json_tail)
    if isinstance(protocol, MessagePackHubProtocol):
        body = protocol.encode_body(message(None))
        if body.endswith(_MSGPACK_NIL + msgpack_tail):
            return _msgpack_encoder(body[: -len(_MSGPACK_NIL + msgpack_tail)], msgpack_tail)

    def fallback(items: Sequence[Any]) -> bytes:
        return protocol.encode_many(message(item) for item in items)

    return fallback


def _json_encoder(prefix: bytes, tail: bytes) -> Callable[[Sequence[Any]], bytes]:
    separator = tail + prefix

    def encode(items: Sequence[Any]) -> bytes:
        if not items:
            return b""
        # A range (FastStream's batches) holds ints by construction.
        if type(items) is range or all(type(item) is int for item in items):
            # One C call: the array's commas become record boundaries.
            array = orjson.dumps(list(items))
            return prefix + array[1:-1].replace(b",", separator) + tail
        try:
            # orjson's own encoder, without a Python call around each item; what
            # it refuses (big integers, datetimes...) takes the exact encoder.
            return b"".join([prefix + _orjson_dumps(item) + tail for item in items])
        except TypeError:
            dumps = jsonvalues.dumps
            return b"".join([prefix + dumps(item) + tail for item in items])

    return encode


# Length prefixes of small bodies, the common case, computed once.
_PREFIXES: Final = tuple(encode_length(n) for n in range(1 << 14))


def _msgpack_encoder(head: bytes, tail: bytes) -> Callable[[Sequence[Any]], bytes]:
    # Same settings as the core's packer, so an item encodes to the same bytes.
    pack = msgpack.Packer(use_bin_type=True, datetime=True).pack
    prefixes = _PREFIXES
    small = len(prefixes)

    def encode(items: Sequence[Any]) -> bytes:
        if tail:
            bodies = [head + pack(item) + tail for item in items]
        else:
            bodies = [head + pack(item) for item in items]
        return b"".join(
            [
                (prefixes[len(body)] if len(body) < small else encode_length(len(body))) + body
                for body in bodies
            ]
        )

    return encode
