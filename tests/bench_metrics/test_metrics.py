"""hubcli/bench/metrics.py without I/O: histograms, the report, conditions, compare."""

from __future__ import annotations

import pytest

from hubcli.bench.metrics import (
    Latencies,
    RunResult,
    compare,
    csv_lines,
    failed_conditions,
    parse_condition,
    report,
)


def _result(latencies_ms: list[float], **fields: object) -> RunResult:
    result = RunResult("echo", 2, duration=2.0, **fields)  # type: ignore[arg-type]
    for value in latencies_ms:
        result.latency.record(value / 1000)
        result.requests += 1
    return result


def test_percentiles_are_exact_to_three_digits() -> None:
    latencies = Latencies()
    for micros in range(1, 10_001):  # 0.001 ms .. 10 ms, evenly
        latencies.record(micros / 1e6)
    assert latencies.count == 10_000
    assert latencies.percentile(50) == pytest.approx(5.0, rel=1e-3)
    assert latencies.percentile(99) == pytest.approx(9.9, rel=1e-3)
    assert latencies.percentile(99.99) == pytest.approx(9.999, rel=1e-3)
    assert latencies.max == pytest.approx(10.0, rel=1e-3)
    assert latencies.mean == pytest.approx(5.0, rel=1e-3)


def test_every_reading_sees_every_sample_recorded_before_it() -> None:
    # Samples wait, counted by value, before they reach the histogram: each reading
    # (and the encoding another process merges) must see them all.
    latencies = Latencies()
    for micros in (250, 250, 900):
        latencies.record(micros / 1e6)
    assert (latencies.count, latencies.min, latencies.max) == (3, 0.25, 0.9)
    for micros in range(1000, 6000):  # more distinct values than wait at once
        latencies.record(micros / 1e6)
    latencies.record(0.9 / 1000)
    assert latencies.count == 5004
    assert Latencies.decode(latencies.encode()).count == 5004
    merged = Latencies()
    merged.record(0.001)
    merged.add(latencies)
    assert merged.count == 5005


def test_merging_processes_adds_their_histograms() -> None:
    fast, slow = _result([1.0] * 99), _result([100.0])
    merged = RunResult.from_wire(fast.to_wire())
    merged.merge(RunResult.from_wire(slow.to_wire()))
    assert merged.requests == 100
    assert merged.connections == 4
    assert merged.latency.percentile(99) == pytest.approx(1.0, rel=1e-3)
    assert merged.latency.max == pytest.approx(100.0, rel=1e-3)


def test_report_has_cranks_names_in_milliseconds() -> None:
    record = report(_result([2.0, 4.0, 6.0, 8.0]))
    assert record["signalr/requests"] == 4
    assert record["signalr/rps/max"] == 2.0  # 4 in 2 s
    assert record["signalr/latency/mean"] == pytest.approx(5.0, rel=1e-3)
    assert record["signalr/latency/50"] == pytest.approx(4.0, rel=1e-3)
    assert record["signalr/latency/max"] == pytest.approx(8.0, rel=1e-3)
    header, values = csv_lines(record)
    assert header.split(",")[0] == "signalr/requests"
    assert values.split(",")[0] == "4"


@pytest.mark.parametrize(
    ("text", "fails"),
    [
        ("p99>50ms", True),
        ("p99>0.2s", False),
        ("p99 > 60000us", True),
        ("max>=100", True),
        ("errors>0", True),
        ("errors>3", False),
        ("rps<1", False),
        ("requests<5", True),
    ],
)
def test_conditions(text: str, fails: bool) -> None:
    record = report(_result([1.0, 100.0], errors={"HubError": 3}))  # type: ignore[arg-type]
    condition = parse_condition(text)
    assert bool(failed_conditions([condition], record)) is fails


@pytest.mark.parametrize("text", ["p99", "p99>>1", "p98>1", "errors>1ms", "rps>fast"])
def test_bad_conditions_say_what_is_wrong(text: str) -> None:
    with pytest.raises(ValueError, match=r"expected|unknown|count"):
        parse_condition(text)


def test_compare_says_better_or_worse() -> None:
    before = report(_result([10.0] * 10))
    after = report(_result([5.0] * 20))
    changes = {change.name: change for change in compare(before, after)}
    assert changes["requests/s"].better is True
    assert changes["p99"].better is True
    assert changes["errors"].better is None
    assert "+100.0 %" in changes["requests/s"].line()
    with pytest.raises(ValueError, match="not a hubcli bench"):
        compare({"x": 1}, after)
