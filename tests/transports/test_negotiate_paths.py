"""Negotiate's other answers, through the CLI: the redirect limit, a classic
(non-Core) ASP.NET SignalR server recognised and named, and redirects that cannot
be followed."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable, Iterator

import pytest

from tests.cli.hubcli_process import run
from tests.serverproc import HubServer
from tests.transports.conftest import TlsFiles

# A negotiate endpoint that answers every POST with the JSON body in argv[1].
CANNED_SERVER = r"""
import http.server, sys

BODY = sys.argv[1].encode()

class Canned(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(BODY)))
        self.end_headers()
        self.wfile.write(BODY)

    def log_message(self, *args):
        pass

server = http.server.HTTPServer(("127.0.0.1", 0), Canned)
print(f"http://127.0.0.1:{server.server_port}/signalr", flush=True)
server.serve_forever()
"""

# What a classic ASP.NET SignalR server answers to .../negotiate (the shape of its
# 2.x PersistentConnection response).
CLASSIC_ANSWER = {
    "Url": "/signalr",
    "ConnectionToken": "abc",
    "ConnectionId": "id-1",
    "KeepAliveTimeout": 20.0,
    "DisconnectTimeout": 30.0,
    "ConnectionTimeout": 110.0,
    "TryWebSockets": True,
    "ProtocolVersion": "1.5",
    "TransportConnectTimeout": 5.0,
}


@pytest.fixture
def canned_server() -> Iterator[Callable[[object], str]]:
    """Start servers answering negotiate with a given body; the URL of each."""
    processes: list[subprocess.Popen[str]] = []

    def start(answer: object) -> str:
        process = subprocess.Popen(
            [sys.executable, "-c", CANNED_SERVER, json.dumps(answer)],
            stdout=subprocess.PIPE,
            text=True,
        )
        processes.append(process)
        assert process.stdout is not None
        return process.stdout.readline().strip()

    yield start
    for process in processes:
        process.kill()
        process.wait()
        assert process.stdout is not None
        process.stdout.close()


def test_classic_aspnet_signalr_is_named(canned_server: Callable[[object], str]) -> None:
    result = run("invoke", canned_server(CLASSIC_ANSWER), "Add", "1", "2")
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


@pytest.mark.parametrize(
    "url", ["ftp://host/hub", "", "/hub", "http://[::1/hub", "http://h:99999/"]
)
def test_a_redirect_to_a_url_no_client_can_use_fails_negotiate(
    canned_server: Callable[[object], str], url: str
) -> None:
    result = run("invoke", canned_server({"url": url}), "Add", "1", "2")
    assert result.returncode == 4
    assert result.stderr == (
        "hubcli: error: negotiate failed: Invalid negotiation response: the redirect 'url' "
        "is not an absolute http(s) or ws(s) URL.\n"
    )


def test_a_redirect_token_no_header_can_carry_fails_negotiate(
    canned_server: Callable[[object], str], shared_hub_server: str
) -> None:
    def redirect(token: str) -> str:
        return canned_server({"url": shared_hub_server, "accessToken": token})

    assert run("invoke", redirect("good"), "Add", "1", "2").stdout == "3\n"
    result = run("invoke", redirect("t0k\r\nX-Injected: 1"), "Add", "1", "2")
    assert result.returncode == 4
    assert result.stderr == (
        "hubcli: error: negotiate failed: the redirect's access token cannot be sent: "
        "it has a control character (such as CR or LF)\n"
    )


@pytest.mark.parametrize("transport", ["websockets", "sse", "longpolling"])
def test_a_redirect_to_a_ws_or_wss_url_negotiates_over_http_or_https(
    canned_server: Callable[[object], str],
    shared_hub_server: str,
    tls_hub: HubServer,
    tls_files: TlsFiles,
    transport: str,
) -> None:
    for hub_url in (shared_hub_server, tls_hub.url):
        ws_url = "ws" + hub_url.removeprefix("http")
        redirect = canned_server({"url": ws_url})
        result = run(
            "invoke", "-t", transport, "--cacert", str(tls_files.ca), redirect, "Add", "1", "2"
        )
        assert (result.returncode, result.stdout, result.stderr) == (0, "3\n", ""), ws_url
