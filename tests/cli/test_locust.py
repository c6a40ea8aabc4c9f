"""The Locust user (hubcli[locust]): a master and two workers on loopback,
headless, drive a real `hubcli serve`; the master's statistics match the server's
own counters."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

from .hubcli_process import run

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "locust"
LOCUST = [sys.executable, "-m", "locust"]


def counters(url: str) -> dict[str, Any]:
    result = run("invoke", url, "GetCounters")
    assert result.returncode == 0, result.stderr
    value: dict[str, Any] = json.loads(result.stdout)
    return value


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def test_master_and_two_workers_match_the_servers_counters(hub_server: str) -> None:
    before = counters(hub_server)
    port = free_port()
    locustfile = str(EXAMPLES / "echo.py")
    master = subprocess.Popen(
        [
            *LOCUST, "-f", locustfile, "--headless", "--master",
            "--master-bind-host", "127.0.0.1", "--master-bind-port", str(port),
            "--expect-workers", "2", "-u", "4", "-r", "4", "-t", "5s",
            "--host", hub_server, "--stop-timeout", "5", "--json",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
    )  # fmt: skip
    workers = [
        subprocess.Popen(
            [
                *LOCUST,
                "-f",
                locustfile,
                "--worker",
                "--master-host",
                "127.0.0.1",
                "--master-port",
                str(port),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            stdin=subprocess.DEVNULL,
        )
        for _ in range(2)
    ]
    try:
        out, err = master.communicate(timeout=120)
        for worker in workers:
            worker.wait(timeout=30)
    finally:
        for process in (master, *workers):
            if process.poll() is None:
                process.kill()
                process.wait()
    assert master.returncode == 0, err.decode()
    stats = {entry["name"]: entry for entry in json.loads(out)}
    assert "invoke:Echo" in stats, (stats, err.decode())
    after = counters(hub_server)
    echoes = after["benchmarkCalls"]["Echo"] - before["benchmarkCalls"].get("Echo", 0)
    assert stats["invoke:Echo"]["num_requests"] > 0
    assert stats["invoke:Echo"]["num_failures"] == 0
    # Every Echo the server answered is in the master's statistics, and no other.
    assert stats["invoke:Echo"]["num_requests"] == echoes
    assert stats["connect"]["num_requests"] == 4
    assert after["connectionsOpened"] - before["connectionsOpened"] == 4 + 1  # GetCounters
