"""man/hubcli.1 renders cleanly and says what the issue asks of a man page."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from hubcli.cli.exit_codes import ExitCode

ROOT = Path(__file__).resolve().parents[2]
PAGE = ROOT / "man" / "hubcli.1"

pytestmark = pytest.mark.skipif(
    shutil.which("man") is None or shutil.which("groff") is None, reason="man/groff missing"
)


def _render(width: int) -> str:
    result = subprocess.run(
        ["man", "--warnings", "-l", str(PAGE)],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "MANWIDTH": str(width), "MAN_KEEP_FORMATTING": "", "LC_ALL": "C.UTF-8"},
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stderr == "", f"man at {width} columns: {result.stderr}"
    return result.stdout


def test_groff_reports_no_warnings() -> None:
    result = subprocess.run(
        ["groff", "-man", "-ww", "-z", str(PAGE)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0
    assert result.stderr == ""


@pytest.mark.parametrize("width", [60, 80, 120])
def test_man_renders_without_warnings(width: int) -> None:
    text = _render(width)
    if width >= 80:  # examples are literal lines: up to 80 columns they fit
        assert max(len(line) for line in text.splitlines()) <= width


def test_sections_and_content() -> None:
    text = _render(80)
    headings = re.findall(r"^([A-Z][A-Z ]+)$", text, re.MULTILINE)
    assert headings == [
        "NAME",
        "SYNOPSIS",
        "DESCRIPTION",
        "COMMANDS",
        "OPTIONS",
        "EXIT STATUS",
        "ENVIRONMENT",
        "EXAMPLES",
        "FILES",
        "SEE ALSO",
    ]
    assert "hubcli - command-line client for ASP.NET Core SignalR hubs" in text
    for needle in (
        "| jq",
        "cat data | hubcli upload",
        "stream -n 3",
        "--max-time 5",
        "HUBCLI_TOKEN",
        "HTTPS_PROXY",
        "NO_PROXY",
        "NO_COLOR",
        "share/bash-completion/completions/hubcli",
    ):
        assert needle in text, needle
    status = text.split("EXIT STATUS", 1)[1].split("ENVIRONMENT", 1)[0]
    for code in ExitCode:
        assert re.search(rf"^\s+{int(code)}\s", status, re.MULTILINE), code
    # No hyphenation breaking an option name, a URL or a word across lines.
    assert "\u2010\n" not in text
