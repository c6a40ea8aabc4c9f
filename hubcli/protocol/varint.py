"""The length prefix of binary hub messages: 7 bits a byte, low group first, 1-5 bytes."""

from __future__ import annotations

from typing import Final

from .errors import ProtocolError, UnencodableValueError

MAX_LENGTH: Final = 2**31 - 1
MAX_PREFIX_BYTES: Final = 5
TOO_LARGE: Final = "Messages over 2GB in size are not supported."


def encode_length(length: int) -> bytes:
    if not 0 <= length <= MAX_LENGTH:
        raise UnencodableValueError(TOO_LARGE)
    if length < 0x80:
        return bytes((length,))
    out = bytearray()
    while True:
        group = length & 0x7F
        length >>= 7
        if length:
            out.append(group | 0x80)
        else:
            out.append(group)
            return bytes(out)


def decode_length(data: bytes | bytearray | memoryview, offset: int = 0) -> tuple[int, int] | None:
    """(length, prefix size) of the prefix at `offset`, or None while it is incomplete."""
    value = 0
    for index in range(MAX_PREFIX_BYTES):
        position = offset + index
        if position >= len(data):
            return None
        byte = data[position]
        if index == MAX_PREFIX_BYTES - 1 and byte > 0x07:
            raise ProtocolError(TOO_LARGE)
        value |= (byte & 0x7F) << (7 * index)
        if not byte & 0x80:
            return value, index + 1
    raise ProtocolError(TOO_LARGE)  # pragma: no cover - the loop returns or raises


def frame(body: bytes) -> bytes:
    return encode_length(len(body)) + body


def split_frames(data: bytes) -> tuple[list[bytes], bytes]:
    """Whole length-prefixed payloads in `data`, and the incomplete rest."""
    payloads: list[bytes] = []
    offset = 0
    while True:
        decoded = decode_length(data, offset)
        if decoded is None:
            break
        length, prefix_size = decoded
        end = offset + prefix_size + length
        if end > len(data):
            break
        payloads.append(bytes(data[offset + prefix_size : end]))
        offset = end
    return payloads, bytes(data[offset:])
