"""A byte stream to a URL's host for the WebSocket: direct or through a proxy's
CONNECT tunnel, TLS on top.

HTTP requests (negotiate, SSE, Long Polling) go through httpx instead; both take
the same proxy decision and the same TLS context from the connection's HttpState.
A tunnel is used for plain ws:// too, because a WebSocket upgrade does not survive
a forwarding proxy; CONNECT is what every proxy offers for that.
"""

from __future__ import annotations

import base64
import ssl
from typing import Final
from urllib.parse import unquote, urlsplit

import h11
import trio

from .errors import AuthenticationError, ConnectError, TlsError
from .network import display_url

_DEFAULT_PORTS: Final = {"http": 80, "ws": 80, "https": 443, "wss": 443}
_MAX_PROXY_RESPONSE: Final = 64 * 1024


def host_and_port(url: str) -> tuple[str, int]:
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    try:
        port = parts.port
    except ValueError:
        raise ConnectError(f"invalid port in {display_url(url)}") from None
    return parts.hostname or "", port or _DEFAULT_PORTS.get(scheme, 80)


def is_secure(url: str) -> bool:
    return urlsplit(url).scheme.lower() in ("https", "wss")


def _strip_credentials(proxy: str) -> str:
    parts = urlsplit(proxy)
    return parts._replace(netloc=parts.netloc.rpartition("@")[2]).geturl()


def proxy_authorization(proxy: str) -> tuple[str, str] | None:
    """Basic credentials from http://user:password@proxy, as a header."""
    parts = urlsplit(proxy)
    if parts.username is None:
        return None
    credentials = f"{unquote(parts.username)}:{unquote(parts.password or '')}"
    return ("Proxy-Authorization", "Basic " + base64.b64encode(credentials.encode()).decode())


def tls_failure(error: BaseException, host: str, port: int) -> ConnectError:
    """A TLS error as one line that names its cause."""
    where = f"{host}:{port}"
    if isinstance(error, ssl.SSLCertVerificationError):
        cause = error.verify_message or error.reason or str(error)
        return TlsError(f"TLS certificate verification failed for {where}: {cause}")
    reason = getattr(error, "reason", None) or str(error)
    if "CERTIFICATE_REQUIRED" in str(reason).upper() or "certificate required" in str(error):
        return TlsError(
            f"TLS handshake with {where} failed: the server requires a client certificate"
        )
    if "WRONG_VERSION_NUMBER" in str(reason).upper():
        # What OpenSSL makes of an answer in plain HTTP.
        return TlsError(
            f"TLS handshake with {where} failed: the server does not speak TLS there "
            f"({reason}); is the URL http:// or ws://?"
        )
    return TlsError(f"TLS handshake with {where} failed: {reason}")


def ssl_cause(error: BaseException) -> ssl.SSLError | None:
    """The ssl.SSLError behind an exception (trio and httpx wrap them), if any."""
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        if isinstance(current, ssl.SSLError):
            return current
        seen.add(id(current))
        current = current.__cause__ or current.__context__
    return None


async def _tunnel(stream: trio.abc.Stream, proxy: str, host: str, port: int) -> None:
    """Ask the proxy for a tunnel to host:port; ConnectError unless it agrees."""
    authority = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    headers = [("Host", authority)]
    credentials = proxy_authorization(proxy)
    if credentials is not None:
        headers.append(credentials)
    connection = h11.Connection(h11.CLIENT)
    request = h11.Request(method="CONNECT", target=authority, headers=headers)
    await stream.send_all(connection.send(request))
    received = 0
    while True:
        event = connection.next_event()
        if event is h11.NEED_DATA:
            data = await stream.receive_some(16 * 1024)
            received += len(data)
            if received > _MAX_PROXY_RESPONSE:
                raise ConnectError(f"the proxy {_strip_credentials(proxy)} answered CONNECT oddly")
            connection.receive_data(bytes(data))
            continue
        if isinstance(event, h11.Response):
            status = f"{event.status_code} {event.reason.decode('latin-1')}".strip()
            if event.status_code == 407:
                raise AuthenticationError(
                    f"the proxy {_strip_credentials(proxy)} requires authentication ({status})",
                    407,
                )
            if not 200 <= event.status_code < 300:
                raise ConnectError(
                    f"the proxy {_strip_credentials(proxy)} refused a tunnel to {authority}: "
                    f"{status}"
                )
            # Nothing may follow the proxy's answer: the server speaks only when spoken to.
            if connection.trailing_data[0]:
                raise ConnectError(f"the proxy {_strip_credentials(proxy)} broke the tunnel")
            return
        if isinstance(event, h11.ConnectionClosed):
            raise ConnectError(f"the proxy {_strip_credentials(proxy)} closed the connection")
        if isinstance(event, h11.InformationalResponse):
            continue


async def _open_tcp(host: str, port: int, url: str, proxy: str | None) -> trio.SocketStream:
    if proxy is None:
        address, what = (host, port), display_url(url)
    else:
        address, what = host_and_port(proxy), f"the proxy {_strip_credentials(proxy)}"
    try:
        return await trio.open_tcp_stream(*address)
    except OSError as error:
        raise ConnectError(f"could not connect to {what}: {error.strerror or error}") from None


Stream = trio.SocketStream | trio.SSLStream[trio.SocketStream]


async def open_stream(url: str, *, proxy: str | None, ssl_context: ssl.SSLContext | None) -> Stream:
    """A connected stream to the host of `url` (TLS for wss), for the WebSocket.

    Through a proxy that is a CONNECT tunnel. `ssl_context` is required for wss
    URLs. ConnectError (TlsError for TLS, AuthenticationError for a proxy's 407)
    when the host cannot be reached.
    """
    host, port = host_and_port(url)
    if not host:
        raise ConnectError(f"invalid URL {display_url(url)}: no host")
    tcp = await _open_tcp(host, port, url, proxy)
    stream: Stream = tcp
    try:
        if proxy is not None:
            try:
                await _tunnel(tcp, proxy, host, port)
            except h11.RemoteProtocolError as error:
                raise ConnectError(
                    f"the proxy {_strip_credentials(proxy)} sent an invalid answer: {error}"
                ) from None
            except (trio.BrokenResourceError, OSError) as error:
                raise ConnectError(
                    f"the proxy {_strip_credentials(proxy)} dropped the connection: {error}"
                ) from None
        if is_secure(url):
            assert ssl_context is not None
            ssl_stream = trio.SSLStream(
                tcp, ssl_context, server_hostname=host, https_compatible=True
            )
            try:
                await ssl_stream.do_handshake()
            except trio.BrokenResourceError as error:
                cause = ssl_cause(error)
                if cause is not None:
                    raise tls_failure(cause, host, port) from None
                raise ConnectError(
                    f"could not connect to {display_url(url)}: the connection was closed"
                ) from None
            stream = ssl_stream
    except BaseException:
        with trio.CancelScope(shield=True):
            await trio.aclose_forcefully(stream)
        raise
    return stream
