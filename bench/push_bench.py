"""A burst of server pushes: `hubcli listen` vs the official client's `on()`.

    .venv/bin/python bench/push_bench.py [--runs 5] [--events 1000000]

One `hubcli serve --port 0`; each client asks it for `Notify("Tick", N, 0)`, a burst
of N small Invocations written in bulk, and receives all of them over WebSockets:
`hubcli listen -n N --call 'Notify Tick N 0'` prints each as a JSON line to
/dev/null, the Node client (bench/node_client.cjs, @microsoft/signalr) counts them
in an `on("Tick")` handler. Whole processes, interleaved runs; medians of wall
time and peak RSS, and hubcli/node ratios, for JSON and MessagePack.
"""

from __future__ import annotations

import argparse

from client_bench import (
    NODE_CLIENT,
    Sample,
    compile_hubcli,
    hubcli_command,
    measure,
    median,
    node_modules,
    row,
    start_server,
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--events", type=int, default=1_000_000)
    options = parser.parse_args()
    modules = node_modules()
    compile_hubcli()
    server, url = start_server()
    n = str(options.events)
    hubcli = hubcli_command()
    node_env = {"NODE_PATH": str(modules)} if modules else {}
    print(f"push burst of {n} Invocations, {options.runs} runs each, medians; server {url}")
    print(f"{'':<34} {'hubcli listen':>20} | {'node on()':>20} | ratio hubcli/node")
    try:
        for protocol in ("json", "messagepack"):
            ours: list[Sample] = []
            theirs: list[Sample] = []
            listen = [*hubcli, "listen", "-p", protocol, "-n", n, "--call", f"Notify Tick {n} 0"]
            for _ in range(options.runs):
                ours.append(measure([*listen, url]))
                if modules:
                    env = {**node_env, "HUBCLI_BENCH_PROTOCOL": protocol}
                    theirs.append(
                        measure(["node", str(NODE_CLIENT), "listen", url, "Tick", n], env)
                    )
            print(row(f"{n} pushes, {protocol}", median(ours), median(theirs) if theirs else None))
    finally:
        server.terminate()
        server.wait()


if __name__ == "__main__":
    main()
