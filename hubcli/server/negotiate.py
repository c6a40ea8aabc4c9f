"""POST <path>/negotiate, and the Azure-style redirect endpoints in front of it.

Version rules of HttpConnectionDispatcher.ProcessNegotiate: no negotiateVersion is
version 0 (id doubles as token), a non-integer or negative one is an error body
(still HTTP 200), anything above 1 is answered as 1. `useStatefulReconnect` is
read (as a .NET bool) only when the server allows stateful reconnects, and the
answer says `"useStatefulReconnect":true` only when both hold. A redirect endpoint
answers `{"url", "accessToken"}` pointing at the hub, or at the next redirect of
a chain.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

from hubcli.protocol.negotiate import (
    AvailableTransport,
    NegotiateRedirect,
    ServerNegotiation,
    encode_error,
    encode_redirect,
    encode_response,
    requested_negotiate_version,
)

from .asgi import TEXT_PLAIN, RequestInfo, Send, respond
from .connections import ConnectionManager
from .faults import answer_negotiate
from .options import ALL_TRANSPORTS, ServerOptions, TransportName

JSON = "application/json"

TRANSFER_FORMATS = {
    TransportName.WEBSOCKETS: ("Text", "Binary"),
    TransportName.SERVER_SENT_EVENTS: ("Text",),
    TransportName.LONG_POLLING: ("Text", "Binary"),
}


class RedirectTokens:
    """Access tokens for the redirect endpoints to hand out and the hub to accept.

    Signed, not stored: a set of issued tokens grew with every redirect negotiate,
    and pruning it (by age or count) would lock out connections still using theirs,
    since long polling sends the token with every request. A signature needs no
    state and holds as long as this server runs, as the token it stands in for does.
    """

    PREFIX = "redirect-"

    def __init__(self) -> None:
        # Per server: a token from another run or instance is refused.
        self._key = secrets.token_bytes(32)

    def _sign(self, nonce: str) -> str:
        digest = hmac.new(self._key, nonce.encode(), hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()

    def issue(self) -> str:
        nonce = secrets.token_urlsafe(16)
        return f"{self.PREFIX}{nonce}.{self._sign(nonce)}"

    def accepts(self, token: str) -> bool:
        if not token.startswith(self.PREFIX):
            return False
        nonce, dot, signature = token[len(self.PREFIX) :].partition(".")
        return bool(nonce and dot) and hmac.compare_digest(
            signature.encode(), self._sign(nonce).encode()
        )


def negotiate_error(raw_version: str | None) -> tuple[int, str | None]:
    """The version to answer with, or the error text the server puts in the body."""
    if raw_version is None:
        return 0, None
    try:
        version = requested_negotiate_version(raw_version.strip())
    except ValueError as exc:
        return 0, str(exc)
    if version < 0:
        return 0, (
            f"The client requested version '{version}', but the server does not support "
            "this version."
        )
    return version, None


def dotnet_true(value: str | None) -> bool:
    """bool.TryParse's true: "true" in any case, blanks around it allowed."""
    return value is not None and value.strip().lower() == "true"


def over_tls(cookie: str) -> str:
    """`cookie` as sent over TLS: Secure, and SameSite=None unless it says otherwise,
    so a browser app on another site (a dev server, a test runner) gets it back on
    its cross-site requests, as the functional tests' app sets its cookies. Over
    plain HTTP a browser would refuse a SameSite=None cookie, so it goes as given."""
    attributes = {part.strip().partition("=")[0].strip().lower() for part in cookie.split(";")[1:]}
    extra = [] if "secure" in attributes else ["secure"]
    if "samesite" not in attributes:
        extra.append("samesite=none")
    return "; ".join([cookie.rstrip().rstrip(";"), *extra]) if extra else cookie


class NegotiateEndpoint:
    def __init__(self, manager: ConnectionManager, options: ServerOptions) -> None:
        self._manager = manager
        self._options = options
        self.redirect_tokens = RedirectTokens()
        cookie = options.sticky_cookie
        self._cookies = [] if cookie is None else [f"{cookie[0]}={cookie[1]}; Path=/; HttpOnly"]
        self._cookies += options.negotiate_cookies

    def cookie_headers(self, request: RequestInfo) -> list[tuple[str, str]]:
        """The Set-Cookie headers of every answer to a negotiate, refusals included."""
        tls = request.scheme in ("https", "wss")
        return [("set-cookie", over_tls(value) if tls else value) for value in self._cookies]

    async def negotiate(self, request: RequestInfo, send: Send) -> None:
        if request.method != "POST":
            await respond(send, 405, content_type=TEXT_PLAIN)
            return
        if await answer_negotiate(self._options.faults, send):
            return
        version, error = negotiate_error(request.query_value("negotiateVersion"))
        if error is not None:
            await respond(send, 200, encode_error(error), content_type=JSON)
            return
        stateful = self._options.allow_stateful_reconnect and dotnet_true(
            request.query_value("useStatefulReconnect")
        )
        connection = self._manager.create(version, stateful=stateful)
        negotiation = ServerNegotiation(
            connection_id=connection.connection_id,
            connection_token=connection.token,
            negotiate_version=version,
            available_transports=tuple(
                AvailableTransport(t.value, TRANSFER_FORMATS[t])
                for t in ALL_TRANSPORTS
                if t in self._options.transports
            ),
            use_stateful_reconnect=stateful,
        )
        await respond(
            send,
            200,
            encode_response(negotiation),
            content_type=JSON,
            headers=self.cookie_headers(request),
        )

    async def redirect(
        self, request: RequestInfo, send: Send, hops: int, token: str | None = None
    ) -> None:
        """Answer a redirect negotiate; `token` is the access token to hand out
        (by default one of this server's own redirect tokens)."""
        if request.method != "POST":
            await respond(send, 405, content_type=TEXT_PLAIN)
            return
        hub = self._options.hub_path.rstrip("/")
        target = f"{hub}/redirect/{hops - 1}" if hops > 1 else (hub or "/")
        try:
            redirects = int(request.query_value("numRedirects") or "0") + 1
        except ValueError:
            redirects = 1
        token = token or self.redirect_tokens.issue()
        url = f"{request.base_url()}{target}?numRedirects={redirects}"
        await respond(send, 200, encode_redirect(NegotiateRedirect(url, token)), content_type=JSON)
