"""The ASGI application: routes, authorization, and the state it owns.

Routes under the hub path P (default /hub): `P/negotiate`, `P` (the transports),
`P/redirect/negotiate` and `P/redirect/N/negotiate` (redirect chains); with
--jwt-key, also `GET /generateJwtToken` (bearer.py); the HTTP API under `/api/`
and `GET /clientresult/{id}` (restapi.py); `/echo` and `/echo/negotiate`, a raw
echo connection (echo.py). Anything else is 404. With a
required token or a JWT key, every hub route answers 401 without a valid token,
as an [Authorize] hub does.
"""

from __future__ import annotations

import logging
import re
import traceback
from dataclasses import replace

import trio

from .asgi import Receive, RequestInfo, Scope, Send, respond
from .bearer import DEFAULT_LIFETIME_SECONDS, DEFAULT_USER, JwtBearer, Refusal
from .chaos import Chaos
from .connections import ConnectionManager, HttpConnection
from .echo import ECHO_PATH, echo
from .endpoints import ConnectEndpoint
from .faults import Faults
from .front import Front
from .methods import build_methods
from .negotiate import NegotiateEndpoint
from .options import ServerOptions
from .restapi import RestApi
from .session import HubSession
from .state import HubState
from .users import user_id_for

log = logging.getLogger("hubcli.server")

# Where the official functional tests' server mints its test tokens.
MINT_PATH = "/generateJwtToken"
ECHO_NEGOTIATE = f"{ECHO_PATH}/negotiate"


class HubApp:
    def __init__(self, options: ServerOptions) -> None:
        self.options = options
        self.state = HubState()
        self.methods = build_methods()
        self.connections = ConnectionManager(self._run_hub, options.disconnect_timeout)
        # The TCP front (runner.py) owns the sockets; only --chaos lets hub methods cut them.
        self.front = Front()
        self.chaos = Chaos(self.front if options.chaos else None, self.connections)
        self._negotiate = NegotiateEndpoint(self.connections, options)
        self._connect = ConnectEndpoint(self.connections, options)
        # The raw echo connection (echo.py): no hub, so nothing to resume or break.
        echo_options = replace(options, allow_stateful_reconnect=False, faults=Faults())
        self.echo_connections = ConnectionManager(echo, options.disconnect_timeout)
        self._echo_negotiate = NegotiateEndpoint(self.echo_connections, echo_options)
        self._echo_connect = ConnectEndpoint(self.echo_connections, echo_options)
        hub = options.hub_path.rstrip("/")
        self._hub = hub or "/"
        self._negotiate_path = f"{hub}/negotiate"
        self._redirect = re.compile(re.escape(hub) + r"/redirect(?:/(\d+))?/negotiate")
        self._bearer = None if options.jwt_key is None else JwtBearer(options.jwt_key)
        hub_name = options.hub_path.rstrip("/").rsplit("/", 1)[-1] or "hub"
        self.api = RestApi(self.state, hub_name, self._api_refusal)

    def attach(self, nursery: trio.Nursery) -> None:
        """Hubs of connections and their watchdogs run in `nursery` from now on."""
        self.connections.attach(nursery)
        self.echo_connections.attach(nursery)

    async def _run_hub(self, connection: HttpConnection) -> None:
        try:
            await HubSession(connection, self.options, self.methods, self.state, self.chaos).run()
        except Exception:
            log.error("connection %s failed:\n%s", connection.connection_id, traceback.format_exc())

    def _refusal(self, request: RequestInfo) -> Refusal | None:
        """Why `request` may not reach the hub, or None."""
        token = request.access_token()
        if self._bearer is not None:
            refusal = self._bearer.check(token)
            if refusal is not None:
                return refusal
        required = self.options.require_token
        if required is None:
            return None
        if token is not None and (
            token == required or self._negotiate.redirect_tokens.accepts(token)
        ):
            return None
        return Refusal(401, "Bearer")

    def _api_refusal(self, request: RequestInfo) -> int | None:
        """The HTTP API's status for a request without the credentials it needs:
        a token signed with the JWT key (no user needed: the caller is a server),
        or the required token."""
        token = request.access_token()
        if self._bearer is not None:
            return None if token and isinstance(self._bearer.claims(token), dict) else 401
        required = self.options.require_token
        return None if required is None or token == required else 401

    async def _mint(self, request: RequestInfo, send: Send) -> None:
        """GET /generateJwtToken?user=NAME&seconds=N: a token this hub accepts."""
        assert self._bearer is not None
        if request.method != "GET":
            await respond(send, 405, content_type="text/plain")
            return
        user = request.query_value("user") or DEFAULT_USER
        try:
            lifetime = float(request.query_value("seconds") or DEFAULT_LIFETIME_SECONDS)
        except ValueError:
            lifetime = -1.0
        if not 0 < lifetime < 10 * 365 * 86400:
            await respond(send, 400, b"seconds: a number of seconds > 0", content_type="text/plain")
            return
        token = self._bearer.mint(user, lifetime).encode()
        await respond(send, 200, token, content_type="text/plain")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if kind == "lifespan":
            await self._lifespan(receive, send)
            return
        if kind not in ("http", "websocket"):
            return
        request = RequestInfo.from_scope(scope)
        websocket = request.is_websocket
        path = request.path.rstrip("/") or "/"
        redirect = self._redirect.fullmatch(path)
        if path == MINT_PATH and self._bearer is not None and not websocket:
            await self._mint(request, send)
            return
        if not websocket and RestApi.handles(path):
            await self.api.handle(request, receive, send)
            return
        if path in (ECHO_PATH, ECHO_NEGOTIATE) and self._hub != ECHO_PATH:
            await self._echo(path, request, receive, send)
            return
        if path not in (self._hub, self._negotiate_path) and redirect is None:
            await respond(send, 404, websocket=websocket)
            return
        refusal = self._refusal(request)
        if refusal is not None:
            log.info("refused %s %s: %d", request.method, request.path, refusal.status)
            challenge = (
                [] if refusal.challenge is None else [("www-authenticate", refusal.challenge)]
            )
            await respond(send, refusal.status, headers=challenge, websocket=websocket)
            return
        if path == self._hub:
            await self._connect.handle(request, receive, send)
        elif websocket:
            await respond(send, 404, websocket=True)
        elif redirect is not None:
            token = None
            if self._bearer is not None:
                # The redirect hands out a token the target accepts: one for the same user.
                token = self._bearer.mint(user_id_for(request) or DEFAULT_USER)
            await self._negotiate.redirect(request, send, int(redirect.group(1) or 1), token)
        else:
            await self._negotiate.negotiate(request, send)

    async def _echo(self, path: str, request: RequestInfo, receive: Receive, send: Send) -> None:
        if path == ECHO_PATH:
            await self._echo_connect.handle(request, receive, send)
        elif request.is_websocket:
            await respond(send, 404, websocket=True)
        else:
            await self._echo_negotiate.negotiate(request, send)

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return
