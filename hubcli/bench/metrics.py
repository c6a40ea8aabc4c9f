"""The numbers of a benchmark run, and what is said about them: no I/O here.

Latencies go into HDR histograms (the `hdrhistogram` package): every sample
counts, to three significant digits, from a microsecond to an hour, and two
histograms add up exactly, so the runs of several processes merge without
averaging percentiles. The report's keys are the metric names of crank's SignalR
client (`signalr/requests`, `signalr/rps/max`, `signalr/latency/...` in
milliseconds), so a hubcli run reads like a run of Microsoft's benchmark
infrastructure, plus hubcli's own under `hubcli/`.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

from hdrh.histogram import HdrHistogram  # type: ignore[import-untyped]

# Microseconds: a loopback echo takes tens of them; an hour is beyond any timeout.
_LOWEST_US: Final = 1
_HIGHEST_US: Final = 3_600_000_000
_SIGNIFICANT_DIGITS: Final = 3

# The percentiles every summary shows (ghz's list, with crank's 75 and the tail).
PERCENTILES: Final = (50.0, 75.0, 90.0, 99.0, 99.9, 99.99)


# Samples counted by value before they go into the histogram: at most this many
# distinct values wait (a few hundred KiB).
_PENDING_VALUES: Final = 4096


class Latencies:
    """An HDR histogram of durations, recorded in seconds, read in milliseconds.

    A sample is first counted in a dict by its value in microseconds, and the
    counts go into the histogram (one record_value per value, with its count)
    when it is read or when many values wait: the package's record_value is
    pure Python, about 6 us a call, which at tens of thousands of calls a second
    was a visible share of the load generator's CPU, and a closed loop's
    latencies repeat the same microseconds many times over."""

    __slots__ = ("_histogram", "_pending")

    def __init__(self, encoded: str | None = None) -> None:
        """An empty histogram, or the one `encoded` (see `encode`) holds."""
        self._pending: dict[int, int] = {}
        if encoded is None:
            self._histogram = HdrHistogram(_LOWEST_US, _HIGHEST_US, _SIGNIFICANT_DIGITS)
        else:
            self._histogram = HdrHistogram.decode(encoded.encode("ascii"))

    def record(self, seconds: float) -> None:
        micros = min(max(round(seconds * 1e6), _LOWEST_US), _HIGHEST_US)
        pending = self._pending
        pending[micros] = pending.get(micros, 0) + 1
        if len(pending) > _PENDING_VALUES:
            self._flush()

    def _flush(self) -> Any:
        """The histogram, with every sample recorded so far."""
        histogram = self._histogram
        if self._pending:
            for micros, count in self._pending.items():
                histogram.record_value(micros, count)
            self._pending.clear()
        return histogram

    def add(self, other: Latencies) -> None:
        """Add `other`'s samples (rare: once per process of --processes)."""
        self._flush().decode_and_add(other.encode().encode("ascii"))

    @property
    def count(self) -> int:
        return int(self._flush().get_total_count())

    def percentile(self, percent: float) -> float:
        """The value in milliseconds at or below which `percent` of the samples are."""
        if not self.count:
            return 0.0
        return float(self._flush().get_value_at_percentile(percent)) / 1000

    @property
    def mean(self) -> float:
        return float(self._flush().get_mean_value()) / 1000 if self.count else 0.0

    @property
    def min(self) -> float:
        return float(self._flush().get_min_value()) / 1000 if self.count else 0.0

    @property
    def max(self) -> float:
        # The highest value equivalent to the largest sample: never below it.
        if not self.count:
            return 0.0
        histogram = self._flush()
        top = histogram.get_highest_equivalent_value(histogram.get_max_value())
        return float(top) / 1000

    def distribution(self, steps: int = 40) -> list[tuple[float, int]]:
        """(upper bound in ms, samples) buckets on a logarithmic scale, for charts."""
        if not self.count:
            return []
        low, high = max(self.min, 0.001), max(self.max, 0.001)
        if high <= low:
            return [(high, self.count)]
        ratio = (high / low) ** (1 / steps)
        bounds = [low * ratio**index for index in range(1, steps + 1)]
        buckets: list[tuple[float, int]] = []
        below = 0
        for bound in bounds:
            cumulative = self._count_at_or_below(bound)
            buckets.append((bound, cumulative - below))
            below = cumulative
        return buckets

    def _count_at_or_below(self, millis: float) -> int:
        total = 0
        limit = millis * 1000
        for item in self._flush().get_recorded_iterator():
            if item.value_iterated_to > limit:
                break
            total += item.count_at_value_iterated_to
        return total

    def encode(self) -> str:
        """The histogram as text (HdrHistogram's compressed, base64 form)."""
        return bytes(self._flush().encode()).decode("ascii")

    @classmethod
    def decode(cls, text: str) -> Latencies:
        return cls(text)


