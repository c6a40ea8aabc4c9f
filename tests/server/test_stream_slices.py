"""How a stateful connection's stream batches are cut for encoding: every item once,
in order, in slices of about a quarter of the replay buffer; only a stream's first
batch starts with a small probe slice (later ones are sized by what it measured)."""

from __future__ import annotations

from typing import Any

from hubcli.protocol import JsonHubProtocol, StreamItem, StreamItemBatch
from hubcli.server.bulk import stream_item_encoder
from hubcli.server.context import ItemBatch
from hubcli.server.invocations import _FIRST_SLICE, _MOST_FIRST, _chunked_encoder

JSON = JsonHubProtocol()
LIMIT = 100_000


def objects(start: int, stop: int) -> list[dict[str, Any]]:
    return [
        {"id": index, "name": f"item-{index:08d}", "note": "abcdefghijklmnop"}
        for index in range(start, stop)
    ]


def test_batches_are_cut_in_order_and_only_the_first_starts_with_a_probe() -> None:
    encode = _chunked_encoder(stream_item_encoder(JSON, "s"), JSON, "s", LIMIT)
    batches = [objects(start, start + 2048) for start in range(0, 3 * 2048, 2048)]
    sliced = [list(encode(ItemBatch(batch))) for batch in batches]

    parser = JSON.parser()
    received: list[Any] = []
    for pieces in sliced:
        for data, count in pieces:
            messages = parser.feed(data)
            for message in messages:
                assert isinstance(message, (StreamItem, StreamItemBatch))
                if isinstance(message, StreamItem):
                    received.append(message.item)
                else:
                    received.extend(message.items)
            assert data.count(b"\x1e") == count
    assert received == [item for batch in batches for item in batch]
    assert sliced[0][0][1] == _FIRST_SLICE
    for pieces in sliced[1:]:
        counts = [count for _, count in pieces]
        assert counts[0] > _FIRST_SLICE
        assert sum(counts) == 2048
        # About a quarter of the buffer each (the last one holds what is left).
        assert all(len(data) <= LIMIT // 2 for data, _ in pieces)
        assert max(len(data) for data, _ in pieces) >= LIMIT // 8


def test_a_batch_that_fits_the_buffer_goes_in_two_slices() -> None:
    encode = _chunked_encoder(stream_item_encoder(JSON, "s"), JSON, "s", LIMIT)
    for _ in range(2):
        counts = [count for _, count in encode(ItemBatch(list(range(2048))))]
        assert len(counts) == 2
        assert sum(counts) == 2048


def test_items_that_grow_are_not_encoded_whole_on_a_stale_size() -> None:
    encode = _chunked_encoder(stream_item_encoder(JSON, "s"), JSON, "s", LIMIT)
    list(encode(ItemBatch(list(range(2048)))))
    large = ["x" * 10_000] * 2048
    pieces = list(encode(ItemBatch(large)))
    assert pieces[0][1] <= _MOST_FIRST
    assert max(len(data) for data, _ in pieces[1:]) <= LIMIT
    assert sum(count for _, count in pieces) == 2048
