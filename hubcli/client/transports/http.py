"""What Server-Sent Events and Long Polling share: an httpx client set up from the
connection's settings, the bearer token on every request, and the POST queue.

httpx (a maintained HTTP client that runs on trio) does the HTTP here: streamed
responses, connection reuse between polls and POSTs, proxies, cookies. It is set up
from the same `HttpState` as negotiate and the WebSocket: the same TLS context,
the same proxy decision (trust_env off, the proxy passed explicitly), the same
cookie jar. This module is imported only when one of these transports is chosen,
so the WebSocket path never loads httpx.
"""

from __future__ import annotations

import logging
import ssl
from collections.abc import AsyncGenerator
from typing import Final
from urllib.parse import urlsplit

import httpx
import trio

from hubcli.client.errors import AuthenticationError, ConnectError
from hubcli.client.network import HttpState, display_url
from hubcli.client.network_streams import host_and_port, ssl_cause, tls_failure

from .base import TransportClosed

logger: Final = logging.getLogger("hubcli")

TEXT_CONTENT_TYPE: Final = "text/plain;charset=UTF-8"
BINARY_CONTENT_TYPE: Final = "application/octet-stream"
REFUSAL_BYTES: Final = 4096
REDIRECT_STATUSES: Final = frozenset({301, 302, 303, 307, 308})
# The fetch standard's limit, which the official clients' HTTP requests inherit.
MAX_REDIRECTS: Final = 20
# What the user's own headers may carry that belongs to the first origin only.
_CREDENTIAL_HEADERS: Final = ("authorization", "cookie")


class _Bearer(httpx.Auth):
    """`Authorization: Bearer` on every request; after a 401, one retry with a token
    fresh from the factory, as the official clients do."""

    def __init__(self, state: HttpState) -> None:
        self._state = state

    def _apply(self, request: httpx.Request) -> None:
        if self._state.sends_bearer():
            request.headers["Authorization"] = f"Bearer {self._state.token}"

    async def async_auth_flow(
        self, request: httpx.Request
    ) -> AsyncGenerator[httpx.Request, httpx.Response]:
        self._apply(request)
        sent_with = self._state.token
        response = yield request
        if response.status_code == 401 and self._state.can_refresh_token:
            # Another request may have renewed the token meanwhile: then use that one.
            if self._state.token == sent_with:
                await self._state.refresh_token()
            if self._state.token != sent_with:
                logger.info("401: retrying with a new token")
                self._apply(request)
                yield request


def http_client(state: HttpState, url: str, timeout: float | None) -> httpx.AsyncClient:
    """An httpx client for the requests of one transport to `url`."""
    proxy = state.settings.proxy_for(url)
    if proxy is not None:
        logger.info(
            "%s: through the proxy %s",
            url.split("?", maxsplit=1)[0],
            urlsplit(proxy).netloc.rpartition("@")[2],
        )
    context = state.ssl_context_if_made()
    if context is None:
        # A plain http:// transport needs no trust store (and making one costs time).
        secure = urlsplit(url).scheme.lower() == "https"
        context = state.ssl_context() if secure else ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    return httpx.AsyncClient(
        auth=_Bearer(state),
        headers=state.headers(bearer=False),
        cookies=state.cookie_jar(),
        verify=context,
        proxy=proxy,
        trust_env=False,
        follow_redirects=False,
        timeout=httpx.Timeout(timeout, connect=timeout),
    )


def _origin(url: httpx.URL) -> tuple[str, str, int | None]:
    return url.scheme, url.host, url.port


def _next_request(
    client: httpx.AsyncClient, request: httpx.Request, response: httpx.Response
) -> httpx.Request:
    """The request a redirect asks for, as fetch makes it: 303 (and 301/302 after a
    POST) turns into a GET without a body; 307 and 308 repeat the method and body."""
    url = request.url.join(response.headers["Location"])
    method, content = request.method, request.content
    if (response.status_code == 303 and method != "HEAD") or (
        response.status_code in (301, 302) and method == "POST"
    ):
        method, content = "GET", b""
    dropped = {"host", "cookie", "authorization", "content-length", "transfer-encoding"}
    if method == "GET":
        dropped.add("content-type")
    headers = [(name, value) for name, value in request.headers.items() if name not in dropped]
    # Built again by the client: its headers and the cookies the jar holds for `url`.
    return client.build_request(method, url, headers=headers, content=content or None)


