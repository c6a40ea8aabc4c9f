"""Negotiate over HTTP: follow redirects, pick a transport.

The POST is one HTTP/1.1 request on h11 over a trio stream. h11 is already loaded
for the WebSocket upgrade (wsproto speaks HTTP through it), so negotiating costs a
round trip and nothing at start-up; httpx, the first choice, took about 60 ms of
imports and client set-up per run, a quarter of a whole `hubcli invoke`.
"""

from __future__ import annotations

import logging
import ssl
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final
from urllib.parse import urlsplit

import h11
import trio

from hubcli.protocol import negotiate as wire
from hubcli.protocol.base import TransferFormat
from hubcli.protocol.errors import NegotiateError

from .errors import AuthenticationError, ConnectError

logger: Final = logging.getLogger("hubcli")

Headers = Sequence[tuple[str, str]]

MAX_RESPONSE_BYTES: Final = 1024 * 1024
NO_COMMON_TRANSPORT: Final = (
    "None of the transports supported by the client are supported by the server."
)


@dataclass(frozen=True, slots=True)
class Endpoint:
    """Where and how to open the transport, as negotiate decided."""

    url: str  # http(s) URL of the hub with `id=<token>` when negotiate gave one
    transport: str
    headers: tuple[tuple[str, str], ...]  # what to send when opening the transport
    connection_id: str | None = None


def with_bearer(headers: Headers, access_token: str | None) -> tuple[tuple[str, str], ...]:
    """The headers plus `Authorization: Bearer`, unless the user gave their own."""
    if access_token is None or any(name.lower() == "authorization" for name, _ in headers):
        return tuple(headers)
    return (*headers, ("Authorization", f"Bearer {access_token}"))


def _without_authorization(headers: Headers) -> tuple[tuple[str, str], ...]:
    return tuple((name, value) for name, value in headers if name.lower() != "authorization")


def _http_failure(status_code: int, reason: str) -> ConnectError:
    status = f"{status_code} {reason}".strip()
    if status_code in (401, 403):
        return AuthenticationError(
            f"negotiate was refused: {status} (check --token or the Authorization header)",
            status_code,
        )
    message = f"Failed to complete negotiation with the server: {status}."
    if status_code == 404:
        message += (
            " Either this is not a SignalR endpoint or there is a proxy blocking the connection."
        )
    return ConnectError(message)


def _choose_transport(
    response: wire.NegotiateResponse, transports: Sequence[str], transfer_format: TransferFormat
) -> str:
    for available in response.available_transports:
        if available.transport in transports and available.supports(transfer_format):
            return available.transport
    raise ConnectError(NO_COMMON_TRANSPORT)


@dataclass(frozen=True, slots=True)
class _Response:
    status_code: int
    reason: str
    body: bytes


async def _open(url: str) -> trio.abc.Stream:
    parts = urlsplit(url)
    secure = parts.scheme == "https"
    host = parts.hostname or ""
    port = parts.port or (443 if secure else 80)
    try:
        if secure:
            return await trio.open_ssl_over_tcp_stream(
                host, port, ssl_context=ssl.create_default_context(), https_compatible=True
            )
        return await trio.open_tcp_stream(host, port)
    except OSError as error:
        raise ConnectError(f"could not connect to {url}: {error.strerror or error}") from None


async def _exchange(stream: trio.abc.Stream, url: str, headers: Headers) -> _Response:
    parts = urlsplit(url)
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    connection = h11.Connection(h11.CLIENT)
    request = h11.Request(
        method="POST",
        target=target,
        headers=[("Host", parts.netloc.rpartition("@")[2]), ("Content-Length", "0"), *headers],
    )
    await stream.send_all(connection.send(request) + connection.send(h11.EndOfMessage()))
    status_code, reason, body = 0, "", bytearray()
    while True:
        event = connection.next_event()
        if event is h11.NEED_DATA:
            connection.receive_data(bytes(await stream.receive_some(64 * 1024)))
        elif isinstance(event, h11.Response):
            status_code, reason = event.status_code, event.reason.decode("latin-1")
        elif isinstance(event, h11.Data):
            body += event.data
            if len(body) > MAX_RESPONSE_BYTES:
                raise ConnectError("negotiate failed: the response is implausibly large")
        elif isinstance(event, (h11.EndOfMessage, h11.ConnectionClosed)):
            return _Response(status_code, reason, bytes(body))


async def _post(url: str, headers: Headers, timeout: float) -> _Response:
    with trio.move_on_after(timeout):
        stream = await _open(url)
        try:
            return await _exchange(stream, url, headers)
        except h11.RemoteProtocolError as error:
            raise ConnectError(
                f"negotiate failed: invalid HTTP response from {url}: {error}"
            ) from None
        except (trio.BrokenResourceError, ssl.SSLError) as error:
            raise ConnectError(f"could not connect to {url}: {error.__cause__ or error}") from None
        finally:
            with trio.CancelScope(shield=True):
                await stream.aclose()
    raise ConnectError(f"negotiate timed out after {timeout:g} s: POST {url}")


async def negotiate(
    url: str,
    *,
    headers: Headers,
    access_token: str | None,
    transfer_format: TransferFormat,
    transports: Sequence[str],
    request_timeout: float = 100.0,
) -> Endpoint:
    """POST <url>/negotiate until the server names a connection; choose the transport."""
    for _ in range(wire.MAX_REDIRECTS + 1):
        request_url = wire.negotiate_url(url)
        request_headers = (
            *with_bearer(headers, access_token),
            ("X-Requested-With", "XMLHttpRequest"),
        )
        logger.info("negotiate: POST %s", request_url)
        response = await _post(request_url, request_headers, request_timeout)
        if response.status_code != 200:
            raise _http_failure(response.status_code, response.reason)
        try:
            answer = wire.parse_response(response.body)
        except NegotiateError as error:
            raise ConnectError(f"negotiate failed: {error}") from None
        if isinstance(answer, wire.NegotiateRedirect):
            logger.info("negotiate: redirected to %s", answer.url)
            url = answer.url
            if answer.access_token is not None:
                # The redirect's token replaces every credential the user gave.
                headers = _without_authorization(headers)
                access_token = answer.access_token
            continue
        transport = _choose_transport(answer, transports, transfer_format)
        logger.info(
            "negotiate: version %d, connection %s, transport %s",
            answer.negotiate_version,
            answer.connection_id,
            transport,
        )
        return Endpoint(
            url=wire.connect_url(url, answer.token_for_connect),
            transport=transport,
            headers=with_bearer(headers, access_token),
            connection_id=answer.connection_id,
        )
    raise ConnectError(wire.REDIRECT_LIMIT_ERROR)
