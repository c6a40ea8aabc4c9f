"""HTTP redirects, followed where the official client's requests follow them: a real
redirector process in front of `hubcli serve`, answering every request (WebSocket
upgrades too) with a 3xx. Negotiate, the SSE GET and the Long Polling GET, POST and
DELETE follow it; a WebSocket upgrade does not, so `-t auto` falls back past
WebSockets. At most 20 redirects; credentials go to the first origin only."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import pytest

from tests import serverproc
from tests.cli.hubcli_process import TIMEOUT, run
from tests.serverproc import HubServer

TOKEN = "redirect-token"


@dataclass
class Redirector:
    url: str  # http://127.0.0.1:PORT
    process: subprocess.Popen[str]

    def stop(self) -> list[dict[str, str | None]]:
        """Stop it; the requests it answered."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
        output, _ = self.process.communicate(timeout=TIMEOUT)
        return [json.loads(line) for line in output.splitlines() if line.strip()]


@pytest.fixture
def start_redirector() -> Iterator[Callable[..., Redirector]]:
    started: list[Redirector] = []

    def start(target: str, *flags: str) -> Redirector:
        process = subprocess.Popen(
            [sys.executable, "-m", "tests.transports.redirector", target, *flags],
            stdout=subprocess.PIPE,
            stdin=subprocess.DEVNULL,
            text=True,
        )
        assert process.stdout is not None
        redirector = Redirector(process.stdout.readline().strip(), process)
        started.append(redirector)
        return redirector

    yield start
    for redirector in started:
        redirector.stop()


def _base(url: str) -> str:
    scheme, _, rest = url.partition("://")
    return f"{scheme}://{rest.split('/', 1)[0]}"


@pytest.mark.parametrize(
    ("transport", "status"),
    [("auto", 307), ("sse", 308), ("longpolling", 307), ("longpolling", 308)],
)
def test_every_http_request_follows_redirects(
    shared_hub_server: str,
    start_redirector: Callable[..., Redirector],
    transport: str,
    status: str,
) -> None:
    redirector = start_redirector(_base(shared_hub_server), "--status", str(status))
    result = run("invoke", "-v", "-t", transport, f"{redirector.url}/hop/1/hub", "Add", "2", "3")
    assert (result.returncode, result.stdout) == (0, "5\n"), result.stderr
    requests = redirector.stop()
    methods = {request["method"] for request in requests}
    assert "POST" in methods  # negotiate (and Long Polling's sends) went through it
    if transport == "auto":
        # The WebSocket upgrade met the redirect, failed, and the next transport worked.
        assert "WebSockets failed" in result.stderr or "trying ServerSentEvents" in result.stderr
    if transport == "longpolling":
        assert "DELETE" in methods


@pytest.mark.parametrize("status", [301, 302, 303])
def test_301_302_and_303_turn_negotiates_post_into_a_get(
    shared_hub_server: str, start_redirector: Callable[..., Redirector], status: int
) -> None:
    # As fetch (and curl -L) do; the hub does not negotiate on a GET.
    redirector = start_redirector(_base(shared_hub_server), "--status", str(status))
    result = run("invoke", f"{redirector.url}/hop/0/hub", "Add", "2", "3")
    assert result.returncode == 4
    assert "405 Method Not Allowed" in result.stderr
    assert [request["method"] for request in redirector.stop()] == ["POST"]


def test_a_websocket_upgrade_is_not_redirected(
    shared_hub_server: str, start_redirector: Callable[..., Redirector]
) -> None:
    redirector = start_redirector(_base(shared_hub_server))
    result = run("invoke", "-t", "websockets", f"{redirector.url}/hop/0/hub", "Add", "2", "3")
    assert result.returncode == 4
    assert "(HTTP 307); a WebSocket upgrade is not redirected" in result.stderr
    assert result.stderr.count("\n") == 1


def test_more_than_20_redirects_fail_with_exit_4(
    shared_hub_server: str, start_redirector: Callable[..., Redirector]
) -> None:
    redirector = start_redirector(_base(shared_hub_server))
    # 19 hops on the redirector and one to the hub: 20 redirects, the limit, work.
    ok = run("invoke", f"{redirector.url}/hop/19/hub", "Add", "2", "3")
    assert (ok.returncode, ok.stdout) == (0, "5\n"), ok.stderr
    too_many = run("invoke", f"{redirector.url}/hop/20/hub", "Add", "2", "3")
    assert too_many.returncode == 4
    assert too_many.stderr == (
        f"hubcli: error: POST {redirector.url}/hop/20/hub/negotiate was redirected more "
        "than 20 times\n"
    )


def test_credentials_go_to_the_first_origin_only(
    start_redirector: Callable[..., Redirector],
) -> None:
    protected: HubServer = serverproc.start_hub_server("--require-token", TOKEN)
    try:
        redirector = start_redirector(protected.base_url)
        credentials = ["--token", TOKEN, "-H", "Cookie: session=1"]
        # Directly, the credentials work.
        direct = run("invoke", *credentials, protected.url, "Add", "2", "3")
        assert direct.stdout == "5\n", direct.stderr
        # One redirect within the redirector (same origin), then one to the hub, whose
        # port makes it another origin: the hub gets neither token nor cookie.
        result = run("invoke", *credentials, f"{redirector.url}/hop/1/hub", "Add", "2", "3")
        assert result.returncode == 5, result.stderr
        first, second, *_ = redirector.stop()
        for request in (first, second):
            assert request["authorization"] == f"Bearer {TOKEN}"
            assert request["cookie"] == "session=1"
        assert second["path"].startswith("/hop/0/hub/negotiate")
    finally:
        protected.stop()


def test_the_official_client_agrees(
    shared_hub_server: str, start_redirector: Callable[..., Redirector]
) -> None:
    # The oracle: @microsoft/signalr on Node through the same redirector.
    from tests.conformance.test_official_client import HERE, _install, _tool

    node = _tool("node")
    _install(_tool("npm"))
    redirector = start_redirector(_base(shared_hub_server))
    for hops, works in ((1, True), (20, False)):
        url = f"{redirector.url}/hop/{hops}/hub"
        ours = run("invoke", url, "Add", "2", "3")
        official = subprocess.Popen(
            [node, "invoke.mjs", url, "Add", "2", "3"],
            cwd=HERE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            stdin=subprocess.DEVNULL,
            text=True,
        )
        try:
            assert official.stdout is not None
            # Its result line is the verdict; its stop() may linger on an event stream.
            answer = official.stdout.readline()
        finally:
            official.kill()
            _, errors = official.communicate(timeout=TIMEOUT)
        assert (answer == "5\n") is works, errors
        assert (ours.returncode == 0) is works, ours.stderr
        if not works:
            assert "maximum redirect of 20" in errors