def _use_user_headers(request: httpx.Request, state: HttpState, *, same_origin: bool) -> None:
    """The user's headers in place of those of the same name that httpx and hubcli
    set (Host, Accept, Content-Type, ...); an empty one removes its name. Off the
    first origin, the user's Authorization and Cookie are dropped instead."""
    user = state.user_headers()
    names = {name.lower() for name, _ in user}
    kept = [(name, value) for name, value in request.headers.multi_items() if name not in names]
    added = [
        (name, value)
        for name, value in user
        if value and (same_origin or name.lower() not in _CREDENTIAL_HEADERS)
    ]
    request.headers = httpx.Headers([*kept, *added])


async def send_following(
    client: httpx.AsyncClient, request: httpx.Request, state: HttpState, *, stream: bool = False
) -> httpx.Response:
    """`client.send(request)`, following HTTP redirects where the official clients'
    requests do (their fetch follows them), at most MAX_REDIRECTS times.

    Credentials go to the first request's origin only, as curl sends them: the
    bearer token, and Authorization and Cookie headers of the user's own. Cookies
    the jar holds for another host still go there, as a browser sends them.
    ConnectError past the limit.
    """
    origin = _origin(request.url)
    first_url = str(request.url)
    for _ in range(MAX_REDIRECTS + 1):
        same_origin = _origin(request.url) == origin
        _use_user_headers(request, state, same_origin=same_origin)
        if same_origin:
            response = await client.send(request, stream=stream)
        else:
            response = await client.send(request, stream=stream, auth=None)
        if response.status_code not in REDIRECT_STATUSES or "Location" not in response.headers:
            return response
        await response.aclose()
        try:
            following = _next_request(client, request, response)
        except httpx.InvalidURL as error:
            raise ConnectError(
                f"{request.method} {display_url(str(request.url))} was redirected to an "
                f"invalid URL: {error}"
            ) from None
        logger.info(
            "%s %s: HTTP %d, to %s",
            request.method,
            display_url(str(request.url)),
            response.status_code,
            display_url(str(following.url)),
        )
        if following.url.scheme not in ("http", "https"):
            raise ConnectError(
                f"{request.method} {display_url(first_url)} was redirected to "
                f"{display_url(str(following.url))}, which is not an http(s) URL"
            )
        request = following
    raise ConnectError(
        f"{request.method} {display_url(first_url)} was redirected more than {MAX_REDIRECTS} times"
    )


def status_failure(
    what: str, response: httpx.Response, url: str, body: str | None = None
) -> ConnectError:
    """A refusal: the status, and the start of the body (`body` when streamed)."""
    status = f"{response.status_code} {response.reason_phrase}".strip()
    if body is None:
        try:
            body = response.text
        except httpx.ResponseNotRead:
            body = ""
    text = body.strip()
    detail = f": {text[:200]}" if text else ""
    message = f"{what} {display_url(url)} was refused: HTTP {status}{detail}"
    if response.status_code in (401, 403):
        return AuthenticationError(message, response.status_code)
    return ConnectError(message)


async def refusal(what: str, response: httpx.Response, url: str) -> ConnectError:
    """`status_failure` for a streamed response.

    The status is the refusal and the body only its detail, so a body that
    breaks off, or never ends, changes nothing: at most REFUSAL_BYTES are read.
    """
    body = bytearray()
    try:
        async for chunk in response.aiter_bytes():
            body += chunk
            if len(body) >= REFUSAL_BYTES:
                break
    except httpx.HTTPError as error:
        logger.debug("the body of the refusal broke off: %s", error)
    text = bytes(body[:REFUSAL_BYTES]).decode(response.encoding or "utf-8", "replace")
    return status_failure(what, response, url, text)


