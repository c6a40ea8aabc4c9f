"""`hubcli serve` beside a Node hub and aiosignalr's server, side by side in one run.

    .venv/bin/python bench/server_bench.py [--rows 1,3] [--hubs hubcli,node,aiosignalr,floor]
        [--repeat 5] [--connections 10000] [--json-out FILE]
        [--hubcli-src DIR] [--hubcli-python PATH] [--client-src DIR] [--base-src DIR]
        [--interleave BLOCK]

The servers (issue 13), each on 127.0.0.1, WebSockets and JSON:
- hubcli: `hubcli serve --port 0`, from --hubcli-src (a checkout; default this one) run
  by --hubcli-python (default this interpreter), so another branch's server can be
  measured against the same clients: `--hubcli-src /work/wt-ws13`;
- node: bench/node_hub.cjs, an independent hub on the official @microsoft/signalr
  package's JSON codecs and the `ws` package (bench/package.json; `npm ci` in bench/
  on first use);
- aiosignalr: aiosignalr 0.1.1's own server (bench/aiosignalr_hub.py), in its own venv
  bench/.venv-aiosignalr (or $HUBCLI_BENCH_AIOSIGNALR_VENV), made on first use;
- base: with --base-src DIR, `hubcli serve` from that other checkout (say main) run
  beside --hubcli-src's, so a change is measured against its base in one run
  (`--hubs hubcli,base,node --base-src /work/main`);
- floor: bench/floor_hub.py, the bare floor of hubcli serve's WebSocket stack (trio's
  listener, 64 KiB reads, the `websockets` sans-IO protocol) that only counts the
  frames of row 1's upload and answers with the sum their count implies, and answers
  an Echo invocation at once (rows 3 and 4: an invoke's floor on this stack). The
  issue's target for row 1 is hubcli within 1.25x of it, measured beside it.
The first three host the same methods as `hubcli serve`: Echo, UploadSum, UploadSummary, Broadcast.

Rows (every result is checked: a sum, a checksum, a count):
 1 the official JS client uploads 200k ints to UploadSum through a Subject, one frame an
   item (seconds from invoke to result, in the Node process);
 2 `seq 200000 | hubcli upload --json URL UploadSum` (batched frames; whole process);
 3 3000 sequential Echo invokes with the hubcli library (us a call; bench/roundtrip_clients.py);
 4 the same with the official JS client (bench/node_client.cjs roundtrip);
 5 `seq 1000000 | hubcli upload URL UploadSummary` (whole process);
 6 one Broadcast reaching 1,000 connected clients: ms from the invoke until the last has
   it (median of 5 in one client process, after a warm-up; bench/node_raw_clients.cjs);
 7 --connections (10,000) idle WebSocket connections held, each negotiated and
   handshaken: the server's RSS growth / N (KiB a connection), on a fresh server each
   time, sampled once all are up and 1 s has passed. The open file limit is raised to
   its hard limit here (both sides need N descriptors).
Every sample also records the server's CPU seconds over it (/proc utime + stime; steadier
than wall time on a loaded machine); the table shows them for the upload rows 1, 2, 5.
The clients are the same for every server: hubcli from --client-src (default this
checkout), the official client 10.0.11 from bench/node_modules. Rows 6 and 7 use bare
connections (negotiate, `ws`, the JSON handshake) from one Node process, not the
official client: aiosignalr sends JSON in binary frames, which the official client's
handshake cannot read, so any row that needs the official client is n/a there. A row a
server cannot run is tried once and says n/a with the client's error.

Runs are interleaved: each repeat runs every row on every hub, the hub order rotating,
so drift hits all alike. With --interleave BLOCK, rows 3 and 4 go further: one client
process calls every hub, BLOCK calls on each in turn, and a hub's sample is the median
of its blocks (a slow spell of the host falls on all hubs alike). Reported: medians,
as a markdown table on stdout (and the hubcli / Node ratio), and every sample in a
JSON file (--json-out). The machine is
shared and has 2 cores: the load average is printed at start and end; read the figures
as noisy.
"""

from __future__ import annotations

