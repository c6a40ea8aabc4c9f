"""JSON text <-> Python values, fast where it can be and exact where it must be.

orjson does the work (one C call per document); the standard library takes over for
the few documents orjson refuses but JSON allows (lone surrogates, integers beyond
64 bits on output), so no valid value is ever lost.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
from typing import Any

import orjson

from .errors import ProtocolError


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


_STDLIB_DECODER = json.JSONDecoder(parse_constant=_reject_constant)


def _encode_extra(value: Any) -> Any:
    # bytes travel as base64 text in JSON, as the .NET serializer writes byte[].
    if isinstance(value, (bytes, bytearray, memoryview)):
        return base64.b64encode(bytes(value)).decode("ascii")
    raise TypeError(f"Type is not JSON serializable: {type(value).__name__}")


def _stdlib_default(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        return value.isoformat().replace("+00:00", "Z")
    return _encode_extra(value)


def dumps(value: Any) -> bytes:
    """Compact UTF-8 JSON, non-ASCII written raw (as the .NET server writes it)."""
    try:
        return orjson.dumps(value, default=_encode_extra)
    except TypeError:
        # orjson refuses integers beyond 64 bits and lone surrogates; JSON allows both.
        text = json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=_stdlib_default)
        try:
            return text.encode("utf-8")
        except UnicodeEncodeError:
            # A lone surrogate has no UTF-8 form; JSON's \u escape carries it intact.
            escaped = json.dumps(value, separators=(",", ":"), default=_stdlib_default)
            return escaped.encode("ascii")


def loads(data: bytes | str) -> Any:
    """Parse one JSON document; ProtocolError("Error reading JSON.") when it is not one."""
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError:
        pass
    try:
        text = (data.decode("utf-8") if isinstance(data, bytes) else data).strip()
        value, end = _STDLIB_DECODER.raw_decode(text)
        if end != len(text):
            raise ValueError("trailing data")
        return value
    except (ValueError, UnicodeDecodeError):
        raise ProtocolError("Error reading JSON.") from None
