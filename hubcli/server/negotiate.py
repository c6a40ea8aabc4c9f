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


class NegotiateEndpoint:
    def __init__(self, manager: ConnectionManager, options: ServerOptions) -> None:
        self._manager = manager
        self._options = options
        self.redirect_tokens = RedirectTokens()
        cookie = options.sticky_cookie
        self._set_cookie = (
            [] if cookie is None else [("set-cookie", f"{cookie[0]}={cookie[1]}; Path=/; HttpOnly")]
        )
        self._set_cookie += [("set-cookie", value) for value in options.negotiate_cookies]

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
            send, 200, encode_response(negotiation), content_type=JSON, headers=self._set_cookie
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
