"""Property tests: round trips, arbitrary chunking, and arbitrary bytes."""

from __future__ import annotations

import contextlib
import datetime as dt
import itertools
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hubcli.protocol import (
    Ack,
    CancelInvocation,
    Close,
    Completion,
    CompletionKind,
    HubMessage,
    IncomingMessage,
    Invocation,
    JsonHubProtocol,
    MessagePackHubProtocol,
    Ping,
    ProtocolError,
    Sequence,
    StreamInvocation,
    StreamItem,
    StreamItemBatch,
    handshake,
    jsonvalues,
)
from hubcli.protocol.base import HubProtocol
from hubcli.protocol.json_protocol import message_to_record
from hubcli.protocol.messages import InvocationBatch, new_invocation
from hubcli.protocol.msgpack_protocol import read_message_positionally

JSON = JsonHubProtocol()
MSGPACK = MessagePackHubProtocol()

# Integers of any size: JSON has no limit, and a .NET decimal or BigInteger must
# arrive unchanged (MessagePack itself stops at 64 bits).
ANY_INT = st.integers()
INT64 = st.integers(min_value=-(2**63), max_value=2**64 - 1)
FLOATS = st.floats(allow_nan=False, allow_infinity=False)
# MessagePack strings are UTF-8, which has no lone surrogates.
MSGPACK_TEXT = st.text(st.characters(exclude_categories=["Cs"]), max_size=20)
JSON_TEXT = st.text(max_size=20)
NON_EMPTY = st.text(st.characters(exclude_categories=["Cs"]), min_size=1, max_size=12)


def values(
    text: st.SearchStrategy[str], ints: st.SearchStrategy[int], *extra: st.SearchStrategy[Any]
) -> st.SearchStrategy[Any]:
    scalars = st.one_of(st.none(), st.booleans(), ints, FLOATS, text, *extra)
    return st.recursive(
        scalars,
        lambda children: st.one_of(
            st.lists(children, max_size=4),
            st.dictionaries(text, children, max_size=4),
        ),
        max_leaves=12,
    )


JSON_VALUES = values(JSON_TEXT, ANY_INT)
MSGPACK_VALUES = values(
    MSGPACK_TEXT,
    INT64,
    st.binary(max_size=16),
    st.datetimes(
        min_value=dt.datetime(1970, 1, 1),
        max_value=dt.datetime(2400, 1, 1),
        timezones=st.just(dt.UTC),
    ).map(lambda moment: moment.replace(fold=0)),
)
HEADERS = st.dictionaries(NON_EMPTY, NON_EMPTY, max_size=3)
IDS = NON_EMPTY


def messages(value: st.SearchStrategy[Any]) -> st.SearchStrategy[HubMessage]:
    arguments = st.lists(value, max_size=4)
    stream_ids = st.lists(IDS, max_size=3)
    return st.one_of(
        st.builds(Invocation, NON_EMPTY, arguments, st.none() | IDS, stream_ids, HEADERS),
        st.builds(StreamInvocation, IDS, NON_EMPTY, arguments, stream_ids, HEADERS),
        st.builds(StreamItem, IDS, value, HEADERS),
        st.builds(Completion.void, IDS, HEADERS),
        st.builds(Completion.with_result, IDS, value, HEADERS),
        st.builds(Completion.with_error, IDS, st.text(max_size=20), HEADERS),
        st.builds(CancelInvocation, IDS, HEADERS),
        st.just(Ping()),
        st.builds(Close, st.none() | st.text(max_size=20), st.booleans()),
        st.builds(Ack, st.integers(0, 2**63 - 1)),
        st.builds(Sequence, st.integers(0, 2**63 - 1)),
    )


def _for(protocol: HubProtocol) -> st.SearchStrategy[HubMessage]:
    if protocol is JSON:
        return messages(JSON_VALUES)
    return messages(MSGPACK_VALUES).filter(
        # Completion/Close errors are MessagePack strings too.
        lambda m: "\ud800" not in repr(m)
    )


