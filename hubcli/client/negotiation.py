"""Negotiate over HTTP (httpx on trio): follow redirects, pick a transport.

httpx is imported here, not at module import of the client, so a connection made
with --skip-negotiation never pays for it.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final

from hubcli.protocol import negotiate as wire
from hubcli.protocol.base import TransferFormat
from hubcli.protocol.errors import NegotiateError

from .errors import AuthenticationError, ConnectError

if TYPE_CHECKING:
    import httpx

logger: Final = logging.getLogger("hubcli")

Headers = Sequence[tuple[str, str]]

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


def _http_failure(response: httpx.Response) -> ConnectError:
    status = f"{response.status_code} {response.reason_phrase}".strip()
    if response.status_code in (401, 403):
        return AuthenticationError(
            f"negotiate was refused: {status} (check --token or the Authorization header)",
            response.status_code,
        )
    message = f"Failed to complete negotiation with the server: {status}."
    if response.status_code == 404:
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


async def _post(url: str, headers: Headers, timeout: float) -> httpx.Response:
    import httpx

    try:
        # Certificates are loaded only when the URL needs them: creating a verifying
        # context costs more than the whole negotiate on loopback.
        async with httpx.AsyncClient(
            timeout=timeout, verify=url.startswith("https:"), follow_redirects=False
        ) as client:
            return await client.post(url, headers=list(headers))
    except httpx.TimeoutException:
        raise ConnectError(f"negotiate timed out after {timeout:g} s: POST {url}") from None
    except httpx.HTTPError as error:
        cause = error.__cause__ or error.__context__
        detail = getattr(cause, "strerror", None) or str(error) or type(error).__name__
        raise ConnectError(f"could not connect to {url}: {detail}") from None


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
            raise _http_failure(response)
        try:
            answer = wire.parse_response(response.content)
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
