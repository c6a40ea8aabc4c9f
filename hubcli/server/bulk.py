"""Many StreamItems of one stream encoded in one call, for the benchmark streams.

The envelope comes from the protocol core (a StreamItem encoded with a null item,
which both codecs write last), so only the item values are encoded here; anything
unexpected falls back to the core's encode_many.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Final

import msgpack
import orjson

from hubcli.protocol import (
    HubProtocol,
    JsonHubProtocol,
    MessagePackHubProtocol,
    StreamItem,
    jsonvalues,
)
from hubcli.protocol.varint import encode_length

_orjson_dumps: Final = orjson.dumps
_JSON_NULL_TAIL: Final = b"null}\x1e"
_JSON_TAIL: Final = b"}\x1e"
_MSGPACK_NIL: Final = b"\xc0"


def stream_item_encoder(
    protocol: HubProtocol, invocation_id: str
) -> Callable[[Sequence[Any]], bytes]:
    """A function from items to the bytes of their StreamItems, in order."""
    probe_message = StreamItem(invocation_id, None)
    if isinstance(protocol, JsonHubProtocol):
        probe = protocol.encode(probe_message)
        if probe.endswith(_JSON_NULL_TAIL):
            return _json_encoder(probe[: -len(_JSON_NULL_TAIL)])
    if isinstance(protocol, MessagePackHubProtocol):
        body = protocol.encode_body(probe_message)
        if body.endswith(_MSGPACK_NIL):
            return _msgpack_encoder(body[: -len(_MSGPACK_NIL)])

    def fallback(items: Sequence[Any]) -> bytes:
        return protocol.encode_many(StreamItem(invocation_id, item) for item in items)

    return fallback


def _json_encoder(prefix: bytes) -> Callable[[Sequence[Any]], bytes]:
    separator = _JSON_TAIL + prefix

    def encode(items: Sequence[Any]) -> bytes:
        if not items:
            return b""
        if all(type(item) is int for item in items):
            # One C call: the array's commas become record boundaries.
            array = orjson.dumps(list(items))
            return prefix + array[1:-1].replace(b",", separator) + _JSON_TAIL
        try:
            # orjson's own encoder, without a Python call around each item; what
            # it refuses (big integers, datetimes...) takes the exact encoder.
            return b"".join([prefix + _orjson_dumps(item) + _JSON_TAIL for item in items])
        except TypeError:
            dumps = jsonvalues.dumps
            return b"".join([prefix + dumps(item) + _JSON_TAIL for item in items])

    return encode


# Length prefixes of small bodies, the common case, computed once.
_PREFIXES: Final = tuple(encode_length(n) for n in range(1 << 14))


def _msgpack_encoder(head: bytes) -> Callable[[Sequence[Any]], bytes]:
    # Same settings as the core's packer, so an item encodes to the same bytes.
    pack = msgpack.Packer(use_bin_type=True, datetime=True).pack
    prefixes = _PREFIXES
    small = len(prefixes)

    def encode(items: Sequence[Any]) -> bytes:
        bodies = [head + pack(item) for item in items]
        return b"".join(
            [
                (prefixes[len(body)] if len(body) < small else encode_length(len(body))) + body
                for body in bodies
            ]
        )

    return encode
