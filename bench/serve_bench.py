"""`hubcli serve` before and after the TCP front, side by side in one run.

    .venv/bin/python bench/serve_bench.py [--runs 5] [--base main] [--calls 3000]
        [--upload 200000] [--frames 30000]

"before" is `hubcli serve` from a temporary git worktree of `--base` (hypercorn
serving everything, WebSockets included); "after" is this checkout's (the front
serving WebSockets with the `websockets` sans-IO codec, the rest relayed to
hypercorn). Each runs as its own process; the clients are this checkout's. Rows:

- the official client on Node (bench/node_client.cjs, @microsoft/signalr from
  tests/conformance/node_modules): N sequential `Echo` calls, microseconds a call;
- `seq N | hubcli upload --json URL UploadSum`: whole-process wall time;
- the one-frame-per-item upload of bench/websocket_floor_bench.py (`--frames` small
  StreamItem frames, `UploadSummary`): wall time and the server process's CPU per
  received frame, beside a bare `websockets` sans-IO server that only counts the
  frames (the floor of the chosen stack).

Runs are interleaved (before, after, floor, before, ...); medians are reported.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

from client_bench import NODE_CLIENT, checkout_env, compile_hubcli, hubcli_command, node_modules
from roundtrip_bench import per_call
from websocket_floor_bench import (
    Sample,
    Server,
    item_record,
    masked_frame,
    receive_run,
    start_floor_server,
    start_hubcli,
)

ROOT = Path(__file__).resolve().parent.parent


def url_of(server: Server) -> str:
    return f"http://127.0.0.1:{server.port}{server.path}"


def upload_time(url: str, count: int) -> float:
    numbers = "".join(f"{n}\n" for n in range(1, count + 1)).encode()
    started = time.perf_counter()
    done = subprocess.run(
        [*hubcli_command(), "upload", "--json", url, "UploadSum"],
        input=numbers,
        capture_output=True,
        env=checkout_env(),
        check=False,
    )
    wall = time.perf_counter() - started
    expected = str(count * (count + 1) // 2)
    if done.returncode != 0 or done.stdout.decode().strip() != expected:
        raise RuntimeError(f"upload failed: {done.returncode} {done.stdout!r} {done.stderr!r}")
    return wall


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--base", default="main", help="the git revision 'before' runs")
    parser.add_argument("--calls", type=int, default=3000)
    parser.add_argument("--upload", type=int, default=200_000)
    parser.add_argument("--frames", type=int, default=30_000)
    options = parser.parse_args()
    compile_hubcli()
    modules = node_modules()
    frames = [masked_frame(item_record(index)) for index in range(options.frames)]
    with tempfile.TemporaryDirectory(prefix="serve-bench-") as temporary:
        base = Path(temporary) / "base"
        subprocess.run(
            ["git", "-C", str(ROOT), "worktree", "add", "--detach", str(base), options.base],
            check=True,
            capture_output=True,
        )
        servers: list[Server] = []
        try:
            servers = [
                start_hubcli("hubcli-before", base),
                start_hubcli("hubcli-after"),
                start_floor_server("websockets", 1),
            ]
            hubs = servers[:2]
            echo: dict[str, list[float]] = {s.stack: [] for s in hubs}
            upload: dict[str, list[float]] = {s.stack: [] for s in hubs}
            frame: dict[str, list[Sample]] = {s.stack: [] for s in servers}
            for _ in range(options.runs):
                for server in hubs:
                    if modules is not None:
                        command = [
                            "node",
                            str(NODE_CLIENT),
                            "roundtrip",
                            url_of(server),
                            "Echo",
                            str(options.calls),
                        ]
                        echo[server.stack].append(per_call(command, {"NODE_PATH": str(modules)})[0])
                    upload[server.stack].append(upload_time(url_of(server), options.upload))
                for server in servers:
                    frame[server.stack].append(receive_run(server, frames, 1))
        finally:
            for server in servers:
                server.process.terminate()
                server.process.wait()
            subprocess.run(
                ["git", "-C", str(ROOT), "worktree", "remove", "--force", str(base)],
                check=False,
                capture_output=True,
            )
    print(
        f"serve bench: {options.runs} runs, interleaved, medians; before = {options.base}, "
        "after = this checkout"
    )
    before, after = "hubcli-before", "hubcli-after"
    if modules is not None:
        b, a = statistics.median(echo[before]), statistics.median(echo[after])
        print(
            f"official Node client, {options.calls} Echo calls: "
            f"before {b:.1f} us a call, after {a:.1f} us ({b / a:.2f}x faster)"
        )
    b, a = statistics.median(upload[before]), statistics.median(upload[after])
    print(
        f"seq {options.upload} | hubcli upload --json UploadSum: "
        f"before {b:.3f} s, after {a:.3f} s ({b / a:.2f}x faster)"
    )
    print(f"one frame per item, {options.frames} frames (UploadSummary; floor: count only):")
    for stack, samples in frame.items():
        wall = statistics.median(s.wall for s in samples)
        cpu = statistics.median(s.cpu for s in samples)
        print(
            f"  {stack:<14} {wall:7.3f} s wall  {cpu / options.frames * 1e6:7.2f} us server CPU"
            " a frame"
        )
    floor = statistics.median(s.wall for s in frame["websockets"])
    whole = statistics.median(s.wall for s in frame[after])
    print(f"  after / websockets floor: {whole / floor:.2f}x wall")


if __name__ == "__main__":
    main()
