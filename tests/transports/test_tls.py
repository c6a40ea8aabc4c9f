"""TLS with certificates made here: verification against --cacert, a clear exit 4
without it, -k with its warning, and client certificates."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

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


def test_insecure_on_a_url_without_tls_warns_that_it_does_nothing(shared_hub_server: str) -> None:
    for url in (shared_hub_server, "ws" + shared_hub_server[len("http") :]):
        result = run("invoke", "-k", url, "Add", "1", "2")
        assert result.stdout == "3\n", result.stderr
        scheme = url.partition("://")[0]
        assert result.stderr == (
            f"hubcli: warning: --insecure has no effect: a {scheme}:// URL does not use TLS\n"
        )


def test_https_to_a_plain_http_port_asks_whether_it_is_http(shared_hub_server: str) -> None:
    result = run("invoke", "https" + shared_hub_server[len("http") :], "Add", "1", "2")
    assert result.returncode == 4
    assert "the server does not speak TLS there (WRONG_VERSION_NUMBER)" in result.stderr
    assert "is the URL http:// or ws://?" in result.stderr
    assert result.stderr.count("\n") == 1


def test_a_client_certificate_that_cannot_be_used_says_why(
    tls_hub: HubServer, tls_files: TlsFiles, tmp_path: Path
) -> None:
    from cryptography.hazmat.primitives import serialization

    junk = tmp_path / "junk.pem"
    junk.write_text("not a certificate\n")
    key = serialization.load_pem_private_key(tls_files.server_key.read_bytes(), None)
    encrypted = tmp_path / "encrypted.pem"
    encrypted.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.BestAvailableEncryption(b"secret"),
        )
    )
    cert, client_key = str(tls_files.client_cert), str(tls_files.client_key)
    cases = [
        (["--cert", str(junk)], f"{junk} holds no PEM certificate"),
        (["--cert", cert], f"{cert} holds no private key: give its key with --key"),
        (["--cert", cert, "--key", str(junk)], f"{junk} holds no PEM private key"),
        (
            ["--cert", cert, "--key", str(tls_files.server_key)],
            f"the private key in {tls_files.server_key} does not belong to the certificate",
        ),
        (
            ["--cert", str(tls_files.server_cert), "--key", str(encrypted)],
            f"the private key in {encrypted} is encrypted",
        ),
    ]
    assert client_key  # the good pair works: test_client_certificate
    for flags, reason in cases:
        result = run("invoke", *flags, tls_hub.url, "Add")
        assert result.returncode == 2, (flags, result.stderr)
        assert reason in result.stderr, result.stderr
        assert "PEM lib" not in result.stderr
        assert result.stderr.count("\n") == 1


def test_plain_http_beside_tls_and_cookies_over_each(tls_files: TlsFiles) -> None:
    """--http-port: a second, plain listener, its hub URL stdout's second line; over
    TLS the negotiate cookies get Secure and SameSite=None (unless they say
    otherwise), over plain HTTP they go as given."""
    import httpx

    cookies = ("a=1; path=/", "b=2; SameSite=Lax")
    flags = [f"--set-cookie={cookie}" for cookie in cookies]
    server = serverproc.start_hub_server(
        "--tls-cert",
        str(tls_files.server_cert),
        "--tls-key",
        str(tls_files.server_key),
        "--http-port",
        "0",
        *flags,
    )
    try:
        assert server.process.stdout is not None
        plain = server.process.stdout.readline().strip()
        assert server.url.startswith("https://")
        assert plain.startswith("http://"), plain
        over_tls = httpx.post(
            f"{server.url}/negotiate", verify=tls_context(cafile=str(tls_files.ca))
        )
        assert over_tls.headers.get_list("set-cookie") == [
            "a=1; path=/; secure; samesite=none",
            "b=2; SameSite=Lax; secure",
        ]
        over_http = httpx.post(f"{plain}/negotiate")
        assert over_http.headers.get_list("set-cookie") == list(cookies)
    finally:
        server.stop()
    line = serverproc.serve_refusal("--http-port", "0")
    assert line.startswith("hubcli: error: invalid value for --http-port: needs --tls-cert"), line
