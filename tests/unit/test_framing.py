"""Framing details the vectors do not spell out: prefixes, coalescing, limits."""

from __future__ import annotations

import pytest

from hubcli.protocol import (
    Completion,
    HubMessage,
    Invocation,
    InvocationBindingFailure,
    JsonHubProtocol,
    MessagePackHubProtocol,
    MessageTooLargeError,
    Ping,
    ProtocolError,
    StreamItem,
    StreamItemBatch,
    handshake,
)
from hubcli.protocol.handshake import HandshakeResponse
from hubcli.protocol.varint import decode_length, encode_length, frame

JSON = JsonHubProtocol()
MSGPACK = MessagePackHubProtocol()


@pytest.mark.parametrize(
    ("length", "encoded"),
    [
        (0, b"\x00"),
        (0x35, b"\x35"),
        (127, b"\x7f"),
        (128, b"\x80\x01"),
        (5248, b"\x80\x29"),
        (16383, b"\xff\x7f"),
        (16384, b"\x80\x80\x01"),
        (2**31 - 1, b"\xff\xff\xff\xff\x07"),
    ],
)
def test_varint(length: int, encoded: bytes) -> None:
    assert encode_length(length) == encoded
    assert decode_length(encoded) == (length, len(encoded))
    assert decode_length(encoded[:-1]) is None


def test_varint_refuses_2gb() -> None:
    with pytest.raises(ValueError, match="2GB"):
        encode_length(2**31)


def test_handshake_response_and_first_messages_in_one_chunk() -> None:
    hub_bytes = MSGPACK.encode(Ping()) + MSGPACK.encode(StreamItem("1", b"\x1e"))
    parsed = handshake.parse_response(b"{}\x1e" + hub_bytes)
    assert parsed == (HandshakeResponse(), hub_bytes)
    assert MSGPACK.parser().feed(parsed[1]) == [Ping(), StreamItem("1", b"\x1e")]


def test_handshake_response_waits_for_the_separator() -> None:
    assert handshake.parse_response(b'{"error":"x"') is None
    response, rest = handshake.parse_response(b'{"error":"nope"}\x1e') or (None, b"")
    assert response is not None
    assert not response.ok
    assert response.error == "nope"
    assert rest == b""


def test_handshake_response_that_is_a_hub_message() -> None:
    with pytest.raises(ProtocolError, match="Expected a handshake response"):
        handshake.parse_response(b'{"type":6}\x1e')


@pytest.mark.parametrize("protocol", [JSON, MSGPACK], ids=["json", "messagepack"])
def test_batches_keep_order_across_invocations(protocol: JsonHubProtocol) -> None:
    stream: list[HubMessage] = [
        StreamItem("1", 0),
        StreamItem("1", 1),
        StreamItem("2", "a"),
        StreamItem("1", 2),
        Completion.void("1"),
        StreamItem("2", "b", {"h": "v"}),
        StreamItem("2", "c"),
    ]
    parsed = protocol.parser(batching=True).feed(protocol.encode_many(stream))
    assert parsed == [
        StreamItemBatch("1", [0, 1]),
        StreamItemBatch("2", ["a"]),
        StreamItemBatch("1", [2]),
        Completion.void("1"),
        StreamItem("2", "b", {"h": "v"}),
        StreamItemBatch("2", ["c"]),
    ]


@pytest.mark.parametrize("protocol", [JSON, MSGPACK], ids=["json", "messagepack"])
def test_message_size_limit(protocol: JsonHubProtocol) -> None:
    small = protocol.encode(StreamItem("1", "x" * 10))
    big = protocol.encode(StreamItem("1", "x" * 200))
    parser = protocol.parser(max_message_size=100)
    assert parser.feed(small) == [StreamItem("1", "x" * 10)]
    with pytest.raises(MessageTooLargeError, match="100B"):
        parser.feed(big)


@pytest.mark.parametrize("protocol", [JSON, MSGPACK], ids=["json", "messagepack"])
def test_message_size_limit_applies_before_the_message_is_whole(
    protocol: JsonHubProtocol,
) -> None:
    # A hostile peer must not make us buffer a huge message to learn it is too big.
    big = protocol.encode(StreamItem("1", "x" * 10_000))
    with pytest.raises(MessageTooLargeError):
        protocol.parser(max_message_size=1000).feed(big[:2000])


def test_unknown_message_types() -> None:
    with pytest.raises(ProtocolError, match="Unknown message type"):
        JSON.parser().feed(b'{"type":99}\x1e')
    assert JSON.parser(ignore_unknown_types=True).feed(b'{"type":99}\x1e{"type":6}\x1e') == [Ping()]
    unknown = frame(b"\x91\x63")
    with pytest.raises(ProtocolError, match="Unknown message type"):
        MSGPACK.parser().feed(unknown)
    assert MSGPACK.parser(ignore_unknown_types=True).feed(unknown + MSGPACK.encode(Ping())) == [
        Ping()
    ]


