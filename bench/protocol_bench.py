"""Micro-benchmark of the sans-IO protocol core.

    python bench/protocol_bench.py [--repeat 7]

For each protocol: encode 100k StreamItems, parse them (as dataclasses and as the
batched hot path), and parse 1 MB buffers of small StreamItems, reporting the median
of several runs in microseconds per message.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable

from hubcli.protocol import JsonHubProtocol, MessagePackHubProtocol, StreamItem
from hubcli.protocol.base import HubProtocol

COUNT = 100_000


def _median_seconds(action: Callable[[], object], repeat: int) -> float:
    timings = []
    for _ in range(repeat):
        started = time.perf_counter()
        action()
        timings.append(time.perf_counter() - started)
    return statistics.median(timings)


def _frames(data: bytes, protocol: HubProtocol, frame_size: int) -> list[bytes]:
    # Cut at arbitrary byte offsets, as a transport would deliver them.
    return [data[i : i + frame_size] for i in range(0, len(data), frame_size)]


def bench(protocol: HubProtocol, repeat: int) -> list[tuple[str, float]]:
    items = [StreamItem("1", i) for i in range(COUNT)]
    encoded = protocol.encode_many(items)
    megabyte = _frames(encoded, protocol, 1 << 20)
    small_frames = _frames(encoded, protocol, 16 << 10)

    def parse_all(frames: list[bytes], batching: bool) -> None:
        parser = protocol.parser(batching=batching)
        for frame in frames:
            parser.feed(frame)

    results = [
        (
            "encode (one message a call)",
            _median_seconds(lambda: protocol.encode_many(items), repeat),
        ),
        (
            "parse 1 MB buffers, dataclasses",
            _median_seconds(lambda: parse_all(megabyte, False), repeat),
        ),
        ("parse 1 MB buffers, batched", _median_seconds(lambda: parse_all(megabyte, True), repeat)),
        (
            "parse 16 KiB frames, batched",
            _median_seconds(lambda: parse_all(small_frames, True), repeat),
        ),
    ]
    return [(name, seconds / COUNT * 1e6) for name, seconds in results]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()
    for protocol in (JsonHubProtocol(), MessagePackHubProtocol()):
        size = len(protocol.encode_many([StreamItem("1", i) for i in range(COUNT)]))
        print(f"{protocol.name}: {COUNT} StreamItems, {size / 1e6:.2f} MB, median of {args.repeat}")
        for name, micros in bench(protocol, args.repeat):
            print(f"  {name:<34} {micros:6.3f} us/message")


if __name__ == "__main__":
    main()
