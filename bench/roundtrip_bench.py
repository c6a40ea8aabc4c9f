"""Round trip of one call on an open connection: hubcli's library, a bare
trio-websocket exchange of the same frames, and the official client on Node.

    .venv/bin/python bench/roundtrip_bench.py [--runs 5] [--calls 3000]

One `hubcli serve --port 0`, WebSockets, JSON; each client makes N sequential
`Echo(i)` calls after a warm-up and reports microseconds a call, timed inside its
process. Runs are interleaved (hubcli, bare, node, hubcli, ...) so the machine's
drift hits all alike; medians are reported, with hubcli's ratio to each.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
from pathlib import Path

from client_bench import NODE_CLIENT, compile_hubcli, node_modules, start_server

HERE = Path(__file__).resolve().parent


def per_call(command: list[str], env: dict[str, str] | None = None) -> tuple[float, float]:
    """(wall, client CPU) microseconds a call, as the client process reports them."""
    # The hubcli of this checkout, wherever the environment's editable install points.
    environment = {**os.environ, "PYTHONPATH": str(HERE.parent), **(env or {})}
    done = subprocess.run(command, capture_output=True, text=True, env=environment, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed:\n{done.stderr}")
    wall, cpu = done.stdout.split()
    return float(wall), float(cpu)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--calls", type=int, default=3000)
    options = parser.parse_args()
    compile_hubcli()
    server, url = start_server()
    calls = str(options.calls)
    clients = {
        "hubcli library": (
            [sys.executable, str(HERE / "roundtrip_clients.py"), "hubcli", url, calls],
            None,
        ),
        "bare trio-websocket": (
            [sys.executable, str(HERE / "roundtrip_clients.py"), "bare", url, calls],
            None,
        ),
    }
    modules = node_modules()
    if modules:
        clients["official client (Node)"] = (
            ["node", str(NODE_CLIENT), "roundtrip", url, "Echo", calls],
            {"NODE_PATH": str(modules)},
        )
    results: dict[str, list[tuple[float, float]]] = {name: [] for name in clients}
    try:
        for _ in range(options.runs):
            for name, (command, env) in clients.items():
                results[name].append(per_call(command, env))
    finally:
        server.terminate()
        server.wait()
    walls = {name: statistics.median(w for w, _ in values) for name, values in results.items()}
    cpus = {name: statistics.median(c for _, c in values) for name, values in results.items()}
    ours, our_cpu = walls["hubcli library"], cpus["hubcli library"]
    print(f"round trip, {calls} sequential Echo calls, {options.runs} runs, medians; {url}")
    print(
        f"{'':<26} {'wall a call':>12} {'hubcli/this':>12} {'client CPU':>12} {'hubcli/this':>12}"
    )
    for name in clients:
        print(
            f"{name:<26} {walls[name]:9.1f} us {ours / walls[name]:11.2f}x "
            f"{cpus[name]:9.1f} us {our_cpu / cpus[name]:11.2f}x"
        )
    for name, values in results.items():
        print(f"  {name}: runs (wall us) {', '.join(f'{w:.0f}' for w, _ in values)}")


if __name__ == "__main__":
    main()
