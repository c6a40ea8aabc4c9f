"""This checkout's hubcli against another's (a baseline), whole process, side by side.

    .venv/bin/python bench/checkouts_bench.py BASELINE [--runs 7] [--items 1000000]

BASELINE is a directory holding another version's `hubcli` package, e.g. main's:
    git archive main hubcli | tar -x -C /tmp/base

Both run against one `hubcli serve --port 0` (this checkout's), stdout to /dev/null
(the path a pipe takes), interleaved run by run so the machine's drift hits both
alike. Reported: medians of wall time and peak RSS, and the ratio this/baseline.
"""

from __future__ import annotations

import argparse
import compileall
import sys
from pathlib import Path

from client_bench import Sample, checkout_env, measure, median, start_server


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("baseline", type=Path)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--items", type=int, default=1_000_000)
    options = parser.parse_args()
    ours_root = Path(checkout_env()["PYTHONPATH"])
    baseline = options.baseline.resolve()
    for root in (ours_root, baseline):
        # As pip would leave them: compiled once, not on every start.
        if not compileall.compile_dir(str(root / "hubcli"), quiet=1):
            raise RuntimeError(f"cannot byte-compile {root / 'hubcli'}")
    server, url = start_server()
    n = str(options.items)
    hubcli = [sys.executable, "-m", "hubcli"]
    scenarios = [
        (f"stream {n} ints, JSON", ["stream", url, "FastStream", n]),
        (f"stream {n} ~100 B objects, JSON", ["stream", url, "FastObjects", n]),
        (f"stream {n} ints, MessagePack", ["stream", "-p", "messagepack", url, "FastStream", n]),
        ("cold start: invoke Echo 1", ["invoke", url, "Echo", "1"]),
    ]
    print(f"checkouts bench: {options.runs} runs each, medians; server {url}")
    print(f"{'':<36} {'this checkout':>20} | {'baseline':>20} | this/baseline")
    try:
        for name, args in scenarios:
            ours: list[Sample] = []
            theirs: list[Sample] = []
            for _ in range(options.runs):
                ours.append(measure([*hubcli, *args], {"PYTHONPATH": str(ours_root)}))
                theirs.append(measure([*hubcli, *args], {"PYTHONPATH": str(baseline)}))
            a, b = median(ours), median(theirs)
            print(
                f"{name:<36} {a.wall:7.3f} s {a.rss_kb / 1024:6.1f} MiB | "
                f"{b.wall:7.3f} s {b.rss_kb / 1024:6.1f} MiB | "
                f"{a.wall / b.wall:5.3f}x time {a.rss_kb / b.rss_kb:5.2f}x RSS"
            )
    finally:
        server.terminate()
        server.wait()


if __name__ == "__main__":
    main()
