"""Negotiate's other answers, through the CLI: the redirect limit, and a classic
(non-Core) ASP.NET SignalR server recognised and named."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator

import pytest

from tests.cli.hubcli_process import run

# What a classic ASP.NET SignalR server answers to .../negotiate (shape of its 2.x
# PersistentConnection response), served by a few lines of stdlib HTTP server.
CLASSIC_SERVER = r"""
import http.server, json, sys

class Classic(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        body = json.dumps({
            "Url": "/signalr", "ConnectionToken": "abc", "ConnectionId": "id-1",
            "KeepAliveTimeout": 20.0, "DisconnectTimeout": 30.0, "ConnectionTimeout": 110.0,
            "TryWebSockets": True, "ProtocolVersion": "1.5", "TransportConnectTimeout": 5.0,
        }).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass

server = http.server.HTTPServer(("127.0.0.1", 0), Classic)
print(f"http://127.0.0.1:{server.server_port}/signalr", flush=True)
server.serve_forever()
"""


@pytest.fixture
def classic_server() -> Iterator[str]:
    process = subprocess.Popen(
        [sys.executable, "-c", CLASSIC_SERVER], stdout=subprocess.PIPE, text=True
    )
    assert process.stdout is not None
    try:
        yield process.stdout.readline().strip()
    finally:
        process.kill()
        process.wait()
        process.stdout.close()


def test_classic_aspnet_signalr_is_named(classic_server: str) -> None:
    result = run("invoke", classic_server, "Add", "1", "2")
    assert result.returncode == 4
    assert result.stderr == (
        "hubcli: error: negotiate failed: Detected a connection attempt to an ASP.NET "
        "SignalR Server. This client only supports connecting to an ASP.NET Core SignalR "
        "Server.\n"
    )


def test_redirect_limit(shared_hub_server: str) -> None:
    # As the official clients: at most 100 negotiate requests, so 99 hops are fine.
    assert run("invoke", f"{shared_hub_server}/redirect/99", "Add", "1", "2").stdout == "3\n"
    result = run("invoke", f"{shared_hub_server}/redirect/100", "Add", "1", "2")
    assert result.returncode == 4
    assert result.stderr == "hubcli: error: Negotiate redirection limit exceeded.\n"
