"""The ASGI application: routes, authorization, and the state it owns.

Hub endpoints (routes.py): for the --path hub and every --hub, `P/negotiate`, `P`
(the transports), `P/redirect/negotiate` and `P/redirect/N/negotiate` (redirect
chains); all serve one hub (the same methods, connections, groups and users), as
one hub class mapped at several paths does. `/redirect...` (any method) answers
negotiate with a redirect to the --path hub, counting redirects across the
process in `numRedirects`; with --jwt-key, `GET /generateJwtToken` (bearer.py);
the HTTP API under `/api/` and `GET /clientresult/{id}` (restapi.py); `/echo` and
`/echo/negotiate`, a raw echo connection (echo.py). Anything else is 404. Paths
match case-insensitively, as ASP.NET Core's routing does.

An endpoint that requires authorization (hubspec.py) answers 401 without a
valid token; an open one lets everyone in, and a token that fails validation
there makes an anonymous connection, as ASP.NET Core without [Authorize] does.
Every answer to a negotiate carries the negotiate cookies, refusals included.
"""

from __future__ import annotations

import logging
import traceback
from dataclasses import replace

import trio

from hubcli.protocol.negotiate import NegotiateRedirect, encode_redirect

from .asgi import Receive, RequestInfo, Scope, Send, respond
from .bearer import DEFAULT_LIFETIME_SECONDS, DEFAULT_USER, JwtBearer, Refusal
from .chaos import Chaos
from .connections import ConnectionManager, HttpConnection
from .echo import ECHO_PATH, echo
from .endpoints import ConnectEndpoint
from .faults import Faults
from .front import Front
from .methods import build_methods
from .negotiate import JSON, NegotiateEndpoint
from .options import ServerOptions
from .restapi import RestApi
from .routes import HubRoute, HubRoutes, Kind
from .session import HubSession
from .state import HubState
from .users import name_identifier, user_id_for

log = logging.getLogger("hubcli.server")

# Where the official functional tests' server mints its test tokens.
MINT_PATH = "/generatejwttoken"
ECHO_NEGOTIATE = f"{ECHO_PATH}/negotiate"
REDIRECT_PATH = "/redirect"


