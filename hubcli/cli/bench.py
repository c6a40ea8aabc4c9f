"""`hubcli bench URL`: load and latency of a hub, on hubcli's own client.

The numbers are hubcli/bench/metrics.py's, the load hubcli/bench/load.py's; this
module reads the command line, draws the live line and writes the report:
ghz's summary on a terminal, one JSON object otherwise (or with --json), CSV
with --csv. --fail-if conditions that hold end the run with exit status 8.
"""

from __future__ import annotations

import enum
import os
import sys
from typing import TYPE_CHECKING, Annotated, Any, Final

import typer

from hubcli._defaults import DEFAULT_KEEPALIVE_SECONDS, DEFAULT_MAX_MESSAGE_SIZE

from .combinations import check_combinations
from .launch import Body, client_command, launch
from .options import (
    DEFAULT_CONNECT_TIMEOUT,
    OUTPUT,
    CacertOption,
    CertOption,
    ConnectionFlags,
    ConnectionSettings,
    ConnectRetriesOption,
    ConnectTimeoutOption,
    CookieOption,
    HeaderOption,
    IdleTimeoutOption,
    InsecureOption,
    KeepaliveOption,
    KeyOption,
    MaxMessageSizeOption,
    MaxTimeOption,
    OutputSettings,
    ProtocolName,
    ProtocolOption,
    ProxyOption,
    SkipNegotiationOption,
    StatefulReconnectOption,
    TokenFileOption,
    TokenInQueryOption,
    TokenOption,
    TransportOption,
    UrlArg,
    VerboseOption,
    connection_settings,
    finite_seconds,
)
from .progress import Progress, QuietOption

if TYPE_CHECKING:
    from hubcli.bench.load import Load
    from hubcli.bench.metrics import RunResult

    from .runner import Session

LOAD: Final = "Load"


class Scenario(enum.StrEnum):
    echo = "echo"
    echoAll = "echoAll"  # the name ASP.NET Core's benchmarks use
    broadcast = "broadcast"
    echoIdle = "echoIdle"  # the name ASP.NET Core's benchmarks use
    stream = "stream"
    connect = "connect"


# The method each scenario calls unless --method says otherwise: the names of
# ASP.NET Core's benchmark hub (BenchmarkServer's EchoHub).
DEFAULT_METHODS: Final = {
    Scenario.echo: "Echo",
    Scenario.echoAll: "EchoAll",
    Scenario.broadcast: "Broadcast",
    Scenario.echoIdle: "Echo",
    Scenario.stream: "StreamTimes",
    Scenario.connect: "Echo",
}
# Arguments a scenario's default method takes, unless --args or --payload-size.
DEFAULT_ARGUMENTS: Final = {Scenario.stream: (0,)}