def _unbatch(parsed: list[IncomingMessage]) -> list[IncomingMessage]:
    out: list[IncomingMessage] = []
    for message in parsed:
        if isinstance(message, StreamItemBatch):
            out.extend(StreamItem(message.invocation_id, item) for item in message.items)
        elif isinstance(message, InvocationBatch):
            out.extend(Invocation(message.target, arguments) for arguments in message.arguments)
        else:
            out.append(message)
    return out


def _same(a: list[IncomingMessage], b: list[HubMessage]) -> bool:
    # repr tells 1 from 1.0 and True from 1, which == does not.
    return repr(a) == repr(b)


SETTINGS = settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow], deadline=None)


@SETTINGS
@given(st.lists(messages(JSON_VALUES), max_size=6))
def test_json_round_trip(batch: list[HubMessage]) -> None:
    assert _same(JSON.parser().feed(JSON.encode_many(batch)), batch)


@SETTINGS
@given(st.lists(_for(MSGPACK), max_size=6))
def test_msgpack_round_trip(batch: list[HubMessage]) -> None:
    assert _same(MSGPACK.parser().feed(MSGPACK.encode_many(batch)), batch)


@SETTINGS
@given(st.lists(_for(MSGPACK), min_size=1, max_size=1))
def test_msgpack_fast_and_positional_readers_agree(batch: list[HubMessage]) -> None:
    body = MSGPACK.encode_body(batch[0])
    assert _same([read_message_positionally(body)], batch)  # type: ignore[list-item]


def _cut_everywhere(protocol: HubProtocol, batch: list[HubMessage]) -> None:
    data = protocol.encode_many(batch)
    for cut in range(len(data) + 1):
        parser = protocol.parser()
        parsed = parser.feed(data[:cut]) + parser.feed(data[cut:])
        assert _same(parsed, batch)
        assert parser.buffered == 0


@SETTINGS
@given(st.lists(messages(JSON_VALUES), min_size=1, max_size=4))
def test_json_any_single_cut_gives_the_same_messages(batch: list[HubMessage]) -> None:
    _cut_everywhere(JSON, batch)


@SETTINGS
@given(st.lists(_for(MSGPACK), min_size=1, max_size=4))
def test_msgpack_any_single_cut_gives_the_same_messages(batch: list[HubMessage]) -> None:
    _cut_everywhere(MSGPACK, batch)


@st.composite
def chunked(draw: st.DrawFn, protocol: HubProtocol) -> tuple[list[HubMessage], list[bytes]]:
    batch = draw(st.lists(_for(protocol), min_size=1, max_size=6))
    data = protocol.encode_many(batch)
    cuts = sorted(draw(st.lists(st.integers(0, len(data)), max_size=8)))
    bounds = [0, *cuts, len(data)]
    return batch, [data[a:b] for a, b in itertools.pairwise(bounds)]


@SETTINGS
@given(chunked(JSON), st.booleans())
def test_json_many_cuts_with_and_without_batching(
    case: tuple[list[HubMessage], list[bytes]], batching: bool
) -> None:
    batch, chunks = case
    parser = JSON.parser(batching=batching)
    parsed = [message for chunk in chunks for message in parser.feed(chunk)]
    assert _same(_unbatch(parsed), batch)


@SETTINGS
@given(chunked(MSGPACK), st.booleans())
def test_msgpack_many_cuts_with_and_without_batching(
    case: tuple[list[HubMessage], list[bytes]], batching: bool
) -> None:
    batch, chunks = case
    parser = MSGPACK.parser(batching=batching)
    parsed = [message for chunk in chunks for message in parser.feed(chunk)]
    assert _same(_unbatch(parsed), batch)


