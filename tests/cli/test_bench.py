"""`hubcli bench` against a real `hubcli serve`, whose own counters
(GetCounters: connectionsOpened, benchmarkCalls) check what the report claims."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.serverproc import start_hub_server

from .hubcli_process import run

CRANK_KEYS = (
    "signalr/requests",
    "signalr/rps/max",
    "signalr/latency/mean",
    "signalr/latency/50",
    "signalr/latency/75",
    "signalr/latency/90",
    "signalr/latency/99",
    "signalr/latency/max",
)


@pytest.fixture(scope="module")
def hub_server() -> Iterator[str]:
    """One `hubcli serve` for this module's tests (per xdist worker, so they run one
    at a time against it): each test compares its counters before and after."""
    server = start_hub_server()
    yield server.url
    server.stop()


def counters(url: str) -> dict[str, Any]:
    result = run("invoke", url, "GetCounters")
    assert result.returncode == 0, result.stderr
    value: dict[str, Any] = json.loads(result.stdout)
    return value


def bench(url: str, *flags: str) -> tuple[int, dict[str, Any], str]:
    """Run bench with --json; (exit status, report, stderr)."""
    result = run("bench", url, "--json", *flags)
    report = json.loads(result.stdout) if result.stdout else {}
    return result.returncode, report, result.stderr


def bench_calls(url: str, method: str, *flags: str) -> tuple[dict[str, Any], int]:
    """Run bench with --json, which must succeed; (report, how many `method` calls
    the server counted meanwhile)."""
    before = counters(url)["benchmarkCalls"].get(method, 0)
    code, report, stderr = bench(url, *flags)
    assert code == 0, stderr
    calls: int = counters(url)["benchmarkCalls"][method] - before
    return report, calls


def test_echo_report_matches_the_servers_counters(hub_server: str) -> None:
    before = counters(hub_server)
    code, report, stderr = bench(hub_server, "-c", "3", "-d", "1", "--warmup", "0.3")
    assert code == 0, stderr
    assert stderr == ""
    after = counters(hub_server)
    for key in CRANK_KEYS:
        assert isinstance(report[key], (int, float)), key
    assert report["signalr/requests"] > 0
    # Every call the server answered is in the report: measured, or in the warmup.
    echoes = after["benchmarkCalls"]["Echo"] - before["benchmarkCalls"].get("Echo", 0)
    assert echoes == report["signalr/requests"] + report["hubcli/requests/warmup"]
    assert report["hubcli/requests/warmup"] > 0
    # The bench's connections, and the GetCounters call's own one.
    opened = after["connectionsOpened"] - before["connectionsOpened"]
    assert opened == 3 + 1
    assert report["hubcli/connections"] == report["hubcli/connections/reached"] == 3
    assert report["hubcli/connections/lost"] == 0
    assert report["hubcli/errors"] == 0
    latency = [report[f"signalr/latency/{p}"] for p in (50, 75, 90, 99)]
    assert latency == sorted(latency)
    assert 0 < report["hubcli/latency/min"] <= latency[0] <= report["signalr/latency/max"]
    assert report["hubcli/connect/50"] > 0
    assert sum(report["hubcli/rps/by-second"]) == report["signalr/requests"]


def test_errors_are_counted_by_kind(hub_server: str) -> None:
    code, report, stderr = bench(hub_server, "-c", "2", "-d", "0.5", "--method", "ThrowException")
    assert code == 0, stderr
    assert report["signalr/requests"] == 0
    assert report["hubcli/errors"] > 0
    assert report["hubcli/errors/by-kind"] == {"HubError": report["hubcli/errors"]}


def test_a_call_past_call_timeout_is_an_error_and_the_connection_goes_on(
    hub_server: str,
) -> None:
    code, report, stderr = bench(
        hub_server,
        "-c", "2", "-d", "1", "--method", "Slow", "--args", "[600]", "--call-timeout", "0.2",
    )  # fmt: skip
    assert code == 0, stderr
    # No call was answered in time; each was counted, and no connection was lost.
    assert report["signalr/requests"] == 0
    assert report["hubcli/errors"] >= 2
    assert report["hubcli/errors/by-kind"] == {"CallTimeout": report["hubcli/errors"]}
    assert report["hubcli/connections/lost"] == 0
    code, report, stderr = bench(
        hub_server, "-c", "2", "-d", "0.5", "--method", "Slow", "--args", "[250]",
        "--call-timeout", "0",
    )  # fmt: skip
    assert code == 0, stderr
    assert report["hubcli/errors"] == 0
    assert report["signalr/requests"] > 0


def test_fail_if_sets_exit_8_and_still_prints_the_report(hub_server: str) -> None:
    code, report, stderr = bench(
        hub_server,
        "-c", "1", "-d", "0.3", "--method", "ThrowException",
        "--fail-if", "p99>60s", "--fail-if", "errors>0",
    )  # fmt: skip
    assert code == 8
    assert report["hubcli/errors"] > 0
    [line] = stderr.splitlines()
    assert line.startswith("hubcli: error: --fail-if: errors>0 (it is ")
    code, report, stderr = bench(hub_server, "-c", "1", "-d", "0.3", "--fail-if", "errors>0")
    assert (code, stderr) == (0, "")


def test_a_bad_condition_is_a_usage_error_before_any_connection(hub_server: str) -> None:
    before = counters(hub_server)["connectionsOpened"]
    result = run("bench", hub_server, "--fail-if", "p99>>5")
    assert result.returncode == 2
    assert result.stderr.startswith("hubcli: error: --fail-if: expected METRIC>VALUE")
    assert counters(hub_server)["connectionsOpened"] == before + 1  # GetCounters' own


def test_compare_prints_the_change_against_a_baseline(hub_server: str, tmp_path: Path) -> None:
    code, report, _ = bench(hub_server, "-c", "1", "-d", "0.3")
    assert code == 0
    baseline = tmp_path / "run.json"
    baseline.write_text(json.dumps(report))
    code, _, stderr = bench(hub_server, "-c", "1", "-d", "0.3", "--compare", str(baseline))
    assert code == 0
    lines = stderr.splitlines()
    assert lines[0] == "Compared with the baseline:"
    requests = next(line for line in lines if line.split()[0] == "requests/s")
    assert f"{report['signalr/rps/max']:g} ->" in requests
    not_a_report = tmp_path / "other.json"
    not_a_report.write_text('{"a": 1}')
    result = run("bench", hub_server, "--compare", str(not_a_report))
    assert result.returncode == 2
    assert "not a hubcli bench --json report" in result.stderr


def test_open_loop_sends_on_schedule_and_counts_from_it(hub_server: str) -> None:
    # 100 calls a second for 1 s on 2 connections: exactly 100 scheduled calls.
    before = counters(hub_server)["benchmarkCalls"].get("Echo", 0)
    code, report, stderr = bench(hub_server, "-c", "2", "-d", "1", "--rate", "100")
    assert code == 0, stderr
    assert report["signalr/requests"] == 100
    assert counters(hub_server)["benchmarkCalls"]["Echo"] - before == 100
    assert report["hubcli/rate"] == 100


def test_open_loop_latency_includes_the_wait_behind_a_slow_server(hub_server: str) -> None:
    # Slow takes 20 ms; one connection asked for a call every 5 ms falls further
    # behind with each call. From the scheduled time, the last calls waited most of
    # the run: a tool that timed from the actual send would report about 20 ms.
    code, report, stderr = bench(
        hub_server, "-c", "1", "-d", "1", "--rate", "200", "--method", "Slow", "--args", "[20]"
    )
    assert code == 0, stderr
    assert report["hubcli/sends/late"] > 0
    assert report["signalr/latency/99"] > 300
    assert report["signalr/latency/50"] > 100


def test_no_connection_at_all_is_exit_4_at_once() -> None:
    started = time.monotonic()
    result = run("bench", "http://127.0.0.1:9/hub", "-c", "3", "-d", "30")
    assert result.returncode == 4
    assert result.stdout == ""
    [line] = result.stderr.splitlines()
    assert line.startswith("hubcli: error: ")
    assert time.monotonic() - started < 20


@pytest.mark.parametrize("flag", ["--csv"])
def test_csv_is_a_header_and_a_value_line(hub_server: str, flag: str) -> None:
    result = run("bench", hub_server, "-c", "1", "-d", "0.3", flag)
    assert result.returncode == 0, result.stderr
    header, values = result.stdout.splitlines()
    row = dict(zip(header.split(","), values.split(","), strict=True))
    assert int(row["signalr/requests"]) > 0
    assert row["hubcli/scenario"] == "echo"


def test_echo_all_counts_every_push_to_every_connection(hub_server: str) -> None:
    before = counters(hub_server)["benchmarkCalls"].get("EchoAll", 0)
    code, report, stderr = bench(hub_server, "-s", "echoAll", "-c", "3", "-d", "1")
    assert code == 0, stderr
    calls = counters(hub_server)["benchmarkCalls"]["EchoAll"] - before
    # Each EchoAll call reaches the 3 connections; each push is one request.
    assert report["signalr/requests"] == 3 * calls > 0
    assert report["hubcli/errors"] == 0


def test_broadcast_times_the_pushes_of_one_broadcast(hub_server: str) -> None:
    before = counters(hub_server)["benchmarkCalls"]
    code, report, stderr = bench(
        hub_server, "-s", "broadcast", "--method", "BroadcastFor", "-c", "2", "-d", "1"
    )
    assert code == 0, stderr
    after = counters(hub_server)["benchmarkCalls"]
    calls = {name: after[name] - before.get(name, 0) for name in after}
    assert calls["BroadcastFor"] == 1
    assert calls["GetCurrentTime"] == 9  # the clock offset's samples
    # Pushes are sent for a second longer than the window: no more arrive than left.
    assert 0 < report["signalr/requests"] <= 2 * calls["BroadcastSent"]
    assert 0 < report["signalr/latency/50"] < 1000


def test_connect_makes_a_connection_per_request(hub_server: str) -> None:
    before = counters(hub_server)
    code, report, stderr = bench(hub_server, "-s", "connect", "-c", "2", "-d", "1")
    assert code == 0, stderr
    after = counters(hub_server)
    assert report["signalr/requests"] > 0
    echoes = after["benchmarkCalls"]["Echo"] - before["benchmarkCalls"].get("Echo", 0)
    assert echoes == report["signalr/requests"]
    opened = after["connectionsOpened"] - before["connectionsOpened"] - 1  # GetCounters
    # Every answered call had a connection of its own; at most one per loop was cut
    # off by the end of the run.
    assert report["signalr/requests"] <= opened <= report["signalr/requests"] + 2
    assert report["hubcli/connect/50"] <= report["signalr/latency/50"]


def test_echo_idle_calls_once_an_interval_on_each_connection(hub_server: str) -> None:
    report, calls = bench_calls(
        hub_server, "Echo", "-s", "echoIdle", "-c", "20", "--interval", "0.5", "-d", "1"
    )
    # 20 connections, each calling twice in the second: 40 calls, spread evenly.
    assert report["hubcli/rate"] == 40
    assert report["signalr/requests"] == 40
    assert calls == 40


def test_stream_counts_items_the_server_sent(hub_server: str) -> None:
    before = counters(hub_server)["benchmarkCalls"]
    # An item every 5 ms: few are in flight when the streams are cancelled,
    # however busy the machine (as fast as possible, that was thousands).
    code, report, stderr = bench(hub_server, "-s", "stream", "-c", "2", "-d", "1", "--args", "[5]")
    assert code == 0, stderr
    after = counters(hub_server)["benchmarkCalls"]
    assert after["StreamTimes"] - before.get("StreamTimes", 0) == 2
    sent = after["StreamTimesItems"] - before.get("StreamTimesItems", 0)
    # The server yields a few more than arrive: those in flight when cancelled.
    assert 0 < report["signalr/requests"] <= sent
    assert sent - report["signalr/requests"] < 0.2 * sent, (sent, report["signalr/requests"])


def test_processes_add_up_into_one_report(hub_server: str) -> None:
    before = counters(hub_server)
    code, report, stderr = bench(
        hub_server, "-c", "4", "--processes", "2", "-d", "1", "--rate", "100"
    )
    assert code == 0, stderr
    after = counters(hub_server)
    # Each process sends its half of the rate on its two connections.
    assert report["signalr/requests"] == 100
    assert after["benchmarkCalls"]["Echo"] - before["benchmarkCalls"].get("Echo", 0) == 100
    assert after["connectionsOpened"] - before["connectionsOpened"] == 4 + 1
    assert report["hubcli/connections/reached"] == 4
    assert report["signalr/latency/50"] > 0


@pytest.mark.parametrize("scenario", ["connect", "stream", "echoAll"])
def test_no_connection_is_exit_4_in_every_scenario(scenario: str) -> None:
    result = run("bench", "-s", scenario, "http://127.0.0.1:9/hub", "-c", "2", "-d", "30")
    assert (result.returncode, result.stdout) == (4, "")


def test_payload_size_sends_a_string_of_that_size(hub_server: str) -> None:
    # hubcli serve takes messages of up to 32 KiB: 30,000 characters pass...
    report, calls = bench_calls(
        hub_server, "SendPayload",
        "--method", "SendPayload", "--payload-size", "30000", "-c", "2", "-d", "0.5",
    )  # fmt: skip
    assert report["hubcli/errors"] == 0
    assert calls == report["signalr/requests"] > 0
    # ...40,000 end each connection at its first call: lost, counted by kind.
    code, report, stderr = bench(
        hub_server, "--method", "SendPayload", "--payload-size", "40000", "-c", "2", "-d", "0.5"
    )
    assert code == 0, stderr
    assert report["signalr/requests"] == 0
    assert report["hubcli/connections/lost"] == 2
    assert report["hubcli/errors/by-kind"] == {"ConnectionClosedError": 2}
