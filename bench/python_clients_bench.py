"""hubcli vs the Python SignalR clients pysignalr and signalrcore, whole process, one run.

    .venv/bin/python bench/python_clients_bench.py [--runs 5] [--items 1000000]
                                                   [--others-items N]

Starts one `hubcli serve --port 0`; every client receives the same server's bulk-encoded
streams (FastStream: small ints; FastObjects: ~100-byte objects) as JSON over
WebSockets, and makes one Echo invoke as its whole life (cold start). hubcli writes every
item to stdout (/dev/null); pysignalr (asyncio) and signalrcore (threads) run as small
scripts (bench/pysignalr_client.py, bench/signalrcore_client.py) that only count the
items and print the count, which is checked on every run (hubcli's output is counted
once, untimed, before the timed runs). Runs are interleaved, in rotating order, so drift
hits every client alike. Reported: medians of wall time, items/s and peak RSS
(/usr/bin/time -f %M), and how many times hubcli's rate (or, for the invoke, its time)
beats each library's.

pysignalr and signalrcore are not hubcli dependencies and must not become ones by
accident, so they live in their own venv, bench/.venv-others (or $HUBCLI_BENCH_OTHERS_VENV),
made with this interpreter on first run and given the pinned versions below.
--others-items measures the libraries at a smaller N: the table then compares rates
(items/s of the whole process, start-up included) and says so.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

# The hubcli side is set up as in the Node comparison (same directory).
from client_bench import compile_hubcli, hubcli_command, start_server

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"
PINNED = {"pysignalr": "1.3.3", "signalrcore": "1.0.2"}
# What the pinned libraries bring in, for the versions line.
REPORTED = [*PINNED, "websockets", "aiohttp", "orjson"]
TIMEOUT = 600.0


def others_python() -> Path:
    """The venv of pysignalr and signalrcore, made and pinned if it is not yet."""
    venv = Path(os.environ.get("HUBCLI_BENCH_OTHERS_VENV", BENCH / ".venv-others"))
    python = venv / "bin" / "python"
    if not python.exists():
        print(f"creating {venv} for pysignalr and signalrcore", file=sys.stderr)
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    if installed_versions(python, list(PINNED)) != PINNED:
        subprocess.run(
            [str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
            + [f"{name}=={version}" for name, version in PINNED.items()],
            check=True,
        )
        if installed_versions(python, list(PINNED)) != PINNED:
            raise RuntimeError(f"{venv} does not hold {PINNED}")
    return python


def installed_versions(python: Path, names: list[str]) -> dict[str, str]:
    script = (
        "import importlib.metadata as m, json, sys\n"
        "versions = {}\n"
        "for name in sys.argv[1:]:\n"
        "    try:\n"
        "        versions[name] = m.version(name)\n"
        "    except m.PackageNotFoundError:\n"
        "        pass\n"
        "print(json.dumps(versions))\n"
    )
    result = subprocess.run(
        [str(python), "-c", script, *names], capture_output=True, text=True, check=True
    )
    versions: dict[str, str] = json.loads(result.stdout)
    return versions


@dataclass
class Sample:
    wall: float
    rss_kb: int


def measure(command: Sequence[str], expect: str | None) -> Sample:
    """Wall time and peak RSS of one whole process.

    expect None: stdout goes to /dev/null (hubcli's million lines). Otherwise stdout is
    read (one line) and must be exactly expect, so a client that lost items fails here.
    """
    started = time.perf_counter()
    result = subprocess.run(
        ["/usr/bin/time", "-f", "%M", *command],
        stdout=subprocess.DEVNULL if expect is None else subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        timeout=TIMEOUT,
        check=False,
    )
    wall = time.perf_counter() - started
    if result.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed:\n{result.stderr}")
    if expect is not None and result.stdout.strip() != expect:
        raise RuntimeError(
            f"{' '.join(command)} printed {result.stdout.strip()!r}, expected {expect!r}"
            f"\n{result.stderr}"
        )
    return Sample(wall, int(result.stderr.strip().splitlines()[-1]))


def count_lines(command: Sequence[str]) -> int:
    """Lines a command writes to stdout, counted as they come (not kept)."""
    lines = 0
    with subprocess.Popen(command, stdout=subprocess.PIPE) as process:
        assert process.stdout is not None
        while chunk := process.stdout.read(1 << 20):
            lines += chunk.count(b"\n")
    if process.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} exited {process.returncode}")
    return lines


def load_average() -> str:
    return " ".join(f"{value:.2f}" for value in os.getloadavg())


@dataclass
class Client:
    name: str
    command: list[str]  # followed by: stream|invoke URL METHOD ARG...
    items: int  # how many items its stream scenarios ask for


def median(samples: list[Sample]) -> Sample:
    return Sample(
        statistics.median(s.wall for s in samples),
        int(statistics.median(s.rss_kb for s in samples)),
    )


def run_interleaved(
    clients: list[Client], runs: int, arguments: list[str], expect: dict[str, str | None]
) -> dict[str, Sample]:
    samples: dict[str, list[Sample]] = {client.name: [] for client in clients}
    for run in range(runs):
        shift = run % len(clients)  # rotate who goes first
        for client in clients[shift:] + clients[:shift]:
            command = [*client.command, *arguments]
            if client.name != "hubcli" and arguments[0] == "stream":
                command[-1] = str(client.items)
            samples[client.name].append(measure(command, expect[client.name]))
    return {name: median(taken) for name, taken in samples.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--items", type=int, default=1_000_000, help="items hubcli streams")
    parser.add_argument(
        "--others-items",
        type=int,
        default=None,
        help="items pysignalr and signalrcore stream (default: --items)",
    )
    options = parser.parse_args()
    n = options.items
    others_n = options.others_items or n
    python = str(others_python())
    versions = installed_versions(Path(python), REPORTED)
    clients = [
        Client("hubcli", hubcli_command(), n),
        Client("pysignalr", [python, str(BENCH / "pysignalr_client.py")], others_n),
        Client("signalrcore", [python, str(BENCH / "signalrcore_client.py")], others_n),
    ]
    compile_hubcli()
    server, url = start_server()
    try:
        library_versions = ", ".join(f"{name} {version}" for name, version in versions.items())
        print(f"python clients bench: {options.runs} runs each, interleaved; medians; server {url}")
        print(f"load average at start (2 cores: other load skews this): {load_average()}")
        venv = Path(python).parent.parent
        where = venv.relative_to(ROOT) if venv.is_relative_to(ROOT) else venv
        print(f"Python {sys.version.split()[0]}; {library_versions} (in {where})")
        if others_n != n:
            print(
                f"hubcli streams {n:,} items, pysignalr and signalrcore {others_n:,}: "
                "compare rates (items/s of the whole process, start-up included)"
            )
        # Every client's stream, once and untimed, must deliver every item.
        for method in ("FastStream", "FastObjects"):
            got = count_lines([*hubcli_command(), "stream", url, method, str(n)])
            if got != n:
                raise RuntimeError(f"hubcli stream {method} {n}: {got} lines")
        print(f"checked: hubcli printed all {n:,} items of each stream; the libraries' counts")
        print("are checked on every run (a run that lost an item fails the bench)")
        header = (
            f"{'':<13} {'items':>10} {'wall':>9} {'items/s':>11} {'peak RSS':>10}"
            "   hubcli's rate / its"
        )
        for method, label in (
            ("FastStream", "small ints"),
            ("FastObjects", "~100-byte objects"),
        ):
            print(f"\nstream {method} ({label}), JSON over WebSockets")
            print(header)
            expect: dict[str, str | None] = {
                client.name: None if client.name == "hubcli" else str(client.items)
                for client in clients
            }
            result = run_interleaved(clients, options.runs, ["stream", url, method, str(n)], expect)
            ours = n / result["hubcli"].wall
            for client in clients:
                sample = result[client.name]
                rate = client.items / sample.wall
                versus = "" if client.name == "hubcli" else f"   {ours / rate:9.2f}x"
                print(
                    f"{client.name:<13} {client.items:>10,} {sample.wall:7.3f} s "
                    f"{rate:>11,.0f} {sample.rss_kb / 1024:6.1f} MiB{versus}"
                )
        print("\ncold start: one process connects, invokes Echo(1), prints 1, exits")
        print(f"{'':<13} {'wall':>9} {'peak RSS':>10}   its time / hubcli's")
        expect = {client.name: "1" for client in clients}
        result = run_interleaved(clients, options.runs, ["invoke", url, "Echo", "1"], expect)
        for client in clients:
            sample = result[client.name]
            versus = (
                "" if client.name == "hubcli" else f"   {sample.wall / result['hubcli'].wall:9.2f}x"
            )
            print(f"{client.name:<13} {sample.wall:7.3f} s {sample.rss_kb / 1024:6.1f} MiB{versus}")
        plain = measure([*clients[2].command, "--plain-stop", "invoke", url, "Echo", "1"], "1")
        print(
            f"signalrcore's own stop() alone (no socket shutdown first), once: {plain.wall:.3f} s "
            "(it waits for the server's next keep-alive Ping; see bench/signalrcore_client.py)"
        )
        print(f"load average at end: {load_average()}")
    finally:
        server.terminate()
        server.wait()


if __name__ == "__main__":
    main()