@dataclass
class RunResult:
    """What a run measured (one process's, or several merged)."""

    scenario: str
    connections: int  # asked for
    duration: float = 0.0  # the measured window, seconds
    warmup: float = 0.0
    rate: float | None = None  # open loop: requests/s asked for in all
    requests: int = 0  # completed in the window without an error
    warmup_requests: int = 0
    errors: Counter[str] = field(default_factory=Counter)
    latency: Latencies = field(default_factory=Latencies)
    connect: Latencies = field(default_factory=Latencies)
    reached: int = 0  # connections that connected
    lost: int = 0  # connected, then ended before the run did
    late_sends: int = 0  # open loop: sends that started after their time
    per_second: list[int] = field(default_factory=list)  # completions by second of the window
    # CPU seconds (user + system) this process spent in the window: what a load
    # generator costs, for requests per CPU second.
    cpu: float = 0.0
    # The process's peak resident memory, MiB (summed over processes).
    memory: float = 0.0

    def count_second(self, second: int) -> None:
        if second >= len(self.per_second):
            self.per_second.extend([0] * (second + 1 - len(self.per_second)))
        self.per_second[second] += 1

    def merge(self, other: RunResult) -> None:
        """Add another process's result of the same run."""
        self.connections += other.connections
        self.duration = max(self.duration, other.duration)
        if other.rate is not None:
            self.rate = (self.rate or 0) + other.rate
        self.requests += other.requests
        self.warmup_requests += other.warmup_requests
        self.errors.update(other.errors)
        self.latency.add(other.latency)
        self.connect.add(other.connect)
        self.reached += other.reached
        self.lost += other.lost
        self.late_sends += other.late_sends
        self.cpu += other.cpu
        self.memory += other.memory
        for second, count in enumerate(other.per_second):
            if second >= len(self.per_second):
                self.per_second.append(0)
            self.per_second[second] += count

    def to_wire(self) -> dict[str, Any]:
        """Everything, histograms included, for another process to merge."""
        return {
            "scenario": self.scenario,
            "connections": self.connections,
            "duration": self.duration,
            "warmup": self.warmup,
            "rate": self.rate,
            "requests": self.requests,
            "warmup_requests": self.warmup_requests,
            "errors": dict(self.errors),
            "latency": self.latency.encode(),
            "connect": self.connect.encode(),
            "reached": self.reached,
            "lost": self.lost,
            "late_sends": self.late_sends,
            "per_second": self.per_second,
            "cpu": self.cpu,
            "memory": self.memory,
        }

    @classmethod
    def from_wire(cls, record: Mapping[str, Any]) -> RunResult:
        return cls(
            scenario=record["scenario"],
            connections=record["connections"],
            duration=record["duration"],
            warmup=record["warmup"],
            rate=record["rate"],
            requests=record["requests"],
            warmup_requests=record["warmup_requests"],
            errors=Counter(record["errors"]),
            latency=Latencies.decode(record["latency"]),
            connect=Latencies.decode(record["connect"]),
            reached=record["reached"],
            lost=record["lost"],
            late_sends=record["late_sends"],
            per_second=list(record["per_second"]),
            cpu=record["cpu"],
            memory=record["memory"],
        )


def _ms(value: float) -> float:
    return round(value, 3)


def _percentile_key(percent: float) -> str:
    return f"{percent:g}"


def report(result: RunResult) -> dict[str, Any]:
    """The run as one JSON object: crank's names first, then hubcli's own."""
    latency, connect = result.latency, result.connect
    rps = result.requests / result.duration if result.duration > 0 else 0.0
    record: dict[str, Any] = {
        "signalr/requests": result.requests,
        "signalr/rps/max": round(rps, 1),
        "signalr/latency/mean": _ms(latency.mean),
        "signalr/latency/50": _ms(latency.percentile(50)),
        "signalr/latency/75": _ms(latency.percentile(75)),
        "signalr/latency/90": _ms(latency.percentile(90)),
        "signalr/latency/99": _ms(latency.percentile(99)),
        "signalr/latency/max": _ms(latency.max),
        "hubcli/scenario": result.scenario,
        "hubcli/duration": round(result.duration, 3),
        "hubcli/warmup": result.warmup,
        "hubcli/rate": result.rate,
        "hubcli/latency/min": _ms(latency.min),
        "hubcli/latency/99.9": _ms(latency.percentile(99.9)),
        "hubcli/latency/99.99": _ms(latency.percentile(99.99)),
        "hubcli/requests/warmup": result.warmup_requests,
        "hubcli/errors": sum(result.errors.values()),
        "hubcli/errors/by-kind": dict(sorted(result.errors.items())),
        "hubcli/sends/late": result.late_sends,
        "hubcli/connections": result.connections,
        "hubcli/connections/reached": result.reached,
        "hubcli/connections/lost": result.lost,
        "hubcli/connect/mean": _ms(connect.mean),
        "hubcli/connect/50": _ms(connect.percentile(50)),
        "hubcli/connect/99": _ms(connect.percentile(99)),
        "hubcli/connect/max": _ms(connect.max),
        "hubcli/rps/by-second": list(result.per_second),
        "hubcli/client/cpu": round(result.cpu, 3),
        "hubcli/client/memory-mib": round(result.memory, 1),
        "hubcli/client/requests-per-cpu-second": (
            round(result.requests / result.cpu, 1) if result.cpu > 0 else None
        ),
        "hubcli/latency/histogram": latency.encode(),
    }
    return record


