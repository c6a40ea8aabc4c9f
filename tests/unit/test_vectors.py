"""Every encoding from the official test suites, in both directions where they say so."""

from __future__ import annotations

import base64
from typing import Any

import pytest

from hubcli.protocol import (
    InvocationBindingFailure,
    JsonHubProtocol,
    MessagePackHubProtocol,
    ProtocolError,
    handshake,
)
from hubcli.protocol.handshake import HandshakeRequest, HandshakeResponse
from hubcli.protocol.varint import split_frames

from .vectors import VECTORS, has_float32, to_message

JSON = JsonHubProtocol()
MSGPACK = MessagePackHubProtocol()


def _ids(entries: list[dict[str, Any]]) -> list[str]:
    return [entry["name"] for entry in entries]


JSON_VECTORS = VECTORS["json"]
MSGPACK_VECTORS = VECTORS["messagepack"]


@pytest.mark.parametrize("vector", JSON_VECTORS, ids=_ids(JSON_VECTORS))
def test_json_parse(vector: dict[str, Any]) -> None:
    data = vector["encoded_text"].encode("utf-8")
    assert JSON.parser().feed(data) == [to_message(vector["message"])]


@pytest.mark.parametrize(
    "vector",
    [v for v in JSON_VECTORS if v["direction"] == "both"],
    ids=_ids([v for v in JSON_VECTORS if v["direction"] == "both"]),
)
def test_json_write(vector: dict[str, Any]) -> None:
    assert JSON.encode(to_message(vector["message"])) == vector["encoded_text"].encode("utf-8")


@pytest.mark.parametrize("vector", MSGPACK_VECTORS, ids=_ids(MSGPACK_VECTORS))
def test_msgpack_parse(vector: dict[str, Any]) -> None:
    data = base64.b64decode(vector["encoded_base64"])
    assert MSGPACK.parser().feed(data) == [to_message(vector["message"])]


# Python has no single-precision float; hubcli never has to write one, so the two
# float32 vectors are checked in the parse direction only.
MSGPACK_WRITE = [
    v for v in MSGPACK_VECTORS if v["direction"] == "both" and not has_float32(v["message"])
]


@pytest.mark.parametrize("vector", MSGPACK_WRITE, ids=_ids(MSGPACK_WRITE))
def test_msgpack_write(vector: dict[str, Any]) -> None:
    message = to_message(vector["message"])
    assert MSGPACK.encode(message) == base64.b64decode(vector["encoded_base64"])
    assert MSGPACK.encode_body(message) == base64.b64decode(vector["body_base64"])


def test_float32_vectors_are_the_only_ones_not_written() -> None:
    both = [v for v in MSGPACK_VECTORS if v["direction"] == "both"]
    assert len(both) - len(MSGPACK_WRITE) == 2


HANDSHAKE = VECTORS["handshake"]


@pytest.mark.parametrize("vector", HANDSHAKE, ids=_ids(HANDSHAKE))
def test_handshake(vector: dict[str, Any]) -> None:
    data = vector["encoded_text"].encode("utf-8")
    message = vector["message"]
    if vector["kind"] == "request":
        request = HandshakeRequest(message["protocol"], message["version"])
        if vector["direction"] in ("both", "parse-only"):
            assert handshake.parse_request(data) == (request, b"")
        if vector["direction"] in ("both", "write-only"):
            assert handshake.encode_request(request) == data
    else:
        response = HandshakeResponse(message.get("error"), message.get("minorVersion"))
        if vector["direction"] in ("both", "parse-only"):
            assert handshake.parse_response(data) == (response, b"")
        if vector["direction"] in ("both", "write-only"):
            assert handshake.encode_response(response) == data


FRAMING = VECTORS["framing"]


@pytest.mark.parametrize("vector", FRAMING, ids=_ids(FRAMING))
def test_framing(vector: dict[str, Any]) -> None:
    data = base64.b64decode(vector["encoded_base64"])
    payloads = [base64.b64decode(p) for p in vector["payloads_base64"]]
    if vector["framing"] == "binary":
        assert split_frames(data) == (payloads, b"")
    else:
        records = data.split(b"\x1e")
        assert records[:-1] == payloads
        assert records[-1] == b""


# ------------------------------------------------------------------ invalid input

INVALID_JSON = VECTORS["invalid"]["json"]


@pytest.mark.parametrize("vector", INVALID_JSON, ids=_ids(INVALID_JSON))
def test_invalid_json(vector: dict[str, Any]) -> None:
    data = vector["invalid_text"].encode("utf-8")
    if vector["kind"] == "binding":
        # Well-formed: only a binder that knows the method's parameters can refuse it.
        (message,) = JSON.parser().feed(data)
        assert message.target == "foo"  # type: ignore[union-attr]
        return
    with pytest.raises(ProtocolError) as raised:
        JSON.parser().feed(data)
    if vector.get("strict_json", True):
        assert str(raised.value) == vector["expected_error"]
    else:
        # Deliberately not JSON: a strict parser reports the syntax instead.
        assert str(raised.value) in (vector["expected_error"], "Error reading JSON.")


INVALID_MSGPACK = VECTORS["invalid"]["messagepack"]


@pytest.mark.parametrize("vector", INVALID_MSGPACK, ids=_ids(INVALID_MSGPACK))
def test_invalid_msgpack(vector: dict[str, Any]) -> None:
    data = base64.b64decode(vector["invalid_base64"])
    if vector["kind"] == "binding":
        (message,) = MSGPACK.parser().feed(data)
        if isinstance(message, InvocationBindingFailure):
            assert message.error == vector["expected_error"]
        else:
            # Arity and type mismatches need the method's signature: the binder's job.
            assert "argument" in vector["expected_error"]
        return
    with pytest.raises(ProtocolError) as raised:
        MSGPACK.parser().feed(data)
    assert str(raised.value) == vector["expected_error"]


INVALID_HANDSHAKE = VECTORS["invalid"]["handshake"]


@pytest.mark.parametrize("vector", INVALID_HANDSHAKE, ids=_ids(INVALID_HANDSHAKE))
def test_invalid_handshake(vector: dict[str, Any]) -> None:
    data = vector["invalid_text"].encode("utf-8")
    parse = handshake.parse_request if vector["kind"] == "request" else handshake.parse_response
    if vector["expected_error"] is None:
        assert parse(data) is None
        return
    with pytest.raises(ProtocolError) as raised:
        parse(data)
    assert str(raised.value) == vector["expected_error"]


INVALID_FRAMING = VECTORS["invalid"]["framing"]


@pytest.mark.parametrize("vector", INVALID_FRAMING, ids=_ids(INVALID_FRAMING))
def test_invalid_framing(vector: dict[str, Any]) -> None:
    data = base64.b64decode(vector["invalid_base64"])
    if vector["expected_error"] is None:
        assert split_frames(data) == ([], data)
        assert MSGPACK.parser().feed(data) == []
        return
    with pytest.raises(ProtocolError) as raised:
        split_frames(data)
    assert str(raised.value) == vector["expected_error"]
    with pytest.raises(ProtocolError, match="2GB"):
        MSGPACK.parser().feed(data)
