"""Connection density: `hubcli bench -s echoIdle` holding many connections against one
`hubcli serve`, and the memory each connection costs on both sides (issue 15).

    .venv/bin/python bench/echo_idle_bench.py [--connections 10000] [--interval 10]
        [--duration 20] [--warmup 15] [--processes 1]

The file limit is raised for this process and its children (the server and the
generator each hold one descriptor per connection). Client memory per connection:
the generator's peak RSS (its report's hubcli/client/memory-mib) less a 10-connection
run's, over the difference in connections. Server: its highest RSS while the
connections are held (sampled from /proc every 0.2 s) less its RSS before, per
connection.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent


def _rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def _bench(url: str, connections: int, options: argparse.Namespace) -> dict[str, Any]:
    command = [sys.executable, "-m", "hubcli", "bench", url, "--json", "-s", "echoIdle"]
    command += ["-c", str(connections), "--interval", str(options.interval)]
    # The first seconds after thousands of connections are made answer late (a
    # transient, cause not found yet: the client waits in epoll, the server is
    # mostly idle; about 5 s at 3,000 connections, over 5 s at 10,000); the warm-up
    # keeps it out of the measured window.
    command += ["-d", str(options.duration), "--warmup", str(options.warmup)]
    command += ["-t", "websockets"]
    command += ["--processes", str(options.processes)]
    done = subprocess.run(
        command,
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(done.stderr)
    report: dict[str, Any] = json.loads(done.stdout)
    return report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--connections", type=int, default=10_000)
    parser.add_argument("--interval", type=float, default=10.0)
    parser.add_argument("--duration", type=float, default=20.0)
    parser.add_argument("--processes", type=int, default=1)
    parser.add_argument("--warmup", type=float, default=15.0)
    options = parser.parse_args()
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = options.connections * 2 + 1024
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(wanted, hard), hard))
    server = subprocess.Popen(
        [sys.executable, "-m", "hubcli", "serve", "--port", "0"],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert server.stdout is not None
    url = server.stdout.readline().strip()
    peak = {"rss": 0.0}
    stop = threading.Event()

    def sample() -> None:
        while not stop.is_set():
            peak["rss"] = max(peak["rss"], _rss_mib(server.pid))
            time.sleep(0.2)

    try:
        small = _bench(url, 10, options)
        idle = _rss_mib(server.pid)
        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        started = time.monotonic()
        large = _bench(url, options.connections, options)
        took = time.monotonic() - started
        stop.set()
        sampler.join()
    finally:
        server.send_signal(2)
        server.wait(30)
    n = options.connections
    reached = large["hubcli/connections/reached"]
    client = (large["hubcli/client/memory-mib"] - small["hubcli/client/memory-mib"]) / (n - 10)
    print(
        f"{reached} of {n} connections held ({large['hubcli/connections/lost']} lost), "
        f"{large['signalr/requests']} Echo calls in {options.duration:g} s "
        f"(p50 {large['signalr/latency/50']} ms, p99 {large['signalr/latency/99']} ms), "
        f"connect p50 {large['hubcli/connect/50']} ms, p99 {large['hubcli/connect/99']} ms; "
        f"the whole run {took:.0f} s"
    )
    print(
        f"client: peak {large['hubcli/client/memory-mib']:.0f} MiB, "
        f"{client * 1024:.1f} KiB a connection"
    )
    print(
        f"server: {idle:.0f} MiB idle, {peak['rss']:.0f} MiB at most, "
        f"{(peak['rss'] - idle) / n * 1024:.1f} KiB a connection"
    )
    print(f"errors: {large['hubcli/errors/by-kind']}")


if __name__ == "__main__":
    main()
