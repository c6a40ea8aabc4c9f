"""The official @microsoft/signalr client (on Node) against `hubcli serve`.

Runs conformance.mjs over every transport and protocol combination the client
allows, with skipNegotiation, a token-protected hub and redirect endpoints, and
the client's stateful and automatic reconnects against a chaos hub. The
Node packages are installed with `npm ci` from package-lock.json (exact versions)
whenever the lockfile changed. Without Node the test is skipped, except in CI
(env CI set), where it fails.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.locks import exclusive
from tests.serverproc import HubServer

HERE = Path(__file__).parent
TOKEN = "conformance-token"
# 7 transport/protocol combinations x (18 hub scenarios + 2-4 security ones) + keep-alive
# on the 5 that ping: 7 x 18 + 5 x 4 + 2 x 2 + 5; then reconnects: 3 stateful/chaos ones
# on the 2 WebSockets combinations that negotiate, and Close{allowReconnect} on all 5
# that negotiate; then the raw echo connection through HttpConnection: 4; then the
# functional-tests-like hub: 2 on all 7 combinations, 4 more on the 5 that negotiate.
MIN_SCENARIOS = 155 + 2 * 3 + 5 + 4 + 7 * 2 + 5 * 4
# The official functional tests' app, as `hubcli serve` settings: several endpoints
# of one hub, a JWT key, PascalCase JSON, detailed errors and negotiate cookies.
FUNCTIONAL_HUB = (
    "--path",
    "/testhub",
    "--jwt-key",
    "conformance-jwt-key-of-at-least-32-bytes",
    "--hub",
    "/testhub:authorize=no",
    "--hub",
    "/testhub-nows:transports=sse+longpolling,authorize=no",
    "--hub",
    "/authorized:authorize=yes",
    "--json-naming",
    "pascal",
    "--detailed-errors",
    "--set-cookie",
    "testCookie=testValue; path=/",
    "--set-cookie",
    "expiredCookie=gone; expires=Thu, 01 Jan 1970 00:00:00 GMT; path=/",
)


def _tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        message = f"{name} is not installed; the official-client conformance test needs Node 20+"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return path


def _install(npm: str) -> None:
    lock = HERE / "package-lock.json"
    stamp = HERE / "node_modules" / ".hubcli-lock-sha256"
    digest = hashlib.sha256(lock.read_bytes()).hexdigest()
    # Checked again under the lock: another xdist worker may have installed meanwhile.
    with exclusive(HERE / ".npm-install.lock"):
        if stamp.exists() and stamp.read_text().strip() == digest:
            return
        subprocess.run(
            [npm, "ci", "--no-audit", "--no-fund", "--loglevel=error"],
            cwd=HERE,
            check=True,
            timeout=600,
        )
        stamp.write_text(digest + "\n")


def test_official_client_against_hubcli_serve(
    start_hub_server: Callable[..., HubServer],
) -> None:
    node, npm = _tool("node"), _tool("npm")
    _install(npm)
    open_hub = start_hub_server("--keepalive", "0.3", "--client-timeout", "1.5")
    protected_hub = start_hub_server("--require-token", TOKEN)
    chaos_hub = start_hub_server("--chaos", "--allow-stateful-reconnect", "-v")
    functional_hub = start_hub_server(*FUNCTIONAL_HUB)
    done = subprocess.run(
        [
            node,
            "conformance.mjs",
            open_hub.url,
            protected_hub.url,
            TOKEN,
            chaos_hub.url,
            functional_hub.url,
        ],
        cwd=HERE,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    lines = done.stdout.splitlines()
    failures = [line for line in lines if line.startswith("not ok")]
    report = (
        f"{done.stdout}\n--- node stderr ---\n{done.stderr}"
        f"\n--- open hub stderr ---\n{open_hub.stderr_text()}"
        f"\n--- protected hub stderr ---\n{protected_hub.stderr_text()}"
        f"\n--- chaos hub stderr ---\n{chaos_hub.stderr_text()}"
        f"\n--- functional hub stderr ---\n{functional_hub.stderr_text()}"
    )
    assert done.returncode == 0, report
    assert not failures, report
    summary = json.loads(lines[-1])
    assert summary["failed"] == [], report
    assert summary["passed"] == summary["total"] >= MIN_SCENARIOS, report
    assert (
        summary["client"]
        == json.loads((HERE / "package.json").read_text())["dependencies"]["@microsoft/signalr"]
    )