def request_failure(error: httpx.HTTPError, url: str, proxy: str | None = None) -> ConnectError:
    """An httpx error before a response, as one line naming the cause.

    `proxy` is the proxy the request went through, if any: a failure to connect
    is then the proxy's.
    """
    cause = ssl_cause(error)
    if cause is not None:
        return tls_failure(cause, *host_and_port(url))
    if isinstance(error, httpx.ProxyError):
        if proxy is not None and "407" in str(error):
            return proxy_refused(proxy)
        return ConnectError(f"could not connect to {display_url(url)} through the proxy: {error}")
    if proxy is not None and isinstance(error, httpx.ConnectError):
        detail = _os_detail(error) or str(error) or type(error).__name__
        return ConnectError(f"could not connect to the proxy {display_url(proxy)}: {detail}")
    if isinstance(error, httpx.TimeoutException):
        return ConnectError(f"could not connect to {display_url(url)}: timed out")
    detail = _os_detail(error) or str(error) or type(error).__name__
    return ConnectError(f"could not connect to {display_url(url)}: {detail}")


def proxy_refused(proxy: str) -> AuthenticationError:
    return AuthenticationError(
        f"the proxy {display_url(proxy)} requires authentication (407 Proxy Authentication "
        "Required)",
        407,
    )


def lost(error: httpx.HTTPError) -> TransportClosed:
    """An httpx error once the transport runs."""
    cause = ssl_cause(error)
    detail = str(cause or error) or type(error).__name__
    return TransportClosed(f"the HTTP connection failed: {detail}")


def _os_detail(error: BaseException) -> str | None:
    current: BaseException | None = error
    while current is not None:
        if isinstance(current, OSError) and current.strerror:
            return current.strerror
        current = current.__cause__ or current.__context__
    return None


class _Batch:
    __slots__ = ("done", "error")

    def __init__(self) -> None:
        self.done = trio.Event()
        self.error: TransportClosed | None = None


class PostQueue:
    """Client-to-server data, POSTed one request at a time.

    Messages handed over while a POST is in flight are joined into the next POST's
    body (the official clients' send queue), so a fast sender costs few round
    trips. `send` returns once the POST carrying its data was answered 2xx.

    The POST is made by one of the callers, not by a task of the transport's own:
    a caller's clean-up (CancelInvocation, Close) runs shielded while everything
    else is being cancelled, and its POST must go out all the same.
    """

    def __init__(
        self,
        client: httpx.AsyncClient,
        http: HttpState,
        url: str,
        *,
        binary: bool,
        transport: str,
    ) -> None:
        self._client = client
        self._http = http
        self._url = url
        self._content_type = BINARY_CONTENT_TYPE if binary else TEXT_CONTENT_TYPE
        self._transport = transport
        self._pending = bytearray()
        self._batch = _Batch()
        self._posting = False
        self._posted = trio.Event()
        self._closed: TransportClosed | None = None

    async def send(self, data: bytes) -> None:
        if self._closed is not None:
            raise self._closed
        # Appended before the first checkpoint: callers' order is the wire order.
        self._pending += data
        batch = self._batch
        while not batch.done.is_set():
            if self._posting:
                await self._posted.wait()
            else:
                await self._post_pending()
        if batch.error is not None:
            raise batch.error

    def close(self, reason: TransportClosed) -> None:
        """Fail what waits and refuse what comes."""
        if self._closed is None:
            self._closed = reason
        self._batch.error = self._closed
        self._batch.done.set()

    async def _post_pending(self) -> None:
        """POST everything queued, as one body, on behalf of all who queued it."""
        self._posting = True
        body = bytes(self._pending)
        self._pending.clear()
        batch, self._batch = self._batch, _Batch()
        try:
            await self._post(body)
        except TransportClosed as closed:
            batch.error = closed
            self.close(closed)
        except BaseException:
            # Cancelled mid-POST: whether the server got it is unknown; its other
            # senders must not take that for success.
            batch.error = TransportClosed(f"the {self._transport} connection closed while sending")
            raise
        finally:
            batch.done.set()
            self._posting = False
            self._posted.set()
            self._posted = trio.Event()

    async def _post(self, body: bytes) -> None:
        try:
            request = self._client.build_request(
                "POST", self._url, content=body, headers={"Content-Type": self._content_type}
            )
            response = await send_following(self._client, request, self._http)
        except httpx.HTTPError as error:
            raise lost(error) from None
        if not response.is_success:
            status = f"{response.status_code} {response.reason_phrase}".strip()
            raise TransportClosed(f"sending failed: POST answered HTTP {status}")
