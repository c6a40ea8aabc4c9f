"""`hubcli bench -s echo -c 100` beside 100 bare trio-websocket connections in the
same closed loop, and the official client on Node, against one `hubcli serve`:
requests per CPU second of the generating process (issue 15).

    .venv/bin/python bench/bench_echo_bench.py [--runs 5] [--duration 5] [--connections 100]

Both generators: WebSockets, JSON, each connection invoking Echo(the current time)
and waiting for its Completion before the next; a warm-up second, then the measured
window, whose requests and process CPU (user + system) each reports itself. hubcli
is `hubcli bench --json` (its hubcli/client/cpu); the bare loop is this file run as
`--bare URL`; the official client is bench/node_echo_clients.cjs (skipped when no
node_modules holds @microsoft/signalr, see client_bench.py). Runs are interleaved
(hubcli, bare, official, hubcli, ...) so the machine's drift hits all alike;
reported are medians and hubcli's ratio to the others.
The server's CPU in each run is read from /proc to tell which side limits.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
WARMUP = 1.0


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


async def _bare(url: str, connections: int, duration: float) -> dict[str, float]:
    import httpx
    import orjson
    import trio
    import trio_websocket

    counts = {"requests": 0}
    window: dict[str, float] = {}

    async def one(http: httpx.AsyncClient, ready: trio.Event, go: trio.Event) -> None:
        negotiated = (await http.post(f"{url}/negotiate?negotiateVersion=1")).json()
        ws_url = "ws" + url[len("http") :] + "?id=" + negotiated["connectionToken"]
        async with trio_websocket.open_websocket_url(ws_url) as ws:
            await ws.send_message('{"protocol":"json","version":1}\x1e')
            await ws.get_message()
            ready.set()
            await go.wait()
            index = 0
            while trio.current_time() < window["end"]:
                index += 1
                invocation_id = str(index)
                invocation = {
                    "type": 1,
                    "invocationId": invocation_id,
                    "target": "Echo",
                    "arguments": [_now()],
                }
                await ws.send_message(orjson.dumps(invocation).decode() + "\x1e")
                done = False
                while not done:
                    message = await ws.get_message()
                    for record in str(message).split("\x1e")[:-1]:
                        value = orjson.loads(record)
                        if value["type"] == 3 and value["invocationId"] == invocation_id:
                            done = True
                if trio.current_time() >= window["start"]:
                    counts["requests"] += 1

    async with httpx.AsyncClient() as http, trio.open_nursery() as nursery:
        go = trio.Event()
        readies = []
        for _ in range(connections):
            ready = trio.Event()
            readies.append(ready)
            nursery.start_soon(one, http, ready, go)
        for ready in readies:
            await ready.wait()
        now = trio.current_time()
        window["start"], window["end"] = now + WARMUP, now + WARMUP + duration
        go.set()
        await trio.sleep_until(window["start"])
        cpu = time.process_time()
        await trio.sleep_until(window["end"])
        used = time.process_time() - cpu
    return {"requests": counts["requests"], "cpu": used}


def _server_cpu(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _run(command: list[str], server_pid: int) -> tuple[dict[str, Any], float]:
    environment = {**os.environ, "PYTHONPATH": str(ROOT)}
    before = _server_cpu(server_pid)
    # From the root: `python -m hubcli` imports the hubcli of the working directory
    # first, whatever PYTHONPATH says.
    done = subprocess.run(
        command, capture_output=True, text=True, env=environment, check=False, cwd=ROOT
    )
    server = _server_cpu(server_pid) - before
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed:\n{done.stderr}")
    result: dict[str, Any] = json.loads(done.stdout)
    return result, server


def main() -> None:
    if sys.argv[1:2] == ["--bare"]:
        import trio

        url, connections, duration = sys.argv[2], int(sys.argv[3]), float(sys.argv[4])
        print(json.dumps(trio.run(_bare, url, connections, duration)))
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--duration", type=float, default=5.0)
    parser.add_argument("--connections", type=int, default=100)
    options = parser.parse_args()
    server = subprocess.Popen(
        [sys.executable, "-m", "hubcli", "serve", "--port", "0"],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        cwd=ROOT,
    )
    assert server.stdout is not None
    url = server.stdout.readline().strip()
    c, d = str(options.connections), str(options.duration)
    hubcli_cmd = [sys.executable, "-m", "hubcli", "bench", url, "--json", "-t", "websockets"]
    hubcli_cmd += ["-c", c, "-d", d, "--warmup", str(WARMUP)]
    bare_cmd = [sys.executable, __file__, "--bare", url, c, d]
    sys.path.insert(0, str(HERE))
    from client_bench import node_modules

    modules = node_modules()
    node_cmd = ["node", str(HERE / "node_echo_clients.cjs"), url, c, str(WARMUP), d]
    results: dict[str, list[tuple[float, float, float]]] = {"hubcli": [], "bare": []}
    if modules is not None:
        results["official"] = []
    try:
        for run in range(options.runs):
            report, server_cpu = _run(hubcli_cmd, server.pid)
            requests, cpu = report["signalr/requests"], report["hubcli/client/cpu"]
            results["hubcli"].append((requests / cpu, requests / options.duration, server_cpu))
            bare, server_cpu = _run(bare_cmd, server.pid)
            results["bare"].append(
                (bare["requests"] / bare["cpu"], bare["requests"] / options.duration, server_cpu)
            )
            if modules is not None:
                os.environ["NODE_PATH"] = str(modules)
                node, server_cpu = _run(node_cmd, server.pid)
                results["official"].append(
                    (
                        node["requests"] / node["cpu"],
                        node["requests"] / options.duration,
                        server_cpu,
                    )
                )
            print(
                f"run {run + 1}: hubcli {results['hubcli'][-1][0]:,.0f}/CPU s, "
                f"bare {results['bare'][-1][0]:,.0f}/CPU s",
                file=sys.stderr,
            )
    finally:
        server.send_signal(2)
        server.wait(10)
    medians = {
        name: tuple(statistics.median(run[i] for run in runs) for i in range(3))
        for name, runs in results.items()
    }
    for name, (per_cpu, rps, server_cpu) in medians.items():
        print(
            f"{name:>8}: {per_cpu:>8,.0f} requests per client CPU second, "
            f"{rps:>7,.0f} requests/s, server CPU {server_cpu:.2f} s a run "
            f"(median of {options.runs})"
        )
    print(f"hubcli / bare: {medians['hubcli'][0] / medians['bare'][0]:.2f}x per CPU second")
    if "official" in medians:
        ratio = medians["hubcli"][0] / medians["official"][0]
        print(f"hubcli / official: {ratio:.2f}x per CPU second")


if __name__ == "__main__":
    main()
