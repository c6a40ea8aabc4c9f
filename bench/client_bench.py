"""hubcli vs the official JS client on Node, whole process, side by side, one run.

    .venv/bin/python bench/client_bench.py [--runs 5] [--items 1000000]

Starts one `hubcli serve --port 0`; every client receives the same server's bulk-encoded
streams (FastStream: small ints; FastObjects: ~100-byte objects) over WebSockets. hubcli
writes every item to stdout (/dev/null); the Node client (bench/node_client.cjs, on the
@microsoft/signalr from tests/conformance/node_modules or $HUBCLI_BENCH_NODE_MODULES)
only counts them. Reported: medians of wall time and peak RSS, and hubcli/node ratios.
A bare trio-websocket reader that only counts records shows what the server delivers
(both streams), so neither client is measured against a slow server.

hubcli is measured as an install leaves it: `pip install` byte-compiles every module,
but an editable install under PYTHONDONTWRITEBYTECODE=1 (as on CI machines) never
does, and would compile hubcli's ~80 modules from source on every start. So the
bench byte-compiles hubcli first (`compileall`, into its __pycache__ folders).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
NODE_CLIENT = ROOT / "bench" / "node_client.cjs"


def checkout_env() -> dict[str, str]:
    """The environment with this checkout's hubcli first on the import path, wherever
    the virtual environment's editable install points."""
    return {**os.environ, "PYTHONPATH": str(ROOT)}


def hubcli_command() -> list[str]:
    script = Path(sys.executable).with_name("hubcli")
    return [str(script)] if script.exists() else [sys.executable, "-m", "hubcli"]


def node_modules() -> Path | None:
    for candidate in (
        os.environ.get("HUBCLI_BENCH_NODE_MODULES"),
        ROOT / "tests" / "conformance" / "node_modules",
    ):
        if candidate and (Path(candidate) / "@microsoft" / "signalr").is_dir():
            return Path(candidate)
    return None


@dataclass
class Sample:
    wall: float
    rss_kb: int


def measure(command: Sequence[str], env: dict[str, str] | None = None) -> Sample:
    """Wall time and peak RSS of one whole process, stdout to /dev/null."""
    environment = {**checkout_env(), **(env or {})}
    started = time.perf_counter()
    result = subprocess.run(
        ["/usr/bin/time", "-f", "%M", *command],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        env=environment,
        # `python -m` puts its working directory ahead of PYTHONPATH: run from the
        # checkout PYTHONPATH names, or another checkout's code would be measured.
        cwd=environment["PYTHONPATH"],
        check=False,
    )
    wall = time.perf_counter() - started
    if result.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed:\n{result.stderr}")
    return Sample(wall, int(result.stderr.strip().splitlines()[-1]))


def compile_hubcli() -> None:
    """Byte-compile hubcli's modules where they are imported from, as pip would."""
    import compileall

    package = ROOT / "hubcli"
    if not compileall.compile_dir(str(package), quiet=1):
        raise RuntimeError(f"cannot byte-compile {package}")


def start_server() -> tuple[subprocess.Popen[str], str]:
    process = subprocess.Popen(
        [*hubcli_command(), "serve", "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env=checkout_env(),
    )
    assert process.stdout is not None
    return process, process.stdout.readline().strip()


RAW_READER = """
import sys, trio, trio_websocket
async def main(url, method, count):
    async with trio_websocket.open_websocket_url(url, receive_buffer_size=256 * 1024) as ws:
        await ws.send_message('{"protocol":"json","version":1}\\x1e')
        await ws.get_message()
        await ws.send_message(
            '{"type":4,"invocationId":"0","target":"%s","arguments":[%s]}\\x1e' % (method, count))
        records = 0
        while True:
            message = await ws.get_message()
            records += message.count("\\x1e")
            if '"type":3' in message:
                break
    print(records - 1)
trio.run(main, *sys.argv[1:])
"""


def median(samples: list[Sample]) -> Sample:
    return Sample(
        statistics.median(s.wall for s in samples),
        int(statistics.median(s.rss_kb for s in samples)),
    )


def row(name: str, ours: Sample, theirs: Sample | None) -> str:
    if theirs is None:
        return f"{name:<34} {ours.wall:7.3f} s {ours.rss_kb / 1024:6.1f} MiB"
    return (
        f"{name:<34} {ours.wall:7.3f} s {ours.rss_kb / 1024:6.1f} MiB | "
        f"{theirs.wall:7.3f} s {theirs.rss_kb / 1024:6.1f} MiB | "
        f"{ours.wall / theirs.wall:5.2f}x time {ours.rss_kb / theirs.rss_kb:5.2f}x RSS"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--items", type=int, default=1_000_000)
    options = parser.parse_args()
    modules = node_modules()
    compile_hubcli()
    server, url = start_server()
    ws_url = "ws" + url[len("http") :]
    hubcli = hubcli_command()
    n = str(options.items)
    node = ["node", str(NODE_CLIENT)]
    node_env = {"NODE_PATH": str(modules)} if modules else {}
    scenarios: list[tuple[str, list[str], list[str], dict[str, str]]] = [
        (
            f"stream {n} ints, JSON",
            [*hubcli, "stream", url, "FastStream", n],
            [*node, "stream", url, "FastStream", n],
            {},
        ),
        (
            f"stream {n} ~100 B objects, JSON",
            [*hubcli, "stream", url, "FastObjects", n],
            [*node, "stream", url, "FastObjects", n],
            {},
        ),
        (
            f"stream {n} ints, MessagePack",
            [*hubcli, "stream", "-p", "messagepack", url, "FastStream", n],
            [*node, "stream", url, "FastStream", n],
            {"HUBCLI_BENCH_PROTOCOL": "messagepack"},
        ),
        (
            "cold start: invoke Echo 1",
            [*hubcli, "invoke", url, "Echo", "1"],
            [*node, "invoke", url, "Echo", "1"],
            {},
        ),
    ]
    print(f"hubcli bench: {options.runs} runs each, medians; server {url}")
    print(f"{'':<34} {'hubcli':>20} | {'node + @microsoft/signalr':>20} | ratio hubcli/node")
    try:
        raw = {
            method: [
                measure([sys.executable, "-c", RAW_READER, ws_url, method, n])
                for _ in range(options.runs)
            ]
            for method in ("FastStream", "FastObjects")
        }
        for name, ours_command, node_command, env in scenarios:
            ours: list[Sample] = []
            theirs: list[Sample] = []
            for _ in range(options.runs):  # interleaved, so drift hits both alike
                ours.append(measure(ours_command, env))
                if modules:
                    theirs.append(measure(node_command, {**node_env, **env}))
            print(row(name, median(ours), median(theirs) if theirs else None))
        print(row(f"bare reader, {n} ints", median(raw["FastStream"]), None))
        print(row(f"bare reader, {n} objects", median(raw["FastObjects"]), None))
        small = median([measure([*hubcli, "stream", url, "FastStream", "20000"]) for _ in range(3)])
        large = median(
            [measure([*hubcli, "stream", url, "FastStream", "2000000"]) for _ in range(3)]
        )
        print(
            f"peak RSS of hubcli stream: 20k items {small.rss_kb / 1024:.1f} MiB, "
            f"2M items {large.rss_kb / 1024:.1f} MiB ({large.rss_kb / small.rss_kb:.2f}x)"
        )
    finally:
        server.terminate()
        server.wait()


if __name__ == "__main__":
    main()
