"""Negotiate over HTTP: follow redirects, list the transports worth trying.

The POST goes through the same httpx client set-up as Server-Sent Events and Long
Polling (transports/http.py): one HTTP path, so proxies, TLS, cookies, tokens,
headers, timeouts and redirects behave alike for every request hubcli makes.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final
from urllib.parse import urlsplit

import trio

from hubcli.protocol import negotiate as wire
from hubcli.protocol.base import TransferFormat
from hubcli.protocol.errors import NegotiateError

from .errors import AuthenticationError, ConnectError, TlsError
from .network import HttpState, display_url, header_value_problem, http_url
from .network_streams import ssl_cause

logger: Final = logging.getLogger("hubcli")

MAX_RESPONSE_BYTES: Final = 1024 * 1024
NO_COMMON_TRANSPORT: Final = (
    "None of the transports supported by the client are supported by the server."
)
ALL_TRANSPORTS: Final = tuple(transport.value for transport in wire.TransportName)


@dataclass(frozen=True, slots=True)
class Negotiation:
    """Where negotiate ended up (after redirects) and what the server answered."""

    url: str  # the hub URL the answer is for, without `id`
    response: wire.NegotiateResponse

    @property
    def connect_url(self) -> str:
        return wire.connect_url(self.url, self.response.token_for_connect)


def usable_transports(
    response: wire.NegotiateResponse, wanted: Sequence[str], transfer_format: TransferFormat
) -> list[str]:
    """The server's transports, in its order, that the user allows and that can
    carry the protocol's transfer format (so MessagePack never goes over SSE)."""
    usable = []
    for available in response.available_transports:
        if available.transport not in ALL_TRANSPORTS:
            logger.debug("skipping transport %s: unknown to this client", available.transport)
        elif available.transport not in wanted:
            logger.debug("skipping transport %s: not allowed by -t", available.transport)
        elif not available.supports(transfer_format):
            logger.info(
                "skipping transport %s: it cannot carry %s data",
                available.transport,
                transfer_format.value,
            )
        else:
            usable.append(available.transport)
    return usable


def _http_failure(status_code: int, reason: str) -> ConnectError:
    status = f"{status_code} {reason}".strip()
    if status_code in (401, 403):
        return AuthenticationError(f"negotiate was refused: {status}", status_code)
    message = f"Failed to complete negotiation with the server: {status}."
    if status_code == 404:
        message += (
            " Either this is not a SignalR endpoint or there is a proxy blocking the connection."
        )
    return ConnectError(message)


def _was_reset(error: BaseException) -> bool:
    current: BaseException | None = error
    while current is not None:
        if isinstance(current, (ConnectionResetError, BrokenPipeError)):
            return True
        current = current.__cause__ or current.__context__
    return False


def _closed_without_answer(url: str) -> ConnectError:
    message = f"the server closed the connection to {display_url(url)} without answering"
    if urlsplit(url).scheme.lower() == "https":
        # A TLS 1.3 server that wants a client certificate (and got none it trusts)
        # tells only by hanging up after the handshake.
        return TlsError(f"{message}: it may require a client certificate")
    return ConnectError(message)


@dataclass(frozen=True, slots=True)
class _Response:
    status_code: int
    reason: str
    body: bytes


async def _post(url: str, state: HttpState) -> _Response:
    # httpx is imported here, not at start-up: a run that skips negotiation never
    # pays for it.
    import httpx

    from .transports.http import http_client, proxy_refused, request_failure, send_following

    timeout = state.settings.request_timeout
    proxy = state.settings.proxy_for(url)
    with trio.move_on_after(timeout):
        async with http_client(state, url, timeout) as client:
            request = client.build_request(
                "POST", url, headers={"X-Requested-With": "XMLHttpRequest"}
            )
            try:
                response = await send_following(client, request, state, stream=True)
                try:
                    if proxy is not None and response.status_code == 407:
                        raise proxy_refused(proxy)
                    body = bytearray()
                    async for chunk in response.aiter_bytes():
                        body += chunk
                        if len(body) > MAX_RESPONSE_BYTES:
                            raise ConnectError(
                                "negotiate failed: the response is implausibly large"
                            )
                    return _Response(response.status_code, response.reason_phrase, bytes(body))
                finally:
                    with trio.CancelScope(shield=True):
                        await response.aclose()
            except httpx.TimeoutException:
                pass
            except httpx.RemoteProtocolError as error:
                if "without sending a response" in str(error):
                    raise _closed_without_answer(url) from None
                raise ConnectError(
                    f"negotiate failed: invalid HTTP response from {display_url(url)}: {error}"
                ) from None
            except httpx.HTTPError as error:
                if ssl_cause(error) is None and _was_reset(error):
                    # Hanging up on a request not yet read makes the kernel send a reset:
                    # the same refusal as a plain close.
                    raise _closed_without_answer(url) from None
                raise request_failure(error, url, proxy) from None
    raise ConnectError(f"negotiate timed out after {timeout:g} s: POST {display_url(url)}")


async def negotiate(url: str, state: HttpState, *, stateful_reconnect: bool = False) -> Negotiation:
    """POST <url>/negotiate until the server names a connection (redirects followed).

    Asks the token factory for a fresh token first, as the official clients do
    before every negotiate. A redirect's token replaces the user's credentials
    in `state`, for the rest of this connection. `stateful_reconnect` asks for it
    (useStatefulReconnect=true); the answer says whether the server agreed.
    """
    await state.refresh_token()
    for _ in range(wire.MAX_REDIRECTS):
        request_url = wire.negotiate_url(url, stateful_reconnect=stateful_reconnect)
        logger.info("negotiate: POST %s", request_url)
        response = await _post(request_url, state)
        if response.status_code != 200:
            raise _http_failure(response.status_code, response.reason)
        try:
            answer = wire.parse_response(
                response.body, stateful_reconnect_requested=stateful_reconnect
            )
        except NegotiateError as error:
            raise ConnectError(f"negotiate failed: {error}") from None
        if isinstance(answer, wire.NegotiateRedirect):
            logger.info("negotiate: redirected to %s", answer.url)
            url = http_url(answer.url)  # negotiate is an HTTP POST, even for a ws(s) URL
            if answer.access_token is not None:
                problem = header_value_problem(answer.access_token)
                if problem is not None:
                    raise ConnectError(
                        f"negotiate failed: the redirect's access token cannot be sent: {problem}"
                    )
                state.use_redirect_token(answer.access_token)
            continue
        logger.info(
            "negotiate: version %d, connection %s, transports %s",
            answer.negotiate_version,
            answer.connection_id,
            ", ".join(t.transport for t in answer.available_transports) or "none",
        )
        return Negotiation(url, answer)
    raise ConnectError(wire.REDIRECT_LIMIT_ERROR)
