"""The ASGI application: routes, authorization, and the state it owns.

Routes under the hub path P (default /hub): `P/negotiate`, `P` (the transports),
`P/redirect/negotiate` and `P/redirect/N/negotiate` (redirect chains). Anything
else is 404. With a required token, every route answers 401 without it, as an
[Authorize] hub does.
"""

from __future__ import annotations

import logging
import re
import traceback

import trio

from .asgi import Receive, RequestInfo, Scope, Send, respond
from .chaos import Chaos, TcpRelay
from .connections import ConnectionManager, HttpConnection
from .endpoints import ConnectEndpoint
from .methods import build_methods
from .negotiate import NegotiateEndpoint
from .options import ServerOptions
from .session import HubSession
from .state import HubState

log = logging.getLogger("hubcli.server")


class HubApp:
    def __init__(self, options: ServerOptions) -> None:
        self.options = options
        self.state = HubState()
        self.methods = build_methods()
        self.connections = ConnectionManager(self._run_hub, options.disconnect_timeout)
        # The relay runs in front of the HTTP server (runner.py) only with --chaos.
        self.relay = TcpRelay() if options.chaos else None
        self.chaos = Chaos(self.relay, self.connections)
        self._negotiate = NegotiateEndpoint(self.connections, options)
        self._connect = ConnectEndpoint(self.connections, options)
        hub = options.hub_path.rstrip("/")
        self._hub = hub or "/"
        self._negotiate_path = f"{hub}/negotiate"
        self._redirect = re.compile(re.escape(hub) + r"/redirect(?:/(\d+))?/negotiate")

    def attach(self, nursery: trio.Nursery) -> None:
        """Hubs of connections and their watchdogs run in `nursery` from now on."""
        self.connections.attach(nursery)

    async def _run_hub(self, connection: HttpConnection) -> None:
        try:
            await HubSession(connection, self.options, self.methods, self.state, self.chaos).run()
        except Exception:
            log.error("connection %s failed:\n%s", connection.connection_id, traceback.format_exc())

    def _authorized(self, request: RequestInfo) -> bool:
        required = self.options.require_token
        if required is None:
            return True
        token = request.access_token()
        return token is not None and (
            token == required or self._negotiate.redirect_tokens.accepts(token)
        )

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
        if path not in (self._hub, self._negotiate_path) and redirect is None:
            await respond(send, 404, websocket=websocket)
            return
        if not self._authorized(request):
            log.info("refused %s %s: no valid token", request.method, request.path)
            await respond(send, 401, headers=[("www-authenticate", "Bearer")], websocket=websocket)
            return
        if path == self._hub:
            await self._connect.handle(request, receive, send)
        elif websocket:
            await respond(send, 404, websocket=True)
        elif redirect is not None:
            await self._negotiate.redirect(request, send, int(redirect.group(1) or 1))
        else:
            await self._negotiate.negotiate(request, send)

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return
