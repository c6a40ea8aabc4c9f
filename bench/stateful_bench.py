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
hubcli rather than the neighbours. Each row also gives the CPU seconds of each
side (medians; the server's from /proc, Linux only): a stall shows as wall time
well above the client's CPU, a per-frame cost as CPU above the plain run's.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
from collections.abc import Sequence
from pathlib import Path

from client_bench import Sample, checkout_env, compile_hubcli, hubcli_command, measure, median


def process_cpu(pid: int) -> float:
    """CPU seconds (user + system) of a running process so far; 0 without /proc."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def measure_both(command: Sequence[str], server: int) -> tuple[Sample, float, float]:
    """One run: its sample, the client's CPU seconds and the server's."""
    client_before, server_before = children_cpu(), process_cpu(server)
    sample = measure(command)
    return sample, children_cpu() - client_before, process_cpu(server) - server_before


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
            plain: list[tuple[Sample, float, float]] = []
            stateful: list[tuple[Sample, float, float]] = []
            for _ in range(options.runs):
                plain.append(measure_both([*hubcli, "stream", url, method, n], server.pid))
                stateful.append(
                    measure_both(
                        [*hubcli, "stream", "--stateful-reconnect", url, method, n], server.pid
                    )
                )
            without, with_it = (median([run[0] for run in runs]) for runs in (plain, stateful))
            cpu = [
                statistics.median(run[1] if side == "client" else run[2] for run in runs)
                for runs in (plain, stateful)
                for side in ("client", "server")
            ]
            print(
                f"{method:<12} without {without.wall:6.3f} s {without.rss_kb / 1024:5.1f} MiB | "
                f"with {with_it.wall:6.3f} s {with_it.rss_kb / 1024:5.1f} MiB | "
                f"{with_it.wall / without.wall:4.2f}x time | CPU client/server "
                f"without {cpu[0]:.2f}/{cpu[1]:.2f} s, with {cpu[2]:.2f}/{cpu[3]:.2f} s"
            )
    finally:
        server.terminate()
        server.wait()


if __name__ == "__main__":
    main()