import argparse
import compileall
import hashlib
import json
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"
NODE_MODULES = BENCH / "node_modules"
AIOSIGNALR = "0.1.1"
TIMEOUT = 900.0
HUB_NAMES = {
    "hubcli": "hubcli serve",
    "base": "hubcli serve (base)",
    "node": "Node hub",
    "aiosignalr": "aiosignalr",
    "floor": "websockets floor",
}
# The floor (bench/floor_hub.py) only counts an upload's frames: row 1 alone.
FLOOR_ROWS = (1, 3, 4)
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


class NotApplicable(Exception):
    """This server cannot run this row; the message says why."""


# ---------------------------------------------------------------- set-up of the peers


def ensure_node_modules() -> None:
    if (NODE_MODULES / "@microsoft" / "signalr").is_dir() and (NODE_MODULES / "ws").is_dir():
        return
    print("installing bench/node_modules (npm ci)", file=sys.stderr)
    subprocess.run(["npm", "ci", "--no-audit", "--no-fund"], cwd=BENCH, check=True)


def aiosignalr_python() -> Path:
    """The venv of aiosignalr's server, made and pinned if it is not yet (as
    bench/python_clients_bench.py makes the Python clients' venv)."""
    venv = Path(os.environ.get("HUBCLI_BENCH_AIOSIGNALR_VENV", BENCH / ".venv-aiosignalr"))
    python = venv / "bin" / "python"
    if not python.exists():
        print(f"creating {venv} for aiosignalr {AIOSIGNALR}", file=sys.stderr)
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    if package_version(python, "aiosignalr") != AIOSIGNALR:
        subprocess.run(
            [
                str(python),
                *("-m", "pip", "install", "--quiet", "--disable-pip-version-check"),
                f"aiosignalr=={AIOSIGNALR}",
            ],
            check=True,
        )
    return python


def package_version(python: Path, name: str) -> str | None:
    script = (
        "import importlib.metadata as m, sys\n"
        "try: print(m.version(sys.argv[1]))\n"
        "except m.PackageNotFoundError: pass\n"
    )
    result = subprocess.run(
        [str(python), "-c", script, name], capture_output=True, text=True, check=True
    )
    return result.stdout.strip() or None


def node_package_version(name: str) -> str:
    manifest = json.loads((NODE_MODULES / name / "package.json").read_text())
    return str(manifest["version"])


def describe_checkout(src: Path) -> str:
    result = subprocess.run(
        ["git", "-C", str(src), "describe", "--always", "--dirty"],
        capture_output=True,
        text=True,
        check=False,
    )
    head = result.stdout.strip() or "not a git checkout"
    return f"{src} ({head})"


def byte_compile(python: str, src: Path) -> None:
    """As pip would on install: an editable checkout under PYTHONDONTWRITEBYTECODE
    would compile hubcli from source on every start (see bench/client_bench.py)."""
    if Path(python).resolve() == Path(sys.executable).resolve():
        if not compileall.compile_dir(str(src / "hubcli"), quiet=1):
            raise RuntimeError(f"cannot byte-compile {src / 'hubcli'}")
        return
    subprocess.run([python, "-m", "compileall", "-q", str(src / "hubcli")], check=True)


# ---------------------------------------------------------------- servers


def proc_rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError(f"no VmRSS for {pid}")


def proc_cpu_seconds(pid: int) -> float:
    stat = Path(f"/proc/{pid}/stat").read_text()
    fields = stat[stat.rindex(")") + 2 :].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS  # utime, stime


@dataclass
class Server:
    name: str
    command: list[str]
    env: dict[str, str]
    process: subprocess.Popen[str] | None = None
    url: str = ""
    log: Any = None

    def start(self) -> None:
        # The server's stderr, open as long as the server runs (stop() closes it): read
        # only to say why a server died.
        self.log = tempfile.TemporaryFile(mode="w+")  # noqa: SIM115
        self.process = subprocess.Popen(
            self.command,
            stdout=subprocess.PIPE,
            stderr=self.log,
            text=True,
            env=self.env,
        )
        assert self.process.stdout is not None
        self.url = self.process.stdout.readline().strip()
        if not self.url.startswith("http"):
            self.stop()
            raise RuntimeError(f"{self.name} did not start:\n{self.log_tail()}")

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def log_tail(self) -> str:
        if self.log is None:
            return ""
        self.log.seek(0)
        return "".join(self.log.readlines()[-5:])

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if self.log is not None:
            self.log.close()
            self.log = None


