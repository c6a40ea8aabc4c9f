"""The handshake: one JSON record each way before any hub message.

The request is JSON whatever the hub protocol. The bytes after the response's
separator already belong to the hub protocol (binary for MessagePack), so parsing
returns them untouched.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from . import jsonvalues
from .errors import HandshakeError, ProtocolError
from .json_protocol import RECORD_SEPARATOR, expect_object


@dataclass(frozen=True, slots=True)
class HandshakeRequest:
    protocol: str
    version: int


@dataclass(frozen=True, slots=True)
class HandshakeResponse:
    error: str | None = None
    minor_version: int | None = None

    @property
    def ok(self) -> bool:
        # An empty error is success: the official clients test it for truth.
        return not self.error


def encode_request(request: HandshakeRequest) -> bytes:
    return (
        jsonvalues.dumps({"protocol": request.protocol, "version": request.version})
        + RECORD_SEPARATOR
    )


def encode_response(response: HandshakeResponse) -> bytes:
    record: dict[str, Any] = {}
    if response.error is not None:
        record["error"] = response.error
    if response.minor_version is not None:
        record["minorVersion"] = response.minor_version
    return jsonvalues.dumps(record) + RECORD_SEPARATOR


def _split(data: bytes) -> tuple[bytes, bytes] | None:
    index = data.find(RECORD_SEPARATOR)
    if index < 0:
        return None
    return data[:index], data[index + 1 :]


def _decode(record: bytes) -> dict[str, Any]:
    try:
        return expect_object(jsonvalues.loads(record))
    except ProtocolError as error:
        raise HandshakeError(str(error)) from None


def parse_request(data: bytes) -> tuple[HandshakeRequest, bytes] | None:
    """The request and the bytes after it; None until a whole record has arrived."""
    split = _split(data)
    if split is None:
        return None
    record_bytes, rest = split
    record = _decode(record_bytes)
    for key, value in record.items():
        if key == "protocol" and not isinstance(value, str):
            raise HandshakeError("Expected 'protocol' to be of type String.")
        if key == "version" and (not isinstance(value, int) or isinstance(value, bool)):
            raise HandshakeError("Expected 'version' to be of type Number.")
    content = record_bytes.decode("utf-8", "replace")
    for required in ("protocol", "version"):
        if required not in record:
            raise HandshakeError(
                f"Missing required property '{required}'. Message content: {content}"
            )
    return HandshakeRequest(record["protocol"], record["version"]), rest


def parse_response(data: bytes) -> tuple[HandshakeResponse, bytes] | None:
    """The response and the bytes after it; None until a whole record has arrived."""
    split = _split(data)
    if split is None:
        return None
    record_bytes, rest = split
    record = _decode(record_bytes)
    if "type" in record:
        raise HandshakeError("Expected a handshake response from the server.")
    error = record.get("error")
    if "error" in record and not isinstance(error, str):
        raise HandshakeError("Expected 'error' to be of type String.")
    minor_version = record.get("minorVersion")
    if minor_version is not None and (
        not isinstance(minor_version, int) or isinstance(minor_version, bool)
    ):
        raise HandshakeError("Expected 'minorVersion' to be of type Number.")
    return HandshakeResponse(error, minor_version), rest