def csv_lines(record: Mapping[str, Any]) -> list[str]:
    """The report's single values as a CSV header line and a value line (lists,
    objects and the histogram left out), so runs append to one sheet."""
    keys = [
        key
        for key, value in record.items()
        if not isinstance(value, (list, dict)) and key != "hubcli/latency/histogram"
    ]
    values = ["" if record[key] is None else str(record[key]) for key in keys]
    return [",".join(keys), ",".join(_csv_cell(value) for value in values)]


def _csv_cell(text: str) -> str:
    if any(character in text for character in ',"\n'):
        return '"' + text.replace('"', '""') + '"'
    return text


def _format_ms(value: float) -> str:
    if value >= 1000:
        return f"{value / 1000:.2f} s"
    if value >= 10:
        return f"{value:.1f} ms"
    return f"{value:.3f} ms"


def summary_lines(record: Mapping[str, Any]) -> list[str]:
    """ghz's summary layout, for a person."""
    lines = [
        "Summary:",
        f"  Scenario:     {record['hubcli/scenario']}",
        f"  Count:        {record['signalr/requests']}",
        f"  Total:        {record['hubcli/duration']:.2f} s",
        f"  Slowest:      {_format_ms(record['signalr/latency/max'])}",
        f"  Fastest:      {_format_ms(record['hubcli/latency/min'])}",
        f"  Average:      {_format_ms(record['signalr/latency/mean'])}",
        f"  Requests/sec: {record['signalr/rps/max']:.2f}",
    ]
    per_cpu = record.get("hubcli/client/requests-per-cpu-second")
    if per_cpu is not None:
        lines.append(
            f"  Client CPU:   {record['hubcli/client/cpu']:.2f} s, "
            f"{per_cpu:,.0f} requests a CPU second"
        )
    if record.get("hubcli/rate") is not None:
        lines.append(
            f"  Rate asked:   {record['hubcli/rate']:g}/s, late sends {record['hubcli/sends/late']}"
        )
    lines += ["", "Latency distribution:"]
    for percent, key in (
        (50, "signalr/latency/50"),
        (75, "signalr/latency/75"),
        (90, "signalr/latency/90"),
        (99, "signalr/latency/99"),
        (99.9, "hubcli/latency/99.9"),
        (99.99, "hubcli/latency/99.99"),
    ):
        lines.append(f"  {percent:g} % in {_format_ms(record[key])}")
    lines += [
        "",
        "Connections:",
        f"  {record['hubcli/connections/reached']} of {record['hubcli/connections']} reached, "
        f"{record['hubcli/connections/lost']} lost",
        f"  connect: mean {_format_ms(record['hubcli/connect/mean'])}, "
        f"p50 {_format_ms(record['hubcli/connect/50'])}, "
        f"p99 {_format_ms(record['hubcli/connect/99'])}, "
        f"max {_format_ms(record['hubcli/connect/max'])}",
        "",
        "Errors:" if record["hubcli/errors"] else "Errors: none",
    ]
    for kind, count in record["hubcli/errors/by-kind"].items():
        lines.append(f"  [{kind}] {count}")
    return lines


# ------------------------------------------------------------------ --fail-if