class HubApp:
    def __init__(self, options: ServerOptions) -> None:
        self.options = options
        self.state = HubState()
        self.methods = build_methods()
        self.connections = ConnectionManager(self._run_hub, options.disconnect_timeout)
        # The TCP front (runner.py) owns the sockets; only --chaos lets hub methods cut them.
        self.front = Front()
        self.chaos = Chaos(self.front if options.chaos else None, self.connections)
        self.routes = HubRoutes(options.hub_specs(), self.connections, options)
        default = self.routes.route(options.hub_path)
        assert default is not None
        self._default: HubRoute = default
        # The root redirect's count, for the whole process (as the test app's is).
        self._redirects = 0
        # The raw echo connection (echo.py): no hub, so nothing to resume or break.
        echo_options = replace(options, allow_stateful_reconnect=False, faults=Faults())
        self.echo_connections = ConnectionManager(echo, options.disconnect_timeout)
        self._echo_negotiate = NegotiateEndpoint(self.echo_connections, echo_options)
        self._echo_connect = ConnectEndpoint(self.echo_connections, echo_options)
        self._bearer = None if options.jwt_key is None else JwtBearer(options.jwt_key)
        hub_name = options.hub_path.rstrip("/").rsplit("/", 1)[-1] or "hub"
        self.api = RestApi(self.state, hub_name, self._api_refusal)

    def attach(self, nursery: trio.Nursery) -> None:
        """Hubs of connections and their watchdogs run in `nursery` from now on."""
        self.connections.attach(nursery)
        self.echo_connections.attach(nursery)

    async def _run_hub(self, connection: HttpConnection) -> None:
        try:
            await HubSession(
                connection,
                self.options,
                self.methods,
                self.state,
                self.chaos,
                identify=self._identify,
            ).run()
        except Exception:
            log.error("connection %s failed:\n%s", connection.connection_id, traceback.format_exc())

    def _identify(self, request: RequestInfo) -> str | None:
        """The user of a connection opened by `request`: with a JWT key, only a
        token that passes validation names one (elsewhere it is anonymous)."""
        if self._bearer is None:
            return user_id_for(request)
        token = request.access_token()
        claims = None if token is None else self._bearer.claims(token)
        return name_identifier(claims) if isinstance(claims, dict) else None

    def _refusal(self, route: HubRoute, request: RequestInfo) -> Refusal | None:
        """Why `request` may not reach the hub at `route`, or None."""
        if not route.spec.authorize:
            return None
        token = request.access_token()
        if self._bearer is not None:
            refusal = self._bearer.check(token)
            if refusal is not None:
                return refusal
        required = self.options.require_token
        if required is None:
            return None
        if token is not None and (
            token == required
            or any(route.negotiate.redirect_tokens.accepts(token) for route in self.routes)
        ):
            return None
        return Refusal(401, "Bearer")

    def _api_refusal(self, request: RequestInfo) -> int | None:
        """The HTTP API's status for a request without the credentials it needs:
        a token signed with the JWT key (no user needed: the caller is a server),
        or the required token; none when the hub it serves is open."""
        if not self._default.spec.authorize:
            return None
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
        lower = path.lower()
        match = self.routes.match(path)
        if match is None:
            if lower == MINT_PATH and self._bearer is not None and not websocket:
                await self._mint(request, send)
            elif not websocket and RestApi.handles(path):
                await self.api.handle(request, receive, send)
            elif lower in (ECHO_PATH, ECHO_NEGOTIATE):
                await self._echo(lower, request, receive, send)
            elif (
                lower == REDIRECT_PATH or lower.startswith(REDIRECT_PATH + "/")
            ) and not websocket:
                await self._root_redirect(request, send)
            else:
                await respond(send, 404, websocket=websocket)
            return
        route = match.route
        refusal = self._refusal(route, request)
        if refusal is not None:
            log.info("refused %s %s: %d", request.method, request.path, refusal.status)
            headers = [] if refusal.challenge is None else [("www-authenticate", refusal.challenge)]
            if match.kind is not Kind.CONNECT:
                headers += route.negotiate.cookie_headers(request)
            await respond(send, refusal.status, headers=headers, websocket=websocket)
            return
        if match.kind is Kind.CONNECT:
            await route.connect.handle(request, receive, send)
        elif websocket:
            await respond(send, 404, websocket=True)
        elif match.kind is Kind.REDIRECT:
            await route.negotiate.redirect(
                request, send, match.hops, self._redirect_token(route, request)
            )
        else:
            await route.negotiate.negotiate(request, send)

    def _redirect_token(self, route: HubRoute, request: RequestInfo) -> str | None:
        """The access token a redirect to `route` hands out: one the target accepts
        (with a JWT key, one for the same user); none when it is open and the
        server has no redirect tokens of its own to give."""
        if self._bearer is not None and route.spec.authorize:
            return self._bearer.mint(self._identify(request) or DEFAULT_USER)
        return None

    async def _root_redirect(self, request: RequestInfo, send: Send) -> None:
        """`/redirect...`: a negotiate answered with the --path hub's URL under
        `baseUrl` (the query's, else this server's), with `numRedirects` counting
        every redirect this process has answered: a client that reconnects through
        it sees a higher count."""
        self._redirects += 1
        base = request.query_value("baseUrl") or ""
        if not base.lower().startswith(("http://", "https://")):
            base = request.base_url()
        route = self._default
        url = f"{base.rstrip('/')}{route.spec.path}?numRedirects={self._redirects}"
        token = None
        if route.spec.authorize:
            token = self._redirect_token(route, request) or route.negotiate.redirect_tokens.issue()
        await respond(send, 200, encode_redirect(NegotiateRedirect(url, token)), content_type=JSON)

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
