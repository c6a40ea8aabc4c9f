"""A listen that lives through a network failing every few seconds, for minutes.

    .venv/bin/python bench/soak_bench.py [--minutes 5] [--drop-every 3] [--tick-ms 20]

One `hubcli serve --chaos --allow-stateful-reconnect --fault drop-transport=S`: the
hub cuts every connection's TCP connection each S seconds. Two listeners run
side by side, each asking the hub (`--call Notify Tick N MS`) for a tick every MS
milliseconds:

- `listen --reconnect-delays forever`: each cut ends the connection; hubcli
  negotiates a new one and runs its --call again (the ticks start over);
- `listen --stateful-reconnect --reconnect-delays forever`: each cut is resumed on
  the same connection; the ticks must arrive without a gap or a repeat.

Every 30 s, and at the start and the end, the listeners' resident memory (VmRSS)
and open file descriptors are read from /proc. Reported per listener: events,
reconnects or resumes, the RSS and fd counts over time, and (stateful) whether
the ticks were exactly 0, 1, 2, ... No growth is the target.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from client_bench import checkout_env, compile_hubcli, hubcli_command


@dataclass
class Listener:
    name: str
    process: subprocess.Popen[bytes]
    events: int = 0
    gaps: int = 0
    last_tick: int = -1
    reconnects: int = 0
    samples: list[tuple[float, int, int]] = field(default_factory=list)


def rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def open_fds(pid: int) -> int:
    return len(os.listdir(f"/proc/{pid}/fd"))


def count(listener: Listener, stdout: IO[bytes], exact: bool) -> None:
    """Read the listener's -J records (on a thread: the bench is a plain script
    watching subprocesses, not part of hubcli)."""
    for line in stdout:
        record = json.loads(line)
        if record["type"] == "event":
            tick = record["arguments"][0]
            listener.events += 1
            if exact and tick != listener.last_tick + 1:
                listener.gaps += 1
            listener.last_tick = tick
        elif record["type"] == "reconnected":
            listener.reconnects += 1
            listener.last_tick = -1  # a new connection: the --call starts over


def tally(log: IO[str], counts: dict[str, int]) -> None:
    """Count the server's -v lines that name a cut or a resume."""
    for line in log:
        for key in counts:
            if key in line:
                counts[key] += 1


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=5.0)
    parser.add_argument("--drop-every", type=float, default=3.0)
    parser.add_argument("--tick-ms", type=int, default=20)
    options = parser.parse_args()
    compile_hubcli()
    hubcli = hubcli_command()
    env = checkout_env()
    server = subprocess.Popen(
        [
            *hubcli, "serve", "--port", "0", "--chaos", "--allow-stateful-reconnect",
            "--fault", f"drop-transport={options.drop_every:g}", "-v",
        ],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
    )  # fmt: skip
    assert server.stdout is not None
    assert server.stderr is not None
    url = server.stdout.readline().strip()
    cuts = {"transport dropped": 0, "resumed": 0}
    watcher = threading.Thread(target=tally, args=(server.stderr, cuts))
    watcher.start()
    call = f"Notify Tick 1000000000 {options.tick_ms}"
    common = ["listen", "-J", "--reconnect-delays", "forever", url, "Tick", "--call", call]
    listeners: list[Listener] = []
    readers: list[threading.Thread] = []
    for name, extra in (("reconnect", []), ("stateful", ["--stateful-reconnect"])):
        process = subprocess.Popen(
            [*hubcli, *common[:1], *extra, *common[1:]],
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env,
        )  # fmt: skip
        listener = Listener(name, process)
        listeners.append(listener)
        assert process.stdout is not None
        reader = threading.Thread(target=count, args=(listener, process.stdout, bool(extra)))
        reader.start()
        readers.append(reader)
    print(
        f"soak: {options.minutes:g} min, transport cut every {options.drop_every:g} s, "
        f"a tick every {options.tick_ms} ms; server {url}"
    )
    start = time.monotonic()
    end = start + options.minutes * 60
    next_sample = start + 5  # after start-up
    try:
        while True:
            now = time.monotonic()
            if now >= next_sample or now >= end:
                for listener in listeners:
                    pid = listener.process.pid
                    listener.samples.append((now - start, rss_kb(pid), open_fds(pid)))
                next_sample = now + 30
            if now >= end:
                break
            time.sleep(min(1.0, end - now))
    finally:
        for listener in listeners:
            listener.process.terminate()
            listener.process.wait()
        for reader in readers:
            reader.join()
        server.terminate()
        server.wait()
        watcher.join()
    print(f"server: {cuts['transport dropped']} transports cut, {cuts['resumed']} resumed")
    for listener in listeners:
        first, last = listener.samples[0], listener.samples[-1]
        trend = " ".join(f"{rss / 1024:.1f}/{fds}" for _, rss, fds in listener.samples)
        print(
            f"{listener.name:<10} events {listener.events:>7}  "
            f"reconnects {listener.reconnects:>4}  "
            f"RSS {first[1] / 1024:5.1f} -> {last[1] / 1024:5.1f} MiB  "
            f"fds {first[2]} -> {last[2]}"
            + (f"  gaps/repeats {listener.gaps}" if listener.name == "stateful" else "")
        )
        print(f"{'':<10} every 30 s (MiB/fds): {trend}")


if __name__ == "__main__":
    main()
