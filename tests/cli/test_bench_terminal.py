"""`hubcli bench` at a real terminal (a pseudo-terminal on stdout and stderr): the
live line while it runs, wiped, then ghz's summary."""

from __future__ import annotations

import os
import pty
import re
import subprocess

from tests.cli.hubcli_process import HUBCLI, TIMEOUT
from tests.cli.pty_output import read_until_closed


def at_terminal(*args: str) -> tuple[int, str]:
    """Run hubcli with a pseudo-terminal as stdout and stderr; the status and all
    that reached the terminal, as written (\\r kept)."""
    main, child = pty.openpty()
    try:
        process = subprocess.Popen(
            [*HUBCLI, *args], stdin=subprocess.DEVNULL, stdout=child, stderr=child
        )
    finally:
        os.close(child)
    screen = read_until_closed(main)
    return process.wait(timeout=TIMEOUT), screen


def test_live_line_then_the_summary(hub_server: str) -> None:
    status, screen = at_terminal("bench", hub_server, "-c", "2", "-d", "1.5")
    assert status == 0, screen
    live = re.findall(r"\rhubcli: bench echo: measuring, ([\d,]+) requests \(", screen)
    assert live, screen
    counts = [int(count.replace(",", "")) for count in live]
    assert counts == sorted(counts)
    assert counts[-1] > 0
    # Wiped before the report: the summary starts on a clean line.
    before, summary = screen.split("Summary:\n", 1)
    assert before.endswith("\r")
    assert "Latency distribution:\n  50 % in " in summary
    assert "hubcli: bench" not in summary
    requests = int(re.search(r"Count:\s+(\d+)", summary)[1])  # type: ignore[index]
    assert requests >= counts[-1]


def test_no_live_line_with_q(hub_server: str) -> None:
    status, screen = at_terminal("bench", "-q", hub_server, "-c", "1", "-d", "1")
    assert status == 0, screen
    assert "hubcli: bench" not in screen
    assert screen.startswith("Summary:\n")