@SETTINGS
@given(st.binary(max_size=200), st.booleans(), st.booleans())
def test_arbitrary_bytes_raise_only_protocol_errors(
    data: bytes, batching: bool, ignore_unknown: bool
) -> None:
    for protocol in (JSON, MSGPACK):
        parser = protocol.parser(
            batching=batching, ignore_unknown_types=ignore_unknown, max_message_size=100
        )
        with contextlib.suppress(ProtocolError):
            parser.feed(data[: len(data) // 2])
            parser.feed(data[len(data) // 2 :])
    for parse in (handshake.parse_request, handshake.parse_response):
        with contextlib.suppress(ProtocolError):
            parse(data)


MSGPACK_ISH = st.lists(
    st.sampled_from(
        [bytes([byte]) for byte in b"\x91\x92\x94\x95\x96\x01\x02\x03\x04\x05\x06\x07"]
        + [b"\x80", b"\x81", b"\xa1x", b"\xa0", b"\xc0", b"\xc2", b"\x90", b"\x91\x01"]
        + [b"\xcc\x10", b"\xd6\xff\x00\x00\x00\x01", b"\xc1"]
    ),
    max_size=12,
).map(b"".join)


@SETTINGS
@given(st.lists(MSGPACK_ISH, max_size=4), st.booleans())
def test_almost_messagepack_raises_only_protocol_errors(
    bodies: list[bytes], batching: bool
) -> None:
    # Random bytes rarely look like hub messages; these are near misses of real ones.
    from hubcli.protocol.varint import frame

    data = b"".join(frame(body) for body in bodies)
    with contextlib.suppress(ProtocolError):
        MSGPACK.parser(batching=batching).feed(data)


JSONISH = st.lists(
    st.sampled_from(
        [
            '{"type":',
            "1",
            "2",
            "3",
            "6",
            "7",
            ',"invocationId":',
            '"1"',
            "null",
            ',"item":',
            ',"target":',
            '"x"',
            ',"arguments":',
            "[]",
            ',"headers":',
            "{}",
            ',"error":',
            "}",
            ',"result":',
            ',"streamIds":',
            '["a"]',
            "\x1e",
            ',"sequenceId":',
            "true",
            "1.5",
        ]
    ),
    max_size=16,
).map(lambda parts: "".join(parts).encode())


@SETTINGS
@given(JSONISH, st.booleans())
def test_almost_json_raises_only_protocol_errors(data: bytes, batching: bool) -> None:
    with contextlib.suppress(ProtocolError):
        JSON.parser(batching=batching).feed(data + b"\x1e")


def _sizes_cover_what_was_fed(protocol: HubProtocol, chunks: list[bytes], batching: bool) -> None:
    """Each message's size is its own wire bytes: over a whole input, the sizes add
    up to every byte fed, and a message re-encoded alone has its reported size."""
    parser = protocol.parser(batching=batching)
    total = 0
    for chunk in chunks:
        parsed = parser.feed(chunk)
        assert len(parser.sizes) == len(parsed)
        for message, size in zip(parsed, parser.sizes, strict=True):
            alone = _unbatch([message])
            assert size == len(protocol.encode_many(alone))  # type: ignore[arg-type]
        total += sum(parser.sizes)
    assert total == sum(map(len, chunks))


@SETTINGS
@given(chunked(JSON), st.booleans())
def test_json_sizes_are_each_messages_own_bytes(
    case: tuple[list[HubMessage], list[bytes]], batching: bool
) -> None:
    _sizes_cover_what_was_fed(JSON, case[1], batching)


@SETTINGS
@given(chunked(MSGPACK), st.booleans())
def test_msgpack_sizes_are_each_messages_own_bytes(
    case: tuple[list[HubMessage], list[bytes]], batching: bool
) -> None:
    _sizes_cover_what_was_fed(MSGPACK, case[1], batching)


def _pushes(value: st.SearchStrategy[Any]) -> st.SearchStrategy[list[HubMessage]]:
    targets = st.sampled_from(["Tick", "Tock", 'é\\"x'])
    push = st.builds(Invocation, targets, st.lists(value, max_size=3))
    return st.lists(push, min_size=1, max_size=8)


def _pushes_unbatch_to_the_same(protocol: HubProtocol, batch: list[HubMessage]) -> None:
    parsed = protocol.parser(batching=True).feed(protocol.encode_many(batch))
    assert all(isinstance(message, InvocationBatch) for message in parsed)
    assert _same(_unbatch(parsed), batch)


@SETTINGS
@given(_pushes(JSON_VALUES))
def test_json_pushes_come_as_invocation_batches(batch: list[HubMessage]) -> None:
    _pushes_unbatch_to_the_same(JSON, batch)


@SETTINGS
@given(_pushes(MSGPACK_VALUES))
def test_msgpack_pushes_come_as_invocation_batches(batch: list[HubMessage]) -> None:
    _pushes_unbatch_to_the_same(MSGPACK, batch)


def test_a_compact_invocation_frame_is_one_batch() -> None:
    frame = b"".join(JSON.encode(Invocation("Tick", [index, "x"])) for index in range(50))
    parser = JSON.parser(batching=True)
    parsed = parser.feed(frame)
    assert parsed == [InvocationBatch("Tick", [[index, "x"] for index in range(50)])]
    assert parser.sizes == [len(frame)]


@pytest.mark.parametrize(
    "record",
    [
        b'{"type":true,"target":"x","arguments":[]}',
        b'{"type":1.0,"target":"x","arguments":[]}',
        b'{"type":1,"target":"x","arguments":{}}',
    ],
)
def test_batching_refuses_what_the_general_reader_refuses(record: bytes) -> None:
    for frame in (record + b"\x1e", (record + b"\x1e") * 3):
        with pytest.raises(ProtocolError):
            JSON.parser(batching=True).feed(frame)
        with pytest.raises(ProtocolError):
            JSON.parser().feed(frame)


def test_a_compact_stream_frame_is_one_batch_of_the_frames_size() -> None:
    frame = b"".join(JSON.encode(StreamItem("7", index)) for index in range(50))
    parser = JSON.parser(batching=True)
    assert [type(message) for message in parser.feed(frame)] == [StreamItemBatch]
    assert parser.sizes == [len(frame)]


def _nested(value: Any, depth: int) -> Any:
    for _ in range(depth):
        value = [value]
    return value


_UTC_TIME = dt.datetime(2024, 1, 2, 3, 4, 5, tzinfo=dt.UTC)
# Where orjson gives up and the exact encoder takes the record (and spells a UTC time
# or a NaN its own way): a lone surrogate in the id, a 20-digit integer, orjson's
# nesting limit (the record's own level counts).
RESULT_EDGES = [
    ("\ud800", _UTC_TIME),
    ("\ud800", float("nan")),
    ("1", [2**70, _UTC_TIME, float("inf")]),
    ("1", _nested(_UTC_TIME, 253)),
    ("1", _nested(_UTC_TIME, 254)),
    ("1", _nested(float("nan"), 255)),
]


def _assert_encodes_as_its_record(invocation_id: str, result: Any, headers: dict[str, str]) -> None:
    # Completion.with_result fills the slots itself, and JSON encodes a result
    # Completion without headers from its parts: both must match the general way.
    message = Completion.with_result(invocation_id, result, headers)
    built = Completion(invocation_id, CompletionKind.RESULT, result=result, headers=headers)
    assert repr(message) == repr(built)
    assert JSON.encode(message) == jsonvalues.dumps(message_to_record(built)) + b"\x1e"


@SETTINGS
@given(IDS | JSON_TEXT, JSON_VALUES, HEADERS)
def test_json_a_result_completion_encodes_as_its_record_would(
    invocation_id: str, result: Any, headers: dict[str, str]
) -> None:
    _assert_encodes_as_its_record(invocation_id, result, headers)


@pytest.mark.parametrize(("invocation_id", "result"), RESULT_EDGES)
def test_json_a_result_the_exact_encoder_takes_encodes_as_its_record_would(
    invocation_id: str, result: Any
) -> None:
    _assert_encodes_as_its_record(invocation_id, result, {})


@given(NON_EMPTY, st.lists(JSON_VALUES, max_size=3), st.none() | IDS)
def test_a_parsed_invocation_is_the_one_its_constructor_builds(
    target: str, arguments: list[Any], invocation_id: str | None
) -> None:
    fast = new_invocation(target, arguments, invocation_id)
    assert repr(fast) == repr(Invocation(target, arguments, invocation_id))
    assert fast == Invocation(target, arguments, invocation_id)
