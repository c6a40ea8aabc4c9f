"""TLS with certificates made here: verification against --cacert, a clear exit 4
without it, -k with its warning, and client certificates."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

import hubcli
from hubcli.client import TlsError, tls_context
from tests import serverproc
from tests.cli.hubcli_process import run
from tests.serverproc import HubServer
from tests.transports.conftest import TlsFiles

TRANSPORTS = ["websockets", "sse", "longpolling"]


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_trusted_with_cacert(tls_hub: HubServer, tls_files: TlsFiles, transport: str) -> None:
    assert tls_hub.url.startswith("https://")
    result = run(
        "stream", "-t", transport, "--cacert", str(tls_files.ca), tls_hub.url, "Counter", "3", "0"
    )
    assert result.stdout == "0\n1\n2\n", result.stderr
    assert result.stderr == ""


def test_untrusted_certificate_exits_4_naming_the_cause(tls_hub: HubServer) -> None:
    result = run("invoke", tls_hub.url, "Add", "1", "2")
    assert result.returncode == 4
    port = tls_hub.url.split(":")[2].split("/")[0]
    assert result.stderr == (
        f"hubcli: error: TLS certificate verification failed for 127.0.0.1:{port}: "
        "unable to get local issuer certificate "
        "(--cacert FILE trusts a private CA; -k skips verification)\n"
    )


@pytest.mark.parametrize("transport", ["websockets", "longpolling"])
def test_insecure_works_and_warns(tls_hub: HubServer, transport: str) -> None:
    result = run("invoke", "-k", "-t", transport, tls_hub.url, "Add", "1", "2")
    assert result.stdout == "3\n", result.stderr
    assert result.stderr.startswith("hubcli: warning: --insecure:")
    assert len(result.stderr.splitlines()) == 1


def test_unusable_tls_files_are_usage_errors(tls_hub: HubServer, tls_files: TlsFiles) -> None:
    missing = run("invoke", "--cacert", "/no/such/ca.pem", tls_hub.url, "Add")
    assert missing.returncode == 2
    assert missing.stderr == (
        "hubcli: error: cannot read --cacert /no/such/ca.pem: No such file or directory\n"
    )
    not_pem = run("invoke", "--cacert", str(tls_files.server_key), tls_hub.url, "Add")
    assert not_pem.returncode == 2
    assert not_pem.stderr.startswith(f"hubcli: error: cannot use --cacert {tls_files.server_key}")
    key_alone = run("invoke", "--key", str(tls_files.client_key), tls_hub.url, "Add")
    assert key_alone.stderr == "hubcli: error: --key needs --cert\n"


@pytest.fixture(scope="module")
def mtls_hub(tls_files: TlsFiles) -> Iterator[HubServer]:
    """A hub that requires a client certificate from the test CA."""
    server = serverproc.start_hub_server(
        "--tls-cert",
        str(tls_files.server_cert),
        "--tls-key",
        str(tls_files.server_key),
        "--tls-client-ca",
        str(tls_files.ca),
    )
    yield server
    server.stop()


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_client_certificate(mtls_hub: HubServer, tls_files: TlsFiles, transport: str) -> None:
    cert = ["--cert", str(tls_files.client_cert), "--key", str(tls_files.client_key)]
    trusted = ["--cacert", str(tls_files.ca)]
    result = run("invoke", "-t", transport, *trusted, *cert, mtls_hub.url, "GetConnectionInfo")
    assert json.loads(result.stdout)["transport"] in {
        "WebSockets",
        "ServerSentEvents",
        "LongPolling",
    }, result.stderr


def test_missing_client_certificate_exits_4(mtls_hub: HubServer, tls_files: TlsFiles) -> None:
    result = run("invoke", "--cacert", str(tls_files.ca), mtls_hub.url, "Add", "1", "2")
    assert result.returncode == 4
    assert "without answering: it may require a client certificate" in result.stderr
    assert result.stderr.endswith("(pass --cert FILE and --key FILE)\n")
    assert len(result.stderr.splitlines()) == 1


async def test_library_tls(tls_hub: HubServer, tls_files: TlsFiles) -> None:
    context = tls_context(cafile=str(tls_files.ca))
    for transport in TRANSPORTS:
        async with hubcli.connect(tls_hub.url, transport=transport, ssl_context=context) as hub:
            assert await hub.invoke("Add", 1, 2) == 3
    with pytest.raises(TlsError, match="certificate verification failed"):
        async with hubcli.connect(tls_hub.url):
            pass
    with pytest.raises(TlsError, match="certificate verification failed"):
        async with hubcli.connect(tls_hub.url, transport="longpolling", skip_negotiation=False):
            pass
