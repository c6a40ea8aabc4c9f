"""JSON text <-> Python values, fast where it can be and exact where it must be.

orjson does the work (one C call per document); the standard library takes over for
the few documents orjson refuses or would round (lone surrogates, integers beyond 64
bits, which orjson reads as floats: a .NET decimal or BigInteger must not change on
its way through), so no valid value is ever lost or altered.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
from typing import Any

import orjson

from .errors import ProtocolError, UnencodableValueError


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _finite_float(text: str) -> float:
    value = float(text)
    if value in (float("inf"), float("-inf")):
        raise ValueError(f"{text} is out of the range of a double")
    return value


_STDLIB_DECODER = json.JSONDecoder(parse_constant=_reject_constant, parse_float=_finite_float)

_DIGITS_AS_ZERO = bytes.maketrans(b"123456789", b"000000000")
# orjson reads integers from -2**63 (a minus and 19 digits) to 2**64 - 1 (20 digits)
# exactly and rounds the others to floats; a document with a run of 20 digits, or
# of 19 after a minus, may hold one, so it goes to the exact parser.
_LONG_DIGIT_RUN = b"0" * 20
_LONG_NEGATIVE_RUN = b"-" + b"0" * 19


def orjson_is_exact(data: bytes) -> bool:
    """False when `data` may hold an integer orjson would round to a float.

    A few C passes (about 1 ns a byte), so a whole received frame can be checked
    once before it is decoded in one call.
    """
    digits = data.translate(_DIGITS_AS_ZERO)
    return _LONG_DIGIT_RUN not in digits and _LONG_NEGATIVE_RUN not in digits


def _encode_extra(value: Any) -> Any:
    # bytes travel as base64 text in JSON, as the .NET serializer writes byte[].
    if isinstance(value, (bytes, bytearray, memoryview)):
        return base64.b64encode(bytes(value)).decode("ascii")
    raise UnencodableValueError(f"JSON cannot carry a value of type {type(value).__name__}")


def _stdlib_default(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        return value.isoformat().replace("+00:00", "Z")
    return _encode_extra(value)


def dumps_common(value: Any) -> bytes | None:
    """`dumps(value)` when orjson writes it, else None (where `dumps` falls back to the
    exact encoder). Encoding a document's parts with this, and the whole with `dumps`
    when any part gives None, writes the same bytes as `dumps` of the whole: the
    fallback spells a few values differently (UTC times, NaN), so it must take all of
    a document or none of it."""
    try:
        return orjson.dumps(value, default=_encode_extra)
    except TypeError:
        return None


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
    raw = data if isinstance(data, bytes) else data.encode("utf-8", "surrogatepass")
    if orjson_is_exact(raw):
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
    except (ValueError, UnicodeDecodeError, RecursionError):
        raise ProtocolError("Error reading JSON.") from None
