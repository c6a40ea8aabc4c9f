"""How a stateful client numbers what it receives when a Sequence and the
server's replay share one frame (as hubcli serve and ASP.NET Core write them)."""

from __future__ import annotations

from hubcli.client.resume import Resumption
from hubcli.protocol import Sequence, StreamItem, protocol_by_name
from hubcli.protocol.messages import HubMessage, IncomingMessage, StreamItemBatch


async def never() -> None:
    raise AssertionError("no reconnect here")


def received(frame: bytes) -> tuple[list[IncomingMessage], list[int]]:
    parser = protocol_by_name("json").parser()
    messages = parser.feed(frame)
    return list(messages), list(parser.sizes)


def encode(*messages: HubMessage) -> bytes:
    codec = protocol_by_name("json")
    return b"".join(codec.encode(message) for message in messages)


def items(dispatched: list[IncomingMessage]) -> list[object]:
    out: list[object] = []
    for message in dispatched:
        if isinstance(message, StreamItemBatch):
            out.extend(message.items)
        elif isinstance(message, StreamItem):
            out.append(message.item)
    return out


def test_a_replay_in_the_sequences_frame_is_numbered_from_it() -> None:
    resumption = Resumption(never)
    first = encode(*(StreamItem("s", index) for index in range(10)))
    assert items(resumption.admit_all(*received(first))[0]) == list(range(10))
    # The server had only 0-5 acknowledged: it replays 6-9 (ids 7-10), then goes on.
    replay = encode(Sequence(7), *(StreamItem("s", index) for index in range(6, 14)))
    dispatched, _ = resumption.admit_all(*received(replay))
    assert items(dispatched) == [10, 11, 12, 13]
    assert not any(isinstance(message, Sequence) for message in dispatched)
    after = encode(StreamItem("s", 14))
    assert items(resumption.admit_all(*received(after))[0]) == [14]