# The names a condition may use, and the report key each reads.
CONDITION_METRICS: Final[dict[str, str]] = {
    "p50": "signalr/latency/50",
    "p75": "signalr/latency/75",
    "p90": "signalr/latency/90",
    "p99": "signalr/latency/99",
    "p99.9": "hubcli/latency/99.9",
    "p99.99": "hubcli/latency/99.99",
    "max": "signalr/latency/max",
    "mean": "signalr/latency/mean",
    "rps": "signalr/rps/max",
    "requests": "signalr/requests",
    "errors": "hubcli/errors",
    "lost": "hubcli/connections/lost",
    "late": "hubcli/sends/late",
}
_LATENCIES: Final = frozenset({"p50", "p75", "p90", "p99", "p99.9", "p99.99", "max", "mean"})
_UNITS: Final = {"us": 0.001, "ms": 1.0, "s": 1000.0}
_CONDITION: Final = re.compile(
    r"\s*(?P<metric>[a-z0-9.]+)\s*(?P<op>>=|<=|>|<|==)\s*"
    r"(?P<value>[0-9]+(?:\.[0-9]+)?)\s*(?P<unit>us|ms|s)?\s*"
)
_OPERATORS: Final = {
    ">": lambda a, b: a > b,
    ">=": lambda a, b: a >= b,
    "<": lambda a, b: a < b,
    "<=": lambda a, b: a <= b,
    "==": lambda a, b: a == b,
}


@dataclass(frozen=True, slots=True)
class Condition:
    """`METRIC OP VALUE[UNIT]`: the run fails when it holds."""

    text: str
    metric: str
    operator: str
    value: float  # milliseconds for a latency

    def holds(self, record: Mapping[str, Any]) -> bool:
        actual = float(record[CONDITION_METRICS[self.metric]])
        return bool(_OPERATORS[self.operator](actual, self.value))

    def describe(self, record: Mapping[str, Any]) -> str:
        actual = record[CONDITION_METRICS[self.metric]]
        unit = " ms" if self.metric in _LATENCIES else ""
        return f"{self.text} (it is {actual}{unit})"


def parse_condition(text: str) -> Condition:
    """The condition `text` says; ValueError saying what is wrong."""
    match = _CONDITION.fullmatch(text.lower())
    if match is None:
        raise ValueError(f"expected METRIC>VALUE such as 'p99>50ms' or 'errors>0', not {text!r}")
    metric = match["metric"]
    if metric not in CONDITION_METRICS:
        raise ValueError(
            f"unknown metric {metric!r} in {text!r}: one of {', '.join(CONDITION_METRICS)}"
        )
    unit = match["unit"]
    value = float(match["value"])
    if metric in _LATENCIES:
        value *= _UNITS[unit or "ms"]
    elif unit is not None:
        raise ValueError(f"{metric} is a count, not a time: drop {unit!r} in {text!r}")
    return Condition(text.strip(), metric, match["op"], value)


def failed_conditions(
    conditions: Iterable[Condition], record: Mapping[str, Any]
) -> list[Condition]:
    return [condition for condition in conditions if condition.holds(record)]


# ------------------------------------------------------------------ --compare

# What --compare shows, and whether a rise is for the better.
COMPARED: Final[tuple[tuple[str, str, bool], ...]] = (
    ("requests/s", "signalr/rps/max", True),
    ("mean", "signalr/latency/mean", False),
    ("p50", "signalr/latency/50", False),
    ("p90", "signalr/latency/90", False),
    ("p99", "signalr/latency/99", False),
    ("p99.9", "hubcli/latency/99.9", False),
    ("max", "signalr/latency/max", False),
    ("errors", "hubcli/errors", False),
)


@dataclass(frozen=True, slots=True)
class Change:
    name: str
    before: float
    after: float
    higher_is_better: bool

    @property
    def ratio(self) -> float | None:
        return None if self.before == 0 else self.after / self.before

    @property
    def better(self) -> bool | None:
        if self.after == self.before:
            return None
        return (self.after > self.before) == self.higher_is_better

    def line(self) -> str:
        ratio = self.ratio
        if ratio is None:
            change = "new" if self.after else "same"
        else:
            change = f"{(ratio - 1) * 100:+.1f} %"
        verdict = {None: "", True: "  better", False: "  worse"}[self.better]
        return f"  {self.name:<11} {self.before:>12g} -> {self.after:<12g} {change:>9}{verdict}"


def compare(baseline: Mapping[str, Any], record: Mapping[str, Any]) -> list[Change]:
    """The change of each compared metric; ValueError if `baseline` is no report."""
    missing = [key for _, key, _ in COMPARED if key not in baseline]
    if missing:
        raise ValueError(f"not a hubcli bench --json report: no {missing[0]!r}")
    changes = []
    for name, key, higher in COMPARED:
        before, after = baseline[key], record[key]
        if not isinstance(before, (int, float)) or isinstance(before, bool):
            raise ValueError(f"not a hubcli bench --json report: {key!r} is not a number")
        changes.append(Change(name, float(before), float(after), higher))
    return changes


def compare_lines(changes: Sequence[Change]) -> list[str]:
    return ["Compared with the baseline:", *(change.line() for change in changes)]


def is_finite_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
