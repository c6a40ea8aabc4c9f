"""Stateful reconnect's price: a 1M-item stream with and without it, side by side.

    .venv/bin/python bench/stateful_bench.py [--runs 5] [--items 1000000]

One `hubcli serve --port 0 --allow-stateful-reconnect` (the real server's buffer
default, 100,000 bytes: it holds back once that much is unacknowledged);
`hubcli stream URL FastStream N > /dev/null` with and without
`--stateful-reconnect`, whole processes, interleaved runs, medians and the ratio.
The target: no more than 1.2x. Both ints (FastStream) and ~100-byte objects
(FastObjects) are measured.

The window makes this a latency benchmark: 100,000 bytes in flight is about 2.5 ms
of the client's work on objects, so on a shared machine every time the scheduler
keeps the server or the client waiting shows as a stall. There, run it under
`nice -n -15` (as root): both sides get the same priority, and the figures measure
hubcli rather than the neighbours.
"""

from __future__ import annotations

import argparse
import subprocess

from client_bench import Sample, checkout_env, compile_hubcli, hubcli_command, measure, median


def start_server() -> tuple[subprocess.Popen[str], str]:
    process = subprocess.Popen(
        [*hubcli_command(), "serve", "--port", "0", "--allow-stateful-reconnect"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env=checkout_env(),
    )
    assert process.stdout is not None
    return process, process.stdout.readline().strip()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--items", type=int, default=1_000_000)
    parser.add_argument("--methods", default="FastStream,FastObjects")
    options = parser.parse_args()
    compile_hubcli()
    server, url = start_server()
    hubcli = hubcli_command()
    n = str(options.items)
    print(f"stream {n} items, {options.runs} runs each, medians; server {url}")
    try:
        for method in options.methods.split(","):
            plain: list[Sample] = []
            stateful: list[Sample] = []
            for _ in range(options.runs):
                plain.append(measure([*hubcli, "stream", url, method, n]))
                stateful.append(
                    measure([*hubcli, "stream", "--stateful-reconnect", url, method, n])
                )
            without, with_it = median(plain), median(stateful)
            print(
                f"{method:<12} without {without.wall:6.3f} s {without.rss_kb / 1024:5.1f} MiB | "
                f"with {with_it.wall:6.3f} s {with_it.rss_kb / 1024:5.1f} MiB | "
                f"{with_it.wall / without.wall:4.2f}x time"
            )
    finally:
        server.terminate()
        server.wait()


if __name__ == "__main__":
    main()
