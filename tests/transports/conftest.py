"""Real parts for the transport and ways-in tests: certificates made here (trustme), a
forwarding proxy process (proxy.py), TLS hubs.

Every process is started on 127.0.0.1 and stopped at teardown.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import trustme

from tests import serverproc
from tests.cli.hubcli_process import HUBCLI, TIMEOUT, wait_for
from tests.serverproc import HubServer


def without_proxies(env: dict[str, str] | None = None) -> dict[str, str]:
    """This process's environment minus any *_PROXY variable, plus `env`."""
    clean = {
        name: value for name, value in os.environ.items() if not name.lower().endswith("_proxy")
    }
    return {**clean, **(env or {})}


def run_with_env(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """`hubcli ARGS` with exactly the proxy variables in `env`, none inherited."""
    return subprocess.run(
        [*HUBCLI, *args],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        env=without_proxies(env),
        check=False,
    )


@dataclass(frozen=True)
class TlsFiles:
    ca: Path  # the CA certificate a client must trust
    server_cert: Path
    server_key: Path
    client_cert: Path  # certificate and chain, PEM
    client_key: Path


@pytest.fixture(scope="session")
def tls_files(tmp_path_factory: pytest.TempPathFactory) -> TlsFiles:
    directory = tmp_path_factory.mktemp("tls")
    ca = trustme.CA()
    server = ca.issue_cert("127.0.0.1", "localhost")
    client = ca.issue_cert("hubcli-test-client@example.com")
    files = TlsFiles(
        ca=directory / "ca.pem",
        server_cert=directory / "server.pem",
        server_key=directory / "server.key",
        client_cert=directory / "client.pem",
        client_key=directory / "client.key",
    )
    ca.cert_pem.write_to_path(str(files.ca))
    server.private_key_pem.write_to_path(str(files.server_key))
    client.private_key_pem.write_to_path(str(files.client_key))
    for blob in server.cert_chain_pems:
        blob.write_to_path(str(files.server_cert), append=True)
    for blob in client.cert_chain_pems:
        blob.write_to_path(str(files.client_cert), append=True)
    return files


@pytest.fixture(scope="session")
def tls_hub(tls_files: TlsFiles) -> Iterator[HubServer]:
    """`hubcli serve` on https:// with a certificate from the test CA."""
    server = serverproc.start_hub_server(
        "--tls-cert", str(tls_files.server_cert), "--tls-key", str(tls_files.server_key)
    )
    yield server
    server.stop()


@dataclass
class Proxy:
    """A proxy.py process; `log()` is its access log so far."""

    url: str
    process: subprocess.Popen[bytes]
    log_path: Path

    def log(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace")

    def access_lines(self) -> list[str]:
        return [line for line in self.log().splitlines() if "access_log" in line]

    def wait_for_access(self, text: str, count: int = 1) -> bool:
        """Wait until `count` access-log lines contain `text` (lines are written when a
        proxied connection ends)."""
        return wait_for(lambda: sum(text in line for line in self.access_lines()) >= count)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def _start_proxy(directory: Path, *flags: str) -> Proxy:
    port_file = directory / "port"
    log_path = directory / "access.log"
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "proxy",
            "--hostname",
            "127.0.0.1",
            "--port",
            "0",
            "--port-file",
            str(port_file),
            "--num-acceptors",
            "1",
            "--num-workers",
            "1",
            "--log-level",
            "INFO",
            "--log-file",
            str(log_path),
            *flags,
        ],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=without_proxies(),
    )
    proxy = Proxy("", process, log_path)
    started = wait_for(
        lambda: (
            process.poll() is not None
            or (port_file.exists() and port_file.read_text().strip().isdigit())
        )
    )
    if not started or process.poll() is not None:
        proxy.stop()
        raise RuntimeError(f"proxy.py did not start (exit {process.returncode})")
    proxy.url = f"http://127.0.0.1:{port_file.read_text().strip()}"
    return proxy


@pytest.fixture(scope="session")
def proxy() -> Iterator[Proxy]:
    """One forwarding proxy (proxy.py) for the session, on 127.0.0.1."""
    with tempfile.TemporaryDirectory(prefix="hubcli-proxy-") as directory:
        started = _start_proxy(Path(directory))
        yield started
        started.stop()


@pytest.fixture
def start_proxy(tmp_path: Path) -> Iterator[Callable[..., Proxy]]:
    """A factory for a proxy.py with extra flags (e.g. --basic-auth)."""
    proxies: list[Proxy] = []

    def start(*flags: str) -> Proxy:
        directory = tmp_path / f"proxy{len(proxies)}"
        directory.mkdir()
        started = _start_proxy(directory, *flags)
        proxies.append(started)
        return started

    yield start
    for started in proxies:
        started.stop()
