"""`hubcli serve` as a process: URL line, signals, flags, TLS, logging, start-up cost."""

from __future__ import annotations

import json
import math
import os
import shutil
import signal
import ssl
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from trio_websocket import open_websocket_url

from hubcli.protocol import Close, Completion, Invocation, Sequence
from hubcli.server import ServerOptions
from tests.server.rawclient import RawHub, negotiate
from tests.serverproc import HubServer, hubcli_command

StartServer = Callable[..., HubServer]


async def test_first_line_is_the_url_and_sigint_exits_0(start_hub_server: StartServer) -> None:
    server = start_hub_server()
    assert server.url.startswith("http://127.0.0.1:")
    assert server.url.endswith("/hub")
    assert int(server.url.split(":")[2].split("/")[0]) > 0
    await negotiate(server.url)
    assert server.stop(signal.SIGINT) == 0


@pytest.mark.parametrize(
    ("sig", "flags"),
    [(signal.SIGINT, []), (signal.SIGTERM, []), (signal.SIGINT, ["--chaos"])],
)
async def test_shutdown_sends_close_with_allow_reconnect(
    start_hub_server: StartServer, sig: int, flags: list[str]
) -> None:
    server = start_hub_server("--path", "/chat", *flags)
    assert server.url.endswith("/chat")
    async with RawHub.connect(server.url) as raw:
        assert (await raw.invoke("Add", 1, 2)).result == 3
        server.process.send_signal(sig)
        assert await raw.receive_all() == [Close(None, allow_reconnect=True)]
    assert server.process.wait(10) == 0


async def test_verbose_logs_connection_events(start_hub_server: StartServer) -> None:
    server = start_hub_server("-v")
    async with RawHub.connect(server.url) as raw:
        connection_id = (await raw.invoke("GetCallerConnectionId")).result
    assert server.stop() == 0
    log = server.stderr_text()
    assert f"connection {connection_id} opened (WebSockets, json)" in log
    assert f"connection {connection_id} closed" in log


async def test_quiet_by_default(start_hub_server: StartServer) -> None:
    server = start_hub_server()
    async with RawHub.connect(server.url) as raw:
        await raw.invoke("Add", 1, 2)
    assert server.stop() == 0
    assert server.stderr_text() == ""


def test_list_methods() -> None:
    done = subprocess.run(
        hubcli_command("serve", "--list-methods"), capture_output=True, text=True, check=False
    )
    assert done.returncode == 0
    names = {line.split("(")[0] for line in done.stdout.splitlines()}
    for name in (
        "Counter",
        "TriggerStream",
        "UploadStream",
        "UploadSummary",
        "FastStream",
        "WaitForCancelledStreams",
        "StreamEcho",
        "ClientResult",
        "GetConnectionInfo",
        "DropTransport",
        "DropConnection",
        "ResumableCounter",
    ):
        assert name in names
    assert "Counter(count: int, delayMs: int) -> stream<int>" in done.stdout


@pytest.mark.parametrize(
    "flags",
    [
        ["--transports", "carrier-pigeon"],
        ["--keepalive", "-1"],
        ["--tls-cert", "x.pem"],
        ["--fault", "bogus"],
        ["--fault", "negotiate-404", "--fault", "negotiate-500"],
        ["--stateful-reconnect-buffer-size", "-1"],
        ["--fault", "drop-transport"],  # without --chaos there is nothing to cut
    ],
)
def test_bad_flags_are_usage_errors(flags: list[str]) -> None:
    done = subprocess.run(
        hubcli_command("serve", "--port", "0", *flags), capture_output=True, text=True, check=False
    )
    assert done.returncode == 2, done.stderr


def _seconds_flags() -> list[str]:
    import typer.main

    import hubcli.cli.serve  # noqa: F401 - registers the command
    from hubcli.cli.app import app

    serve = typer.main.get_command(app).commands["serve"]  # type: ignore[attr-defined]
    return [param.opts[0] for param in serve.params if param.metavar == "SECONDS"]


def test_every_seconds_flag_is_found() -> None:
    assert set(_seconds_flags()) >= {"--keepalive", "--client-timeout", "--disconnect-timeout"}


@pytest.mark.parametrize("value", ["nan", "inf", "-inf", "NaN"])
@pytest.mark.parametrize("flag", _seconds_flags())
def test_non_finite_seconds_are_usage_errors(flag: str, value: str) -> None:
    # Accepted, nan made every connection fail ("deadline must not be NaN").
    done = subprocess.run(
        hubcli_command("serve", "--port", "0", f"{flag}={value}"),
        capture_output=True,
        text=True,
        check=False,
        timeout=15,
    )
    assert done.returncode == 2, done.stderr
    assert done.stdout == ""
    [line] = done.stderr.splitlines()
    assert line.startswith(f"hubcli: error: invalid value for '{flag}': "), line
    assert f"{float(value)} " in line


