"""Shared pytest fixtures. Each owner keeps their fixtures in their own block."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests import serverproc
from tests.locks import exclusive
from tests.serverproc import HubServer

# ---------------------------------------------------------------- built-in hub
# (owner: the `hubcli serve` engineer) -- see tests/serverproc.py


@pytest.fixture
def start_hub_server() -> Iterator[Callable[..., HubServer]]:
    """A factory: start_hub_server("--keepalive", "1") -> HubServer (.url, .stop()).

    Every server it started is stopped with SIGINT at teardown.
    """
    servers: list[HubServer] = []

    def start(*flags: str) -> HubServer:
        server = serverproc.start_hub_server(*flags)
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()


@pytest.fixture
def hub_server(start_hub_server: Callable[..., HubServer]) -> str:
    """The URL of a fresh `hubcli serve --port 0` (default flags) for this test."""
    return start_hub_server().url


@pytest.fixture(scope="session")
def shared_hub_server() -> Iterator[str]:
    """One `hubcli serve` for the whole session (faster; its state is shared, so
    compare counters such as GetCancelledStreamCount before and after)."""
    server = serverproc.start_hub_server()
    yield server.url
    server.stop()


# ------------------------------------------------------------ end built-in hub


# ---------------------------------------------------------------- outside programs
# Programs some tests run, installed in CI when missing: the shells whose completion
# files are tested, jq for the pipeline test of issue 4, tmux, the real terminal the
# interactive session shell is driven in, and a headless browser to render
# `hubcli bench --html` pages in (issue 15).
TOOLS = ("zsh", "fish", "jq", "tmux", "chromium")
# apt-get update + install of them: about 10-30 s, once per session, in CI only.
APT_TIMEOUT = 600


def _in_ci() -> bool:
    return bool(os.environ.get("CI"))


@pytest.fixture(scope="session")
def installed_tools() -> set[str]:
    """TOOLS, installed from Debian's packages when missing in CI (as root).

    Outside CI a missing tool skips its tests instead: a developer's machine is
    not ours to change.
    """
    with exclusive(Path(tempfile.gettempdir()) / "hubcli-tests-apt.lock"):
        _install_missing_tools()
    return {tool for tool in TOOLS if shutil.which(tool) is not None}


def _install_missing_tools() -> None:
    missing = [tool for tool in TOOLS if shutil.which(tool) is None]
    if missing and _in_ci() and os.geteuid() == 0 and shutil.which("apt-get"):
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        subprocess.run(
            ["apt-get", "update", "-qq"],
            env=env,
            timeout=APT_TIMEOUT,
            check=False,
            capture_output=True,
        )
        subprocess.run(
            ["apt-get", "install", "-y", "-qq", "--no-install-recommends", *missing],
            env=env,
            timeout=APT_TIMEOUT,
            check=False,
            capture_output=True,
        )


@pytest.fixture
def require_tool(installed_tools: set[str]) -> Callable[[str], str]:
    """require_tool("zsh") -> its path; skips outside CI when absent, fails in CI."""

    def require(tool: str) -> str:
        path = shutil.which(tool)
        if path is None or tool not in installed_tools:
            message = f"{tool} is not installed (apt-get install {tool})"
            if _in_ci():
                pytest.fail(f"{message}; CI installs it, so this is a broken setup")
            pytest.skip(message)
        return path

    return require