ScenarioOption = Annotated[
    Scenario,
    typer.Option(
        "-s",
        "--scenario",
        case_sensitive=False,
        help="echo: each connection invokes METHOD (default Echo) in a loop, timing each answer.",
        rich_help_panel=LOAD,
    ),
]
ConnectionsOption = Annotated[
    int,
    typer.Option(
        "-c",
        "--connections",
        min=1,
        metavar="N",
        help="Connections to open (all connect first, then the load starts on all).",
        rich_help_panel=LOAD,
    ),
]
DurationOption = Annotated[
    float,
    typer.Option(
        "-d",
        "--duration",
        min=0.0,
        metavar="SECONDS",
        callback=finite_seconds,
        help="How long to measure, after --warmup (0: connect only, timing the connects).",
        rich_help_panel=LOAD,
    ),
]
WarmupOption = Annotated[
    float,
    typer.Option(
        "--warmup",
        min=0.0,
        metavar="SECONDS",
        callback=finite_seconds,
        help="Run the load this long first, unmeasured (0: none).",
        rich_help_panel=LOAD,
    ),
]
RateOption = Annotated[
    float | None,
    typer.Option(
        "--rate",
        min=0.0,
        metavar="N",
        callback=finite_seconds,
        show_default=False,
        help="Open loop: N calls a second in all, each on its schedule; latency counts "
        "from the scheduled time and sends behind it count as late (default: closed "
        "loop, each connection calls again once answered).",
        rich_help_panel=LOAD,
    ),
]
IntervalOption = Annotated[
    float,
    typer.Option(
        "--interval",
        min=0.0,
        metavar="SECONDS",
        callback=finite_seconds,
        help="echoIdle: each connection calls once every SECONDS, their calls spread "
        "evenly (crank's sendDelay; 0: as fast as answered, a closed loop).",
        rich_help_panel=LOAD,
    ),
]
MethodOption = Annotated[
    str | None,
    typer.Option(
        "--method",
        metavar="NAME",
        show_default=False,
        help="The hub method the scenario calls (default: the benchmark hub's: Echo, "
        "EchoAll, Broadcast).",
        rich_help_panel=LOAD,
    ),
]
PayloadSizeOption = Annotated[
    int | None,
    typer.Option(
        "--payload-size",
        min=0,
        metavar="CHARS",
        show_default=False,
        help="Send a string of CHARS characters (default: the current time, which the "
        "benchmark hub's methods take).",
        rich_help_panel=LOAD,
    ),
]
BenchArgsOption = Annotated[
    str | None,
    typer.Option(
        "--args",
        metavar="JSON",
        show_default=False,
        help="Call METHOD with this argument array instead (e.g. '[20]' for Slow).",
        rich_help_panel=LOAD,
    ),
]
CallTimeoutOption = Annotated[
    float,
    typer.Option(
        "--call-timeout",
        min=0.0,
        metavar="SECONDS",
        callback=finite_seconds,
        help="A call still unanswered after SECONDS is an error (CallTimeout) and its "
        "connection goes on, as ghz's --timeout (0: none).",
        rich_help_panel=LOAD,
    ),
]
ProcessesOption = Annotated[
    int,
    typer.Option(
        "--processes",
        min=1,
        metavar="N",
        help="Spread the connections over N processes, to use every core; their "
        "histograms are added up into one report (no live line).",
        rich_help_panel=LOAD,
    ),
]
# Internal: `--worker I/N` makes this process one of --processes N, which prints
# its raw result (histograms and all) for the first one to add up.
WorkerOption = Annotated[str | None, typer.Option("--worker", hidden=True)]
JsonOption = Annotated[
    bool,
    typer.Option(
        "--json",
        help="The report as one JSON object (crank's metric names, then hubcli's), also "
        "at a terminal.",
        rich_help_panel=OUTPUT,
    ),
]
CsvOption = Annotated[
    bool,
    typer.Option(
        "--csv",
        help="The report as CSV: a header line and a value line.",
        rich_help_panel=OUTPUT,
    ),
]
HtmlOption = Annotated[
    str | None,
    typer.Option(
        "--html",
        metavar="FILE",
        show_default=False,
        help="Also write the report to FILE as a self-contained web page with charts "
        "(latency by percentile, its distribution, the rate over time).",
        rich_help_panel=OUTPUT,
    ),
]
FailIfOption = Annotated[
    list[str] | None,
    typer.Option(
        "--fail-if",
        metavar="CONDITION",
        show_default=False,
        help="Exit 8 when CONDITION holds, e.g. 'p99>50ms', 'errors>0', 'rps<1000' "
        "(repeatable). Metrics: p50 p75 p90 p99 p99.9 p99.99 max mean (us, ms or s; "
        "ms by default), rps requests errors lost late.",
        rich_help_panel=OUTPUT,
    ),
]
CompareOption = Annotated[
    str | None,
    typer.Option(
        "--compare",
        metavar="BASELINE.json",
        show_default=False,
        help="Print the change against an earlier run's --json report (on stderr).",
        rich_help_panel=OUTPUT,
    ),
]
LIVE_QUIET_HELP: Final = "No live line on stderr (drawn only when stderr is a terminal)."


class LiveLine(Progress):
    """The live line: requests, rate, errors and connections as the run goes."""

    __slots__ = ("load",)

    def __init__(self, load: Load) -> None:
        super().__init__()
        self.load = load

    def line(self, now: float) -> str:
        import trio

        load = self.load
        result = load.result
        window = load.window
        if window is None:
            return (
                f"hubcli: bench {result.scenario}: connecting {result.reached}/{result.connections}"
            )
        clock = trio.current_time()
        phase = "warmup" if clock < window.measure_from else "measuring"
        elapsed = max(clock - window.measure_from, 1e-9)
        rate = result.requests / elapsed if phase == "measuring" else 0.0
        errors = sum(result.errors.values())
        return (
            f"hubcli: bench {result.scenario}: {phase}, {result.requests:,} requests "
            f"({rate:,.0f}/s), {errors:,} errors, {result.reached - result.lost}"
            f"/{result.connections} connected"
        )


def _read_baseline(path: str) -> dict[str, Any]:
    import orjson

    from .errors import UsageError, cannot_read
    from .files import read_text

    text = read_text(f"--compare {path}", path, 16 * 1024 * 1024)
    try:
        baseline = orjson.loads(text)
    except orjson.JSONDecodeError as error:
        raise UsageError(cannot_read(f"--compare {path}", f"not JSON: {error}")) from None
    if not isinstance(baseline, dict):
        raise UsageError(f"--compare {path}: not a hubcli bench --json report")
    return baseline


