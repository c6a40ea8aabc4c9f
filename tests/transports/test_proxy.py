"""A real forwarding proxy (proxy.py) between hubcli and the hub: negotiate and the
WebSocket go through its CONNECT tunnel, Server-Sent Events and Long Polling through
it too, and its access log proves it. NO_PROXY and --proxy '' go around it."""

from __future__ import annotations

import json
from collections.abc import Callable
from urllib.parse import urlsplit

import pytest

import hubcli
from hubcli.client import AuthenticationError
from tests.serverproc import HubServer
from tests.transports.conftest import Proxy, TlsFiles
from tests.transports.conftest import run_with_env as run


def _authority(url: str) -> str:
    return urlsplit(url).netloc


def test_negotiate_and_websocket_through_proxy(shared_hub_server: str, proxy: Proxy) -> None:
    tunnel = f"CONNECT {_authority(shared_hub_server)}"
    before = sum(tunnel in line for line in proxy.access_lines())
    result = run(
        "invoke",
        "-v",
        "-t",
        "websockets",
        "--proxy",
        proxy.url,
        shared_hub_server,
        "Add",
        "1",
        "2",
        env={},
    )
    assert result.stdout == "3\n", result.stderr
    assert "negotiate: through the proxy" in result.stderr
    assert "WebSockets: through the proxy" in result.stderr
    # negotiate forwarded by absolute URL, the WebSocket through a CONNECT tunnel.
    assert proxy.wait_for_access(tunnel, before + 1)
    assert proxy.wait_for_access(f"POST {_authority(shared_hub_server)}/hub/negotiate")


@pytest.mark.parametrize(
    ("transport", "variable"), [("sse", "HTTP_PROXY"), ("longpolling", "http_proxy")]
)
def test_http_transports_through_the_environments_proxy(
    shared_hub_server: str, proxy: Proxy, transport: str, variable: str
) -> None:
    result = run(
        "invoke",
        "-t",
        transport,
        shared_hub_server,
        "GetConnectionInfo",
        env={variable: proxy.url},
    )
    assert result.returncode == 0, result.stderr
    info = json.loads(result.stdout)
    query = f"id={info['query']['id']}"
    # The proxy forwarded the transport's own requests, by absolute URL (it logs a
    # line per connection to it, as that connection ends).
    assert proxy.wait_for_access(f"GET {_authority(shared_hub_server)}/hub?{query}"), proxy.log()


def test_no_proxy_goes_around_it(shared_hub_server: str, proxy: Proxy) -> None:
    def connection_query(*flags: str, env: dict[str, str]) -> str:
        result = run(
            "invoke",
            "-v",
            "-t",
            "longpolling",
            *flags,
            shared_hub_server,
            "GetConnectionInfo",
            env=env,
        )
        assert result.returncode == 0, result.stderr
        return f"id={json.loads(result.stdout)['query']['id']}"

    environment = {"HTTP_PROXY": proxy.url, "NO_PROXY": "127.0.0.1"}
    bypassed = connection_query(env=environment)
    explicit = connection_query("--proxy", proxy.url, env=environment)  # NO_PROXY wins here too
    # --proxy '' ignores the environment: its proxy does not even exist.
    connection_query("--proxy", "", env={"HTTP_PROXY": "http://127.0.0.1:9"})
    # One that goes through: once the proxy has logged it, it would have logged the
    # ones before it too (a line is written as each connection to it ends).
    through = connection_query(env={"HTTP_PROXY": proxy.url})
    assert proxy.wait_for_access(through)
    assert not any(bypassed in line or explicit in line for line in proxy.access_lines())


def test_proxy_down_exits_4(shared_hub_server: str) -> None:
    result = run("invoke", "--proxy", "http://127.0.0.1:9", shared_hub_server, "Add", env={})
    assert result.returncode == 4
    assert result.stderr.startswith(
        "hubcli: error: could not connect to the proxy http://127.0.0.1:9: "
    )


def test_unsupported_proxies_are_usage_errors(shared_hub_server: str) -> None:
    result = run("invoke", "--proxy", "socks5://127.0.0.1:1080", shared_hub_server, "Add", env={})
    assert result.returncode == 2
    assert "only http://HOST:PORT proxies are supported" in result.stderr
    from_env = run(
        "invoke", shared_hub_server, "Add", env={"HTTPS_PROXY": "socks5://127.0.0.1:1080"}
    )
    assert from_env.returncode == 2
    assert from_env.stderr.startswith("hubcli: error: HTTPS_PROXY: unsupported proxy")


def test_proxy_authentication(shared_hub_server: str, start_proxy: Callable[..., Proxy]) -> None:
    guarded = start_proxy("--basic-auth", "user:pa55")
    refused = run("invoke", "--proxy", guarded.url, shared_hub_server, "Add", "1", "2", env={})
    assert refused.returncode == 5
    assert "requires authentication (407" in refused.stderr
    assert "--proxy http://USER:PASSWORD@HOST:PORT" in refused.stderr
    with_credentials = guarded.url.replace("http://", "http://user:pa55@")
    for transport in ("websockets", "longpolling"):
        result = run(
            "invoke",
            "-t",
            transport,
            "--proxy",
            with_credentials,
            shared_hub_server,
            "Add",
            "1",
            "2",
            env={},
        )
        assert result.stdout == "3\n", result.stderr
        assert "pa55" not in result.stderr


def test_https_through_the_tunnel(tls_hub: HubServer, tls_files: TlsFiles, proxy: Proxy) -> None:
    for transport in ("websockets", "sse"):
        result = run(
            "invoke",
            "-t",
            transport,
            "--cacert",
            str(tls_files.ca),
            tls_hub.url,
            "Add",
            "1",
            "2",
            env={"HTTPS_PROXY": proxy.url},
        )
        assert result.stdout == "3\n", result.stderr
    assert proxy.wait_for_access(f"CONNECT {_authority(tls_hub.url)}", 3)


async def test_library_proxy(shared_hub_server: str, start_proxy: Callable[..., Proxy]) -> None:
    guarded = start_proxy("--basic-auth", "user:pa55")
    with pytest.raises(AuthenticationError):
        async with hubcli.connect(shared_hub_server, proxy=guarded.url, trust_env=False):
            pass
    with_credentials = guarded.url.replace("http://", "http://user:pa55@")
    async with hubcli.connect(
        shared_hub_server, transport="sse", proxy=with_credentials, trust_env=False
    ) as hub:
        assert await hub.invoke("Add", 1, 2) == 3


def test_a_proxy_that_refuses_tunnels_makes_the_client_fall_back(
    shared_hub_server: str, start_proxy: Callable[..., Proxy]
) -> None:
    # Like many corporate proxies: plain HTTP forwarded, CONNECT (so WebSockets) refused.
    strict = start_proxy("--plugins", "tests.transports.proxy_plugins.RefuseTunnels")
    result = run(
        "invoke", "-v", "--proxy", strict.url, shared_hub_server, "GetConnectionInfo", env={}
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["transport"] == "ServerSentEvents"
    assert "refused a tunnel" in result.stderr
    assert "403" in result.stderr
    authority = _authority(shared_hub_server)
    # negotiate went through it by absolute URL, twice (the first token was burnt).
    assert strict.wait_for_access(f"POST {authority}/hub/negotiate", 2), strict.log()