@dataclass
class Setup:
    hubcli_python: str
    hubcli_src: Path
    base_src: Path | None
    client_src: Path
    aiosignalr_python: Path | None
    items: int
    large_items: int
    invokes: int
    broadcast_clients: int
    connections: int
    inputs: Path  # a folder for the stdin files of the upload rows
    interleave: int = 0  # rows 3 and 4: calls a hub gets in turn in one client (0: off)

    def server(self, hub: str) -> Server:
        if hub in ("hubcli", "base"):
            src = self.hubcli_src if hub == "hubcli" else self.base_src
            assert src is not None
            return Server(
                hub,
                [self.hubcli_python, "-m", "hubcli", "serve", "--port", "0"],
                {**os.environ, "PYTHONPATH": str(src)},
            )
        if hub == "node":
            return Server(
                hub,
                ["node", str(BENCH / "node_hub.cjs")],
                {**os.environ, "NODE_PATH": str(NODE_MODULES)},
            )
        if hub == "floor":
            return Server(
                hub,
                [self.hubcli_python, str(BENCH / "floor_hub.py")],
                {**os.environ, "PYTHONPATH": str(self.hubcli_src)},
            )
        assert self.aiosignalr_python is not None
        return Server(
            hub, [str(self.aiosignalr_python), str(BENCH / "aiosignalr_hub.py")], dict(os.environ)
        )

    def client_env(self) -> dict[str, str]:
        return {**os.environ, "PYTHONPATH": str(self.client_src), "NODE_PATH": str(NODE_MODULES)}

    def hubcli(self) -> list[str]:
        return [sys.executable, "-m", "hubcli"]

    def seq(self, count: int) -> Path:
        """A file holding `seq count`'s output, read as stdin (so seq's own time is
        not in the row)."""
        path = self.inputs / f"seq-{count}"
        if not path.exists():
            path.write_bytes(b"".join(b"%d\n" % value for value in range(1, count + 1)))
        return path


def run_client(
    command: list[str], env: dict[str, str], stdin: Path | None = None
) -> tuple[float, str]:
    """Whole-process wall time and stdout of a client; its failure is NotApplicable
    with its last error line (the bench tells failures apart from results by the
    check each row makes on the output)."""
    started = time.perf_counter()
    with open(stdin or os.devnull, "rb") as source:
        try:
            result = subprocess.run(
                command,
                stdin=source,
                capture_output=True,
                text=True,
                env=env,
                timeout=TIMEOUT,
                check=False,
            )
        except subprocess.TimeoutExpired as error:
            raise NotApplicable(f"client timed out after {TIMEOUT:.0f} s") from error
    wall = time.perf_counter() - started
    if result.returncode != 0:
        lines = [line for line in result.stderr.splitlines() if line.strip()]
        raise NotApplicable(f"client failed: {lines[-1] if lines else result.returncode}")
    return wall, result.stdout.strip()


# ---------------------------------------------------------------- rows


@dataclass
class Row:
    number: int
    title: str
    unit: str
    lower_is_better: bool = True
    # hub -> (setup, server) -> {"value": float, ...extra figures}
    measure: Callable[[Setup, Server], dict[str, float]] = field(default=lambda s, v: {})
    fresh_server: bool = False


def expect(got: str, wanted: str, what: str) -> None:
    if got != wanted:
        raise RuntimeError(f"{what}: got {got!r}, expected {wanted!r}")