async def _run_processes(count: int) -> RunResult:
    """This command line again in `count` processes (`--worker I/N`), their results
    added up; stderr is theirs too (warnings, -v)."""
    import subprocess

    import orjson
    import trio

    from hubcli.bench.metrics import RunResult
    from hubcli.errors import ConnectError

    argv = [sys.executable, "-m", "hubcli", *sys.argv[1:]]
    outputs: list[bytes] = [b""] * count

    async def one(index: int) -> None:
        done = await trio.run_process(
            [*argv, "--worker", f"{index}/{count}"],
            stdin=subprocess.DEVNULL,
            capture_stdout=True,
            check=False,
        )
        outputs[index] = done.stdout

    async with trio.open_nursery() as nursery:
        for index in range(count):
            nursery.start_soon(one, index)
    merged: RunResult | None = None
    first_error = None
    for output in outputs:
        if not output.strip():
            continue
        wire = orjson.loads(output)
        first_error = first_error or wire.pop("first_error", None)
        wire.pop("first_error", None)
        part = RunResult.from_wire(wire)
        if merged is None:
            merged = part
        else:
            merged.merge(part)
    if merged is None or merged.reached == 0:
        raise ConnectError(first_error or "no process of --processes could connect")
    return merged


@client_command("bench", short_help="Load a hub and measure it: latency, requests/s, errors.")
def bench_command(
    ctx: typer.Context,
    url: UrlArg,
    *,
    scenario: ScenarioOption = Scenario.echo,
    connections: ConnectionsOption = 10,
    duration: DurationOption = 10.0,
    warmup: WarmupOption = 0.0,
    rate: RateOption = None,
    interval: IntervalOption = 10.0,
    method: MethodOption = None,
    payload_size: PayloadSizeOption = None,
    args_json: BenchArgsOption = None,
    call_timeout: CallTimeoutOption = 20.0,
    processes: ProcessesOption = 1,
    worker: WorkerOption = None,
    json_output: JsonOption = False,
    csv_output: CsvOption = False,
    html_file: HtmlOption = None,
    fail_if: FailIfOption = None,
    compare: CompareOption = None,
    quiet: QuietOption = False,
    # The connection options, the same in every client command (ConnectionFlags):
    protocol: ProtocolOption = ProtocolName.json,
    transport: TransportOption = None,
    skip_negotiation: SkipNegotiationOption = False,
    header: HeaderOption = None,
    token: TokenOption = None,
    token_file: TokenFileOption = None,
    token_in_query: TokenInQueryOption = False,
    cookie: CookieOption = None,
    cacert: CacertOption = None,
    cert: CertOption = None,
    key: KeyOption = None,
    insecure: InsecureOption = False,
    proxy: ProxyOption = None,
    connect_timeout: ConnectTimeoutOption = DEFAULT_CONNECT_TIMEOUT,
    max_time: MaxTimeOption = None,
    idle_timeout: IdleTimeoutOption = None,
    keepalive: KeepaliveOption = DEFAULT_KEEPALIVE_SECONDS,
    max_message_size: MaxMessageSizeOption = DEFAULT_MAX_MESSAGE_SIZE,
    connect_retries: ConnectRetriesOption = 0,
    stateful_reconnect: StatefulReconnectOption = False,
    verbose: VerboseOption = 0,
) -> None:
    """Load the hub at URL with a scenario and report latency and throughput.

    -c connections connect (timed), then run the scenario together for --warmup
    and -d seconds; only -d is measured. Latencies go into an HDR histogram:
    p50 to p99.99 and max are exact to 3 digits. The report: ghz's summary when
    stdout is a terminal, else (or with --json) one JSON object whose keys are
    crank's metric names (signalr/requests, signalr/rps/max,
    signalr/latency/mean, /50, /75, /90, /99, /max, in ms) and hubcli's own
    (hubcli/latency/99.9, hubcli/errors/by-kind, hubcli/connections/...). A hub
    error or a lost connection is counted by kind, not fatal; no connection at
    all is (exit 4, 5 or 6 as for any command). While it runs, a live line
    stands on a terminal's stderr (-q: none).
    """
    flags = ConnectionFlags.of(locals())  # first: the parameters, nothing else yet

    def prepare() -> tuple[Body, ConnectionSettings, OutputSettings]:
        from hubcli.bench.load import LoadPlan
        from hubcli.bench.metrics import parse_condition

        from .errors import UsageError

        check_combinations("bench", ctx)
        if rate == 0:
            raise UsageError("--rate 0 sends nothing", hint="leave --rate out for a closed loop")
        if json_output and csv_output:
            raise UsageError("--json and --csv exclude each other")
        settings = connection_settings(url, flags)
        try:
            conditions = [parse_condition(text) for text in fail_if or ()]
        except ValueError as error:
            raise UsageError(f"--fail-if: {error}") from None
        if html_file is not None:
            folder = os.path.dirname(os.path.abspath(html_file))
            if os.path.isdir(html_file) or not os.access(folder, os.W_OK):
                raise UsageError(f"cannot write --html {html_file}: not a writable file")
        baseline = None if compare is None else _read_baseline(compare)
        if baseline is not None:
            from hubcli.bench.metrics import compare as compare_reports

            try:  # before the run: a wrong file should not cost a whole run
                compare_reports(baseline, baseline)
            except ValueError as error:
                raise UsageError(f"--compare {compare}: {error}") from None
        arguments = None
        if args_json is not None:
            if payload_size is not None:
                raise UsageError("--args and --payload-size exclude each other")
            import orjson

            try:
                parsed = orjson.loads(args_json)
            except orjson.JSONDecodeError as error:
                raise UsageError(f"--args: not JSON: {error}") from None
            if not isinstance(parsed, list):
                raise UsageError("--args: expected a JSON array of arguments")
            arguments = tuple(parsed)
        elif payload_size is None and method is None:
            arguments = DEFAULT_ARGUMENTS.get(scenario)
        load_rate: float | None = rate
        if scenario is Scenario.echoIdle and interval > 0:
            if rate is not None:
                raise UsageError("--rate does nothing with -s echoIdle", hint="use --interval")
            # An open loop in which each connection's turn comes once an interval.
            load_rate = connections / interval
        share, trigger = connections, True
        if worker is not None:
            index, count = (int(part) for part in worker.split("/"))
            share = connections // count + (1 if index < connections % count else 0)
            trigger = index == 0
        elif processes > connections:
            raise UsageError(f"--processes {processes} is more than -c {connections}")
        if load_rate is not None:
            load_rate *= share / connections  # this process's part of the rate
        plan = LoadPlan(
            scenario=scenario.value,
            trigger=trigger,
            connections=share,
            duration=duration,
            warmup=warmup,
            rate=load_rate,
            method=method or DEFAULT_METHODS[scenario],
            payload_size=payload_size,
            arguments=arguments,
            call_timeout=call_timeout or None,
        )
        as_text = not (json_output or csv_output) and os.isatty(1)
        live = not quiet and verbose <= 0 and os.isatty(2) and processes == 1

        async def body(session: Session) -> None:
            from hubcli.bench import load as loads
            from hubcli.bench.metrics import (
                compare as compare_reports,
            )
            from hubcli.bench.metrics import (
                compare_lines,
                csv_lines,
                failed_conditions,
                report,
                summary_lines,
            )

            async def watch(running: Load) -> None:
                import trio

                line = LiveLine(running)
                try:
                    while True:
                        await trio.sleep(0.25)
                        line.draw()
                finally:
                    line.clear()

            if worker is not None:
                outcome = await loads.run(plan, session.connect)
                wire = outcome.result.to_wire()
                error = outcome.first_connect_error
                wire["first_error"] = None if error is None else str(error)
                import orjson

                await session.output.writer.write(orjson.dumps(wire) + b"\n")
                return
            if processes > 1:
                result = await _run_processes(processes)
            else:
                outcome = await loads.run(plan, session.connect, watch if live else None)
                result = outcome.result
                if result.reached == 0 and outcome.first_connect_error is not None:
                    raise outcome.first_connect_error
            record = report(result)
            if as_text:
                text = "\n".join(summary_lines(record)) + "\n"
            elif csv_output:
                text = "\n".join(csv_lines(record)) + "\n"
            else:
                import orjson

                text = orjson.dumps(record).decode() + "\n"
            await session.output.writer.write(text.encode())
            if html_file is not None:
                from hubcli.bench.html import page

                try:
                    with open(html_file, "w", encoding="utf-8") as out:
                        out.write(page(record))
                except OSError as error:
                    from .errors import reason

                    raise UsageError(f"cannot write --html {html_file}: {reason(error)}") from None
            if baseline is not None:
                changes = compare_reports(baseline, record)
                sys.stderr.write("\n".join(compare_lines(changes)) + "\n")
            failed = failed_conditions(conditions, record)
            if failed:
                from .errors import ThresholdsFailed

                raise ThresholdsFailed(
                    "; ".join(condition.describe(record) for condition in failed)
                )

        return body, settings, OutputSettings()

    launch(prepare)