@pytest.mark.parametrize("value", [math.nan, -math.inf, -1.0])
@pytest.mark.parametrize("name", ["keepalive", "client_timeout", "disconnect_timeout"])
def test_server_options_refuse_impossible_durations(name: str, value: float) -> None:
    # The library's way in gets the same protection as the command line's; inf is
    # no limit (what 0 means on the command line).
    options: dict[str, Any] = {name: value}
    with pytest.raises(ValueError, match=f"^{name} must be a number of seconds >= 0"):
        ServerOptions(port=0, **options)
    unlimited: dict[str, Any] = {name: math.inf}
    assert getattr(ServerOptions(port=0, **unlimited), name) == math.inf


@pytest.mark.parametrize("flags", [[], ["--chaos"]])
def test_a_busy_port_is_reported(start_hub_server: StartServer, flags: list[str]) -> None:
    server = start_hub_server()
    port = server.base_url.rsplit(":", 1)[1]
    done = subprocess.run(
        hubcli_command("serve", "--port", port, *flags),
        capture_output=True,
        text=True,
        check=False,
        timeout=30,
    )
    assert done.returncode == 4
    assert "cannot serve on 127.0.0.1" in done.stderr
    assert done.stdout == ""


def _serve_with_stdout(
    stdout: int | None, *, closed: bool = False
) -> subprocess.CompletedProcess[str]:
    command = hubcli_command("serve", "--port", "0")
    if closed:
        command = ["sh", "-c", 'exec "$@" >&-', "sh", *command]
    return subprocess.run(
        command, stdout=stdout, stderr=subprocess.PIPE, text=True, check=False, timeout=30
    )


def test_a_closed_stdout_is_a_one_line_usage_error() -> None:
    done = _serve_with_stdout(None, closed=True)
    assert done.returncode == 2, done.stderr
    assert done.stderr.splitlines() == [
        "hubcli: error: cannot write the hub URL to stdout: it is closed"
        " (serve prints its URL there first; redirect it, e.g. > url.txt)"
    ]


def test_a_stdout_reader_gone_is_a_one_line_usage_error() -> None:
    # A pipe whose reader is gone before the URL is written, as with `| head -0`.
    read_end, write_end = os.pipe()
    os.close(read_end)
    try:
        done = _serve_with_stdout(write_end)
    finally:
        os.close(write_end)
    assert done.returncode == 2, done.stderr
    assert done.stderr.splitlines() == [
        "hubcli: error: cannot write the hub URL to stdout: Broken pipe"
        " (serve prints its URL there first; redirect it, e.g. > url.txt)"
    ]


def test_importing_the_command_does_not_import_the_server() -> None:
    code = (
        "import sys, hubcli.cli.serve; "
        "print(sorted(m for m in sys.modules if m.startswith(('hypercorn', 'hubcli.server'))))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert json.loads(done.stdout.replace("'", '"')) == []


@pytest.fixture
def certificate(tmp_path: Path) -> tuple[Path, Path]:
    if shutil.which("openssl") is None:
        pytest.skip("openssl is needed to make a test certificate")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "1",
            "-subj",
            "/CN=127.0.0.1",
            "-addext",
            "subjectAltName=IP:127.0.0.1",
            "-keyout",
            str(key),
            "-out",
            str(cert),
        ],
        check=True,
        capture_output=True,
    )
    return cert, key


@pytest.mark.parametrize("flags", [[], ["--chaos"]])
async def test_tls(
    start_hub_server: StartServer, certificate: tuple[Path, Path], flags: list[str]
) -> None:
    cert, key = certificate
    server = start_hub_server("--tls-cert", str(cert), "--tls-key", str(key), *flags)
    assert server.url.startswith("https://127.0.0.1:")
    context = ssl.create_default_context(cafile=str(cert))
    async with httpx.AsyncClient(verify=context) as client:
        body = (await client.post(f"{server.url}/negotiate?negotiateVersion=1")).json()
    wss = "wss" + server.url[len("https") :] + f"?id={body['connectionToken']}"
    async with open_websocket_url(wss, ssl_context=context) as ws:
        await ws.send_message('{"protocol":"json","version":1}\x1e')
        assert await ws.get_message() == "{}\x1e"
        await ws.send_message('{"type":1,"invocationId":"1","target":"Add","arguments":[1,2]}\x1e')
        assert await ws.get_message() == '{"type":3,"invocationId":"1","result":3}\x1e'
    assert server.stop() == 0


async def test_a_chaos_hub_with_stateful_reconnect_and_faults(
    start_hub_server: StartServer,
) -> None:
    server = start_hub_server(
        "--chaos",
        "--allow-stateful-reconnect",
        "--stateful-reconnect-buffer-size",
        "5000",
        "--disconnect-timeout",
        "5",
        "--fault",
        "negotiate-slow=0.2",
        "-v",
    )
    async with RawHub.connect(server.url, stateful=True) as raw:
        await raw.send(Invocation("DropTransport", [], "drop"))
        await raw.receive_all()
    async with RawHub.resume(server.url, raw.token) as resumed:
        assert await resumed.receive() == Sequence(1)
        assert await resumed.receive() == Completion.with_result("drop", None)
    assert server.stop() == 0
    log = server.stderr_text()
    assert "transport dropped" in log
    assert "resumed: replaying from message 1" in log
