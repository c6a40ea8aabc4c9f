"""Which hub endpoint a request path is for, when one server maps several.

Each mapped path P (hubspec.py) answers `P` (the transports), `P/negotiate`, and
the Azure-style redirect negotiates `P/redirect/negotiate` and
`P/redirect/N/negotiate`. Paths match case-insensitively, as ASP.NET Core's
routing does: a client sent to /testHub reaches the hub mapped at /testhub.

All endpoints share one connection manager, as the real server's
HttpConnectionManager is one per app: a connection id is found wherever it is
presented, and each endpoint checks the transport against its own list.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace

from .connections import ConnectionManager
from .endpoints import ConnectEndpoint
from .hubspec import HubSpec
from .negotiate import NegotiateEndpoint
from .options import ServerOptions

_REDIRECT = re.compile(r"(.*)/redirect(?:/(\d+))?/negotiate")
_NEGOTIATE = "/negotiate"


class Kind(enum.Enum):
    CONNECT = "connect"
    NEGOTIATE = "negotiate"
    REDIRECT = "redirect"


@dataclass(frozen=True, slots=True)
class HubRoute:
    spec: HubSpec
    negotiate: NegotiateEndpoint
    connect: ConnectEndpoint


@dataclass(frozen=True, slots=True)
class Match:
    route: HubRoute
    kind: Kind
    # Redirect negotiates: how many hops are left to the hub.
    hops: int = 0


class HubRoutes:
    def __init__(
        self, specs: Sequence[HubSpec], manager: ConnectionManager, options: ServerOptions
    ) -> None:
        self._routes: dict[str, HubRoute] = {}
        for spec in specs:
            endpoint_options = replace(
                options, path=spec.path, transports=spec.transports or options.transports
            )
            self._routes[spec.key] = HubRoute(
                spec,
                NegotiateEndpoint(manager, endpoint_options),
                ConnectEndpoint(manager, endpoint_options),
            )

    def __iter__(self) -> Iterator[HubRoute]:
        return iter(self._routes.values())

    def route(self, path: str) -> HubRoute | None:
        """The endpoint mapped at exactly `path`."""
        return self._routes.get(_key(path))

    def match(self, path: str) -> Match | None:
        """The endpoint and kind of request `path` is for, or None (404)."""
        key = _key(path)
        route = self._routes.get(key)
        if route is not None:
            return Match(route, Kind.CONNECT)
        if key.endswith(_NEGOTIATE):
            route = self._routes.get(_key(key[: -len(_NEGOTIATE)]))
            if route is not None:
                return Match(route, Kind.NEGOTIATE)
        redirect = _REDIRECT.fullmatch(key)
        if redirect is not None:
            route = self._routes.get(_key(redirect.group(1)))
            if route is not None:
                return Match(route, Kind.REDIRECT, int(redirect.group(2) or 1))
        return None


def _key(path: str) -> str:
    return ("/" + path.strip("/")).lower()