def test_msgpack_short_forms_from_the_typescript_client() -> None:
    # 5-element Invocation (no streamIds), 2-element Close.
    invocation = frame(b"\x95\x01\x80\xc0\xa6method\x91\x2a")
    close = frame(b"\x92\x07\xc0")
    parsed = MSGPACK.parser().feed(invocation + close)
    assert [type(m).__name__ for m in parsed] == ["Invocation", "Close"]


def test_msgpack_binding_failure_keeps_the_connection_going() -> None:
    bad_arguments = frame(b"\x95\x01\x80\xa3abc\xa3xyz\x2a")
    parsed = MSGPACK.parser().feed(bad_arguments + MSGPACK.encode(Ping()))
    assert parsed == [
        InvocationBindingFailure("abc", "xyz", "Reading array length for 'arguments' failed."),
        Ping(),
    ]


def test_msgpack_tolerates_fields_past_a_short_array_header_like_the_server() -> None:
    # The .NET reader reads fields by position whatever the array header says.
    short_header = frame(b"\x92\x02\x80\xa11\x07")
    assert MSGPACK.parser().feed(short_header + MSGPACK.encode(Ping())) == [
        StreamItem("1", 7),
        Ping(),
    ]


def test_msgpack_timestamps_and_bytes_decode_to_python_values() -> None:
    import datetime as dt

    moment = dt.datetime(2017, 4, 11, tzinfo=dt.UTC)
    data = MSGPACK.encode(StreamItem("1", {"when": moment, "raw": b"\x01\x02\x03"}))
    (item,) = MSGPACK.parser().feed(data)
    assert item == StreamItem("1", {"when": moment, "raw": b"\x01\x02\x03"})


def test_json_bytes_are_written_as_base64() -> None:
    assert JSON.encode(StreamItem("1", b"\x01\x02\x03")) == (
        b'{"type":2,"invocationId":"1","item":"AQID"}\x1e'
    )


def test_json_record_holding_two_documents_is_refused() -> None:
    # Joined into one array it would pass as two messages; the count check catches it.
    with pytest.raises(ProtocolError, match="Error reading JSON"):
        JSON.parser().feed(b'{"type":6},{"type":6}\x1e{"type":6}\x1e')


BIG = 79228162514264337593543950335  # .NET decimal.MaxValue


@pytest.mark.parametrize("batching", [False, True])
def test_json_integers_beyond_64_bits_arrive_exactly(batching: bool) -> None:
    stream = [StreamItem("1", 1), StreamItem("1", BIG), StreamItem("1", {"id": -(2**70)})]
    data = JSON.encode_many([*stream, Completion.with_result("2", 2**64)])
    assert b"79228162514264337593543950335" in data
    parsed = JSON.parser(batching=batching).feed(data)
    items = [
        item
        for message in parsed
        for item in (message.items if isinstance(message, StreamItemBatch) else [message])
    ]
    assert BIG in [getattr(item, "item", item) for item in items]
    assert {"id": -(2**70)} in [getattr(item, "item", item) for item in items]
    assert parsed[-1] == Completion.with_result("2", 2**64)


def test_json_integers_beyond_64_bits_in_a_frame_of_stream_items_only() -> None:
    # The compact whole-frame path checks the items it decodes, not the envelopes.
    values = [1, BIG, [2**64, -(2**63) - 1], "12345678901234567890123"]
    data = JSON.encode_many([StreamItem("77777777777777777777777", v) for v in values])
    (batch,) = JSON.parser(batching=True).feed(data)
    assert batch == StreamItemBatch("77777777777777777777777", values)
    assert [type(v) for v in batch.items] == [int, int, list, str]


@pytest.mark.parametrize("batching", [False, True])
@pytest.mark.parametrize(
    "value", [-(2**63) - 1, -(2**63), 2**64 - 1, 2**64, -(10**19), 10**19, -(10**20)]
)
def test_json_integers_at_the_edges_of_64_bits_arrive_exactly(batching: bool, value: int) -> None:
    # orjson reads -2**63 .. 2**64-1 exactly and rounds what lies beyond to a float;
    # -2**63-1 has only 19 digits, so a check for 20-digit runs alone misses it.
    parser = JSON.parser(batching=batching)
    for message in (StreamItem("1", value), Invocation("M", [value], "1")):
        (parsed,) = parser.feed(JSON.encode(message))
        if isinstance(parsed, StreamItemBatch):
            parsed = StreamItem(parsed.invocation_id, parsed.items[0])
        assert parsed == message
        received = parsed.item if isinstance(parsed, StreamItem) else parsed.arguments[0]
        assert type(received) is int  # 2**64 as a float would compare equal


@pytest.mark.parametrize("batching", [False, True])
def test_json_raw_record_separator_inside_an_id_is_refused(batching: bool) -> None:
    # JSON text cannot hold a raw 0x1E; the fast path must not take it as one.
    frame = b'{"type":2,"invocationId":"a\x1eb","item":1}\x1e'
    with pytest.raises(ProtocolError, match="Error reading JSON"):
        JSON.parser(batching=batching).feed(frame)


def test_json_numbers_beyond_a_double_are_refused() -> None:
    with pytest.raises(ProtocolError, match="Error reading JSON"):
        JSON.parser().feed(b'{"type":2,"invocationId":"1","item":1e400}\x1e')