def row_js_upload(setup: Setup, server: Server) -> dict[str, float]:
    n = setup.items
    _, out = run_client(
        ["node", str(BENCH / "node_client.cjs"), "upload", server.url, "UploadSum", str(n)],
        setup.client_env(),
    )
    seconds, result = out.split(" ", 1)
    expect(result, str(n * (n - 1) // 2), "UploadSum of 0..N-1")
    return {"value": float(seconds)}


def row_hubcli_upload(setup: Setup, server: Server) -> dict[str, float]:
    n = setup.items
    wall, out = run_client(
        [*setup.hubcli(), "upload", "-q", "--json", server.url, "UploadSum"],
        setup.client_env(),
        setup.seq(n),
    )
    expect(out, str(n * (n + 1) // 2), "UploadSum of seq N")
    return {"value": wall}


def row_hubcli_invokes(setup: Setup, server: Server) -> dict[str, float]:
    _, out = run_client(
        [
            sys.executable,
            str(BENCH / "roundtrip_clients.py"),
            "hubcli",
            server.url,
            str(setup.invokes),
        ],
        setup.client_env(),
    )
    micros, cpu = out.split()
    return {"value": float(micros), "client_cpu_us": float(cpu)}


def row_js_invokes(setup: Setup, server: Server) -> dict[str, float]:
    _, out = run_client(
        [
            "node",
            str(BENCH / "node_client.cjs"),
            "roundtrip",
            server.url,
            "Echo",
            str(setup.invokes),
        ],
        setup.client_env(),
    )
    micros, cpu = out.split()
    return {"value": float(micros), "client_cpu_us": float(cpu)}


def row_large_upload(setup: Setup, server: Server) -> dict[str, float]:
    n = setup.large_items
    source = setup.seq(n)
    wall, out = run_client(
        [*setup.hubcli(), "upload", "-q", server.url, "UploadSummary"], setup.client_env(), source
    )
    checksum = hashlib.sha256(source.read_bytes()).hexdigest()
    expect(out, json.dumps({"count": n, "checksum": checksum}, separators=(",", ":")), "summary")
    return {"value": wall}


def row_broadcast(setup: Setup, server: Server) -> dict[str, float]:
    _, out = run_client(
        [
            "node",
            str(BENCH / "node_raw_clients.cjs"),
            "broadcast",
            server.url,
            str(setup.broadcast_clients),
            "5",
        ],
        setup.client_env(),
    )
    return {"value": float(out)}


def row_idle(setup: Setup, server: Server) -> dict[str, float]:
    n = setup.connections
    before = proc_rss_kib(server.pid)
    with subprocess.Popen(
        ["node", str(BENCH / "node_raw_clients.cjs"), "hold", server.url, str(n)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=setup.client_env(),
    ) as holder:
        assert holder.stdin is not None
        assert holder.stdout is not None
        line = holder.stdout.readline().split()
        if not line or line[0] != "ready":
            holder.wait(timeout=60)
            assert holder.stderr is not None
            errors = [text for text in holder.stderr.read().splitlines() if text.strip()]
            raise NotApplicable(
                f"could not hold {n} connections: {errors[-1] if errors else 'no answer'}"
            )
        time.sleep(1.0)  # let the server finish what the last handshakes started
        if not server.alive():
            raise NotApplicable(f"server exited holding {n} connections")
        after = proc_rss_kib(server.pid)
        holder.stdin.close()
        holder.wait(timeout=120)
    return {
        "value": (after - before) / n,
        "rss_before_mib": before / 1024,
        "rss_after_mib": after / 1024,
        "connect_all_s": float(line[1]),
    }


ROWS = {
    row.number: row
    for row in (
        Row(
            1,
            "official JS client uploads {items:,} ints through a Subject (one frame per item)",
            "s",
            measure=row_js_upload,
        ),
        Row(
            2,
            "`seq {items} \\| hubcli upload --json URL UploadSum` (batched frames)",
            "s",
            measure=row_hubcli_upload,
        ),
        Row(
            3,
            "{invokes} sequential `Echo` invokes, hubcli library",
            "µs a call",
            measure=row_hubcli_invokes,
        ),
        Row(4, "the same with the official JS client", "µs a call", measure=row_js_invokes),
        Row(
            5,
            "`seq {large_items} \\| hubcli upload URL UploadSummary`",
            "s",
            measure=row_large_upload,
        ),
        Row(
            6,
            "one `Broadcast` reaching {broadcast_clients:,} connected clients "
            "(until the last has it)",
            "ms",
            measure=row_broadcast,
        ),
        Row(
            7,
            "{connections:,} idle WebSocket connections: server RSS growth per connection",
            "KiB",
            measure=row_idle,
            fresh_server=True,
        ),
    )
}


# ---------------------------------------------------------------- the run


@dataclass
class Cell:
    samples: list[dict[str, float]] = field(default_factory=list)
    not_applicable: str | None = None

    def median(self, key: str = "value") -> float:
        return statistics.median(sample[key] for sample in self.samples)


def load_average() -> str:
    return " ".join(f"{value:.2f}" for value in os.getloadavg())


def raise_file_limit(needed: int) -> str:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != resource.RLIM_INFINITY and soft < needed:
        print(f"warning: open file limit {soft} < {needed}", file=sys.stderr)
    return str(soft)


def measure_once(row: Row, hub: str, setup: Setup, servers: dict[str, Server], cell: Cell) -> None:
    if hub == "floor" and row.number not in FLOOR_ROWS:
        cell.not_applicable = "counts an upload's frames only"
        return
    server = servers[hub]
    fresh = None
    if row.fresh_server:
        fresh = setup.server(hub)
        fresh.start()
        server = fresh
    elif not server.alive():
        print(f"{hub}: server had exited, starting it again", file=sys.stderr)
        server.stop()
        server.start()
    cpu = proc_cpu_seconds(server.pid)
    try:
        sample = row.measure(setup, server)
        # On a shared machine the server's CPU time is steadier than wall time, and it
        # is what the server itself spends (its keep-alive pings, a few a run, included;
        # in rows 6 and 7, accepting the connections too).
        sample["server_cpu_s"] = proc_cpu_seconds(server.pid) - cpu
    except NotApplicable as reason:
        cell.not_applicable = str(reason)
        if hub == "aiosignalr" and "handshake" in cell.not_applicable:
            cell.not_applicable = (
                "its WebSocket/JSON path fails with the official client: it sends JSON in "
                f"binary frames; {cell.not_applicable}"
            )
        if not server.alive():
            cell.not_applicable += f" (server exited: {server.log_tail().strip()[-300:]})"
        print(f"row {row.number} {hub}: n/a: {cell.not_applicable}", file=sys.stderr)
        return
    finally:
        if fresh is not None:
            fresh.stop()
    cell.samples.append(sample)
    figures = ", ".join(f"{key} {value:.4g}" for key, value in sample.items())
    print(f"row {row.number} {hub}: {figures}", file=sys.stderr)


INTERLEAVED_ROWS = {3, 4}


def measure_interleaved(
    row: Row, hubs: list[str], setup: Setup, servers: dict[str, Server], cells: dict[Any, Cell]
) -> None:
    """Rows 3 and 4 with --interleave BLOCK: one client calls every hub, BLOCK calls
    at a time on each in turn, so a slow spell of the machine falls on all of them
    alike; a sample per hub (the median of its blocks), and each server's CPU."""
    live = [hub for hub in hubs if cells[(row.number, hub)].not_applicable is None]
    if row.number == 4:
        live = [hub for hub in live if hub != "aiosignalr"]
    for hub in hubs:
        cell = cells[(row.number, hub)]
        if hub not in live and cell.not_applicable is None:
            cell.not_applicable = "its WebSocket/JSON path fails with the official client"
    urls = ",".join(servers[hub].url for hub in live)
    if row.number == 3:
        command = [sys.executable, str(BENCH / "roundtrip_clients.py"), "interleave"]
        command += [urls, str(setup.invokes), str(setup.interleave)]
    else:
        command = ["node", str(BENCH / "node_client.cjs"), "interleave", urls, "Echo"]
        command += [str(setup.invokes), str(setup.interleave)]
    cpu = {hub: proc_cpu_seconds(servers[hub].pid) for hub in live}
    _, out = run_client(command, setup.client_env())
    for hub, micros in zip(live, out.split(), strict=True):
        sample = {
            "value": float(micros),
            "server_cpu_s": proc_cpu_seconds(servers[hub].pid) - cpu[hub],
        }
        cells[(row.number, hub)].samples.append(sample)
        print(f"row {row.number} {hub}: value {float(micros):.4g}", file=sys.stderr)


def format_cell(row: Row, cell: Cell) -> str:
    if cell.not_applicable is not None and not cell.samples:
        return f"n/a ({cell.not_applicable})"
    if not cell.samples:
        return "-"
    value = cell.median()
    unit = row.unit
    text = f"{value:.3g} {unit}" if value < 100 else f"{value:.0f} {unit}"
    if row.number in (1, 2, 5):
        text += f" (server CPU {cell.median('server_cpu_s'):.2f} s)"
    if row.number == 7:
        text += f" ({cell.median('rss_after_mib'):.0f} MiB at N)"
    return text


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", default="1,2,3,4,5,6,7", help="comma-separated row numbers")
    parser.add_argument("--hubs", default="hubcli,node,aiosignalr,floor")
    parser.add_argument("--repeat", type=int, default=5, help="samples of each row and hub")
    parser.add_argument("--items", type=int, default=200_000, help="rows 1 and 2")
    parser.add_argument("--large-items", type=int, default=1_000_000, help="row 5")
    parser.add_argument("--invokes", type=int, default=3000, help="rows 3 and 4")
    parser.add_argument(
        "--interleave",
        type=int,
        default=0,
        metavar="BLOCK",
        help="rows 3 and 4: one client calls all hubs, BLOCK calls on each in turn",
    )
    parser.add_argument("--broadcast-clients", type=int, default=1000, help="row 6")
    parser.add_argument("--connections", type=int, default=10_000, help="row 7")
    parser.add_argument(
        "--hubcli-src",
        type=Path,
        default=ROOT,
        help="checkout whose `hubcli serve` is measured (default: this one)",
    )
    parser.add_argument(
        "--base-src",
        type=Path,
        default=None,
        help="checkout whose `hubcli serve` is hub `base` (for --hubs ...,base)",
    )
    parser.add_argument(
        "--hubcli-python",
        default=sys.executable,
        help="interpreter running `hubcli serve` (default: this one)",
    )
    parser.add_argument(
        "--client-src",
        type=Path,
        default=ROOT,
        help="checkout whose hubcli client the rows use (default: this one)",
    )
    parser.add_argument(
        "--json-out", type=Path, default=BENCH / "server_bench.json", help="every sample"
    )
    options = parser.parse_args()
    rows = [ROWS[int(number)] for number in options.rows.split(",")]
    hubs = options.hubs.split(",")
    for hub in hubs:
        if hub not in HUB_NAMES:
            parser.error(f"unknown hub {hub!r}: one of {', '.join(HUB_NAMES)}")
    if "base" in hubs and options.base_src is None:
        parser.error("hub 'base' needs --base-src")
    if shutil.which("node") is None:
        parser.error("node is not on PATH")

    ensure_node_modules()
    file_limit = raise_file_limit(options.connections + 1000)
    hubcli_src = options.hubcli_src.resolve()
    client_src = options.client_src.resolve()
    byte_compile(options.hubcli_python, hubcli_src)
    base_src = options.base_src.resolve() if options.base_src is not None else None
    if base_src is not None:
        byte_compile(options.hubcli_python, base_src)
    byte_compile(sys.executable, client_src)
    aio_python = aiosignalr_python() if "aiosignalr" in hubs else None
    json_out = options.json_out.resolve()
    with tempfile.TemporaryDirectory(prefix="server-bench-") as inputs:
        # `python -m hubcli` puts its working directory first on sys.path, ahead of
        # PYTHONPATH: run from inside a checkout, every server and client would be
        # that checkout's code whatever --hubcli-src, --base-src or --client-src say.
        os.chdir(inputs)
        setup = Setup(
            hubcli_python=options.hubcli_python,
            hubcli_src=hubcli_src,
            base_src=base_src,
            client_src=client_src,
            aiosignalr_python=aio_python,
            items=options.items,
            large_items=options.large_items,
            invokes=options.invokes,
            broadcast_clients=options.broadcast_clients,
            connections=options.connections,
            inputs=Path(inputs),
            interleave=options.interleave,
        )
        versions = {
            "python": platform.python_version(),
            "node": subprocess.run(
                ["node", "--version"], capture_output=True, text=True, check=True
            ).stdout.strip(),
            "@microsoft/signalr": node_package_version("@microsoft/signalr"),
            "ws": node_package_version("ws"),
            "hubcli serve": describe_checkout(hubcli_src),
            "hubcli client": describe_checkout(client_src),
        }
        if base_src is not None:
            versions["hubcli serve (base)"] = describe_checkout(base_src)
        if aio_python is not None:
            versions["aiosignalr"] = package_version(aio_python, "aiosignalr") or "?"
        started_load = load_average()
        print(f"load average at start (2 cores, shared: figures are noisy): {started_load}")
        print("; ".join(f"{name} {version}" for name, version in versions.items()))
        print(f"open file limit {file_limit}; {options.repeat} samples a cell, medians")

        servers = {hub: setup.server(hub) for hub in hubs}
        cells = {(row.number, hub): Cell() for row in rows for hub in hubs}
        try:
            for server in servers.values():
                server.start()
            for repeat in range(options.repeat):
                shift = repeat % len(hubs)
                order = hubs[shift:] + hubs[:shift]
                for row in rows:
                    if setup.interleave and row.number in INTERLEAVED_ROWS:
                        measure_interleaved(row, order, setup, servers, cells)
                        continue
                    for hub in order:
                        cell = cells[(row.number, hub)]
                        if cell.not_applicable is None:
                            measure_once(row, hub, setup, servers, cell)
        finally:
            for server in servers.values():
                server.stop()
        ended_load = load_average()

    labels = vars(options)
    header = ["work", *(HUB_NAMES[hub] for hub in hubs)]
    # The targets: within 2x of the Node hub, ahead of aiosignalr.
    ratios = [
        peer
        for peer in ("base", "node", "aiosignalr", "floor")
        if "hubcli" in hubs and peer in hubs
    ]
    header += [f"hubcli / {HUB_NAMES[peer]}" for peer in ratios]
    print()
    print("| " + " | ".join(header) + " |")
    print("|" + "---|" * len(header))
    for row in rows:
        line = [f"({row.number}) " + row.title.format(**labels)]
        line += [format_cell(row, cells[(row.number, hub)]) for hub in hubs]
        for peer in ratios:
            ours, theirs = cells[(row.number, "hubcli")], cells[(row.number, peer)]
            if not (ours.samples and theirs.samples):
                line.append("-")
                continue
            ratio = f"{ours.median() / theirs.median():.2f}x"
            if setup.interleave and row.number in INTERLEAVED_ROWS:
                # Each repeat measured both in one client run: the median of those
                # paired ratios is the steadier figure on a shared machine.
                pairs = zip(ours.samples, theirs.samples, strict=False)
                paired = statistics.median(a["value"] / b["value"] for a, b in pairs)
                ratio += f" (paired {paired:.2f}x)"
            line.append(ratio)
        print("| " + " | ".join(line) + " |")
    print(f"\nload average at end: {ended_load}")

    report = {
        "versions": versions,
        "options": {key: str(value) for key, value in labels.items()},
        "load_average": {"start": started_load, "end": ended_load},
        "rows": [
            {
                "row": row.number,
                "work": row.title.format(**labels).replace("\\|", "|"),
                "unit": row.unit,
                "hubs": {
                    hub: {
                        "median": cells[(row.number, hub)].median()
                        if cells[(row.number, hub)].samples
                        else None,
                        "samples": cells[(row.number, hub)].samples,
                        "not_applicable": cells[(row.number, hub)].not_applicable,
                    }
                    for hub in hubs
                },
            }
            for row in rows
        ],
    }
    json_out.write_text(json.dumps(report, indent=2) + "\n")
    print(f"every sample: {json_out}")


if __name__ == "__main__":
    main()
