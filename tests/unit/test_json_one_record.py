"""A frame of one record takes the JSON parser's shortest path (an invoke with an id
skips the general loop); it must read every record as a frame of several would."""

from __future__ import annotations

import pytest

from hubcli.protocol import JsonHubProtocol, Ping, ProtocolError

JSON = JsonHubProtocol()
PING = b'{"type":6}\x1e'
RECORDS = [
    b'{"type":1,"invocationId":"7","target":"Echo","arguments":[1]}',
    b'{"arguments":[{"a":[1,2]}],"invocationId":"x","target":"Add","type":1}',
    b'{"type":1,"target":"Echo","arguments":[1]}',
    b'{"type":1,"invocationId":"7","target":"Echo","arguments":[1],"streamIds":["s"]}',
    b'{"type":1,"invocationId":"7","target":"Echo","arguments":[1],"headers":{"a":"b"}}',
    b'{"type":1.0,"invocationId":"7","target":"Echo","arguments":[1]}',
    b'{"type":true,"invocationId":"7","target":"Echo","arguments":[1]}',
    b'{"type":1,"invocationId":7,"target":"Echo","arguments":[1]}',
    b'{"type":1,"invocationId":"7","target":"","arguments":[1]}',
    b'{"type":1,"invocationId":"7","target":"Echo","arguments":{}}',
    b'{"type":1,"invocationId":"7","target":"Echo","extra":[1]}',
    b'{"type":4,"invocationId":"7","target":"Echo","arguments":[]}',
    # A stateful client's Ack has a shortcut of its own; every other spelling reads
    # as the exact path reads it.
    b'{"type":8,"sequenceId":0}',
    b'{"type":8,"sequenceId":7}',
    b'{"type":8,"sequenceId":123456789012345678}',
    b'{"type":8,"sequenceId":1234567890123456789}',
    b'{"type":8,"sequenceId":9223372036854775808}',
    b'{"type":8,"sequenceId":012}',
    b'{"type":8,"sequenceId":-3}',
    b'{"type":8,"sequenceId":1.5}',
    b'{"type":8,"sequenceId":1e3}',
    b'{"type":8,"sequenceId":"7"}',
    b'{"type":8,"sequenceId": 7}',
    b'{"type":8,"sequenceId":7 }',
    b'{"type":8,"sequenceId":}',
    b'{"type":8,"sequenceId":7,"x":1}',
    b'{"type":8,"sequenceId":\xd9\xa3}',
]


def read(frame: bytes) -> tuple[list[object], list[int]] | str:
    parser = JSON.parser()
    try:
        messages = parser.feed(frame)
    except ProtocolError as error:
        return f"ProtocolError: {error}"
    return list(messages), list(parser.sizes)


@pytest.mark.parametrize("record", RECORDS)
def test_one_record_reads_as_in_a_frame_of_several(record: bytes) -> None:
    alone = read(record + b"\x1e")
    with_ping = read(record + b"\x1e" + PING)
    if isinstance(with_ping, str):
        assert alone == with_ping
        return
    messages, sizes = with_ping
    assert messages[-1] == Ping()
    assert alone == (messages[:-1], sizes[:-1])
