"""`hubcli serve` as a subprocess, for tests of anything that talks to the hub.

    server = start_hub_server("--keepalive", "1")   # flags as on the command line
    server.url                                      # e.g. http://127.0.0.1:41234/hub
    server.stop()                                   # SIGINT, then wait (kill if stuck)

The server prints its URL as its first stdout line; stderr is kept in a file so a
failing test can show it (`server.stderr_text()`).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from typing import IO

STARTUP_TIMEOUT = 20.0
STOP_TIMEOUT = 10.0


@dataclass
class HubServer:
    url: str
    process: subprocess.Popen[str]
    stderr_file: IO[str] = field(repr=False)
    flags: tuple[str, ...] = ()

    @property
    def base_url(self) -> str:
        """scheme://host:port without the hub path."""
        scheme, _, rest = self.url.partition("://")
        return f"{scheme}://{rest.split('/', 1)[0]}"

    @property
    def ws_url(self) -> str:
        return "ws" + self.url[len("http") :]

    def stderr_text(self) -> str:
        if not self.stderr_file.closed:
            self.stderr_file.flush()
        with open(self.stderr_file.name, encoding="utf-8", errors="replace") as f:
            return f.read()

    def stop(self, sig: int = signal.SIGINT) -> int:
        """Stop with `sig` (SIGINT by default); the exit status."""
        if self.process.poll() is None:
            self.process.send_signal(sig)
            try:
                self.process.wait(STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if self.process.stdout is not None:
            self.process.stdout.close()
        self.stderr_file.close()
        return self.process.returncode


def hubcli_command(*args: str) -> list[str]:
    return [sys.executable, "-m", "hubcli", *args]


def start_hub_server(*flags: str) -> HubServer:
    """Start `hubcli serve --port 0 FLAGS...` and wait for its URL line."""
    stderr_file = tempfile.NamedTemporaryFile(  # noqa: SIM115 - closed by HubServer.stop
        "w+", prefix="hubcli-serve-", suffix=".log", delete=False, encoding="utf-8"
    )
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    process = subprocess.Popen(
        hubcli_command("serve", "--port", "0", *flags),
        stdout=subprocess.PIPE,
        stderr=stderr_file,
        stdin=subprocess.DEVNULL,
        text=True,
        env=env,
    )
    assert process.stdout is not None
    deadline = time.monotonic() + STARTUP_TIMEOUT
    line = ""
    # readline blocks, but the server prints its URL (or exits) well within the
    # timeout; a hung start is caught by the process check below.
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if line or process.poll() is not None:
            break
    server = HubServer(line.strip(), process, stderr_file, tuple(flags))
    if not server.url.startswith(("http://", "https://")):
        server.stop()
        raise RuntimeError(
            f"hubcli serve {' '.join(flags)} did not start (exit {process.returncode}):\n"
            f"{server.stderr_text() if not stderr_file.closed else ''}"
        )
    return server


def serve_refusal(*flags: str) -> str:
    """Run `hubcli serve --port 0 FLAGS...`, which must refuse them as a usage error
    (exit 2, nothing on stdout, one line on stderr); that line."""
    done = subprocess.run(
        hubcli_command("serve", "--port", "0", *flags),
        capture_output=True,
        text=True,
        timeout=STARTUP_TIMEOUT,
        check=False,
    )
    assert done.returncode == 2, done
    assert done.stdout == ""
    [line] = done.stderr.splitlines()
    return line
