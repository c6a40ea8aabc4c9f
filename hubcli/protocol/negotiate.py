"""Negotiate: URLs to ask, and the meaning of the answers (v0, v1, redirect, error).

Pure functions over strings and bytes; the HTTP request itself is the client's job.
"""

from __future__ import annotations

import enum
import re
import string
from dataclasses import dataclass, field
from typing import Any, Final
from urllib.parse import parse_qsl, quote, urlsplit, urlunsplit

from . import jsonvalues
from .base import TransferFormat
from .errors import NegotiateError, ProtocolError

MAX_REDIRECTS: Final = 100
_CONTROL: Final = re.compile(r"[\x00-\x1f\x7f]")
# Everything printable in ASCII but the space: what a request line carries as it is.
_KEPT: Final = string.punctuation
REDIRECT_LIMIT_ERROR: Final = "Negotiate redirection limit exceeded."


class TransportName(enum.Enum):
    """Transport names exactly as negotiate spells them, in the server's order."""

    WEBSOCKETS = "WebSockets"
    SERVER_SENT_EVENTS = "ServerSentEvents"
    LONG_POLLING = "LongPolling"


# What people call the transports (any case): the short words hubcli's command line
# shows, and negotiate's own spellings. The one place a transport's name is read.
TRANSPORT_WORDS: Final = ("websockets", "sse", "longpolling")
_TRANSPORTS_BY_WORD: Final = {
    "websockets": TransportName.WEBSOCKETS,
    "sse": TransportName.SERVER_SENT_EVENTS,
    "serversentevents": TransportName.SERVER_SENT_EVENTS,
    "longpolling": TransportName.LONG_POLLING,
}


def transport_named(word: str) -> TransportName | None:
    """The transport `word` names, or None."""
    return _TRANSPORTS_BY_WORD.get(word.strip().lower())


def transport_word(transport: TransportName) -> str:
    """The short word the command line shows for `transport`."""
    return TRANSPORT_WORDS[list(TransportName).index(transport)]


@dataclass(frozen=True, slots=True)
class AvailableTransport:
    transport: str
    transfer_formats: tuple[str, ...]

    def supports(self, transfer_format: TransferFormat) -> bool:
        return transfer_format.value in self.transfer_formats


@dataclass(frozen=True, slots=True)
class NegotiateResponse:
    connection_id: str | None
    connection_token: str | None
    negotiate_version: int
    available_transports: tuple[AvailableTransport, ...] = ()
    use_stateful_reconnect: bool = False

    @property
    def token_for_connect(self) -> str | None:
        # Before version 1 the id doubled as the token.
        if self.negotiate_version >= 1 and self.connection_token:
            return self.connection_token
        return self.connection_id


@dataclass(frozen=True, slots=True)
class NegotiateRedirect:
    url: str
    access_token: str | None = None


def _add_query(url: str, name: str, value: str) -> str:
    parts = urlsplit(url)
    query = f"{parts.query}&" if parts.query else ""
    return urlunsplit(parts._replace(query=f"{query}{name}={quote(value, safe='')}"))


def _query_names(url: str) -> set[str]:
    return {name for name, _ in parse_qsl(urlsplit(url).query, keep_blank_values=True)}


def negotiate_url(
    hub_url: str, *, negotiate_version: int = 1, stateful_reconnect: bool = False
) -> str:
    """`<path>/negotiate` with the user's query kept, plus negotiateVersion."""
    parts = urlsplit(hub_url)
    path = parts.path if parts.path.endswith("/") else f"{parts.path}/"
    url = urlunsplit(parts._replace(path=f"{path}negotiate", fragment=""))
    if "negotiateVersion" not in _query_names(url):
        url = _add_query(url, "negotiateVersion", str(negotiate_version))
    if stateful_reconnect:
        url = _add_query(url, "useStatefulReconnect", "true")
    return url


def connect_url(hub_url: str, connection_token: str | None) -> str:
    """The transport URL: the hub URL plus `id=<token>` when negotiate gave one."""
    url = urlunsplit(urlsplit(hub_url)._replace(fragment=""))
    if connection_token is None:
        return url
    return _add_query(url, "id", connection_token)


def websocket_url(url: str) -> str:
    parts = urlsplit(url)
    scheme = {"http": "ws", "https": "wss"}.get(parts.scheme.lower(), parts.scheme)
    return urlunsplit(parts._replace(scheme=scheme))


def _transports(value: Any) -> tuple[AvailableTransport, ...]:
    if value is None:
        return ()
    if not isinstance(value, list):
        raise NegotiateError("Invalid negotiation response: 'availableTransports' is not a list.")
    transports = []
    for entry in value:
        if not isinstance(entry, dict) or not isinstance(entry.get("transport"), str):
            raise NegotiateError("Invalid negotiation response: malformed transport entry.")
        formats = entry.get("transferFormats") or []
        if not isinstance(formats, list) or not all(isinstance(f, str) for f in formats):
            raise NegotiateError("Invalid negotiation response: malformed transferFormats.")
        transports.append(AvailableTransport(entry["transport"], tuple(formats)))
    return tuple(transports)


def _optional_str(body: dict[str, Any], name: str) -> str | None:
    value = body.get(name)
    if value is not None and not isinstance(value, str):
        raise NegotiateError(f"Invalid negotiation response: '{name}' is not a string.")
    return value


def wire_url(url: str) -> str:
    """`url` as a request line and a Host header can carry it: spaces and non-ASCII
    percent-encoded as UTF-8 (as browsers, and so the official clients, send
    them), a non-ASCII host in its IDNA form. ValueError for a control character:
    no URL parser keeps one, and a CR LF in a request line would forge headers.

    Every URL goes through here, the user's and every one a server hands over, so
    none reaches the HTTP and WebSocket libraries in a form they refuse half-way.
    """
    if _CONTROL.search(url):
        raise ValueError("it has a control character (such as CR or LF)")
    if url.isascii() and " " not in url:
        return url
    parts = urlsplit(url)
    netloc = parts.netloc
    if not netloc.isascii() or " " in netloc:
        userinfo, at, _ = netloc.rpartition("@")
        try:
            host = (parts.hostname or "").encode("idna").decode("ascii")
            port = parts.port
        except (UnicodeError, ValueError):
            raise ValueError("its host is not a valid host name") from None
        if ":" in host:
            host = f"[{host}]"  # an IPv6 address, which urlsplit unbracketed
        netloc = quote(userinfo, safe=_KEPT) + at + host + ("" if port is None else f":{port}")
    return urlunsplit(
        parts._replace(
            netloc=netloc,
            path=quote(parts.path, safe=_KEPT),
            query=quote(parts.query, safe=_KEPT),
            fragment="",
        )
    )


def nameable_host(hostname: str) -> bool:
    """Whether a resolver can be asked for `hostname`: no empty label, none longer
    than 63 characters (what the IDNA encoding of every socket call refuses)."""
    try:
        hostname.encode("idna")
    except UnicodeError:
        return False
    return True


def _redirect_url(url: str) -> str:
    """`url` if a client can negotiate there: absolute, http(s) or ws(s), a host."""
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError for a port out of range
    except ValueError:
        parts = None
    if (
        parts is None
        or parts.scheme.lower() not in ("http", "https", "ws", "wss")
        or not parts.hostname
        or not nameable_host(parts.hostname)
    ):
        raise NegotiateError(
            "Invalid negotiation response: the redirect 'url' is not an absolute "
            "http(s) or ws(s) URL."
        )
    try:
        return wire_url(url)
    except ValueError as error:
        raise NegotiateError(
            f"Invalid negotiation response: the redirect 'url' cannot be used: {error}."
        ) from None


def parse_response(
    body: bytes, *, stateful_reconnect_requested: bool = False
) -> NegotiateResponse | NegotiateRedirect:
    """Read a 200 negotiate body; NegotiateError for error bodies and unusable servers."""
    try:
        decoded = jsonvalues.loads(body)
    except ProtocolError:
        raise NegotiateError("Invalid negotiation response: the body is not JSON.") from None
    if not isinstance(decoded, dict):
        raise NegotiateError("Invalid negotiation response: the body is not a JSON object.")
    if "error" in decoded:
        raise NegotiateError(str(decoded["error"]))
    if "ProtocolVersion" in decoded:
        raise NegotiateError(
            "Detected a connection attempt to an ASP.NET SignalR Server. This client only "
            "supports connecting to an ASP.NET Core SignalR Server."
        )
    url = _optional_str(decoded, "url")
    if url is not None:
        return NegotiateRedirect(_redirect_url(url), _optional_str(decoded, "accessToken"))
    version = decoded.get("negotiateVersion", 0)
    if not isinstance(version, int) or isinstance(version, bool):
        raise NegotiateError("Invalid negotiation response: 'negotiateVersion' is not a number.")
    stateful = decoded.get("useStatefulReconnect") is True
    if stateful and not stateful_reconnect_requested:
        raise NegotiateError("Client didn't negotiate Stateful Reconnect but the server did.")
    response = NegotiateResponse(
        connection_id=_optional_str(decoded, "connectionId"),
        connection_token=_optional_str(decoded, "connectionToken"),
        negotiate_version=version,
        available_transports=_transports(decoded.get("availableTransports")),
        use_stateful_reconnect=stateful,
    )
    if response.token_for_connect is None:
        raise NegotiateError("Invalid negotiation response: no connection id.")
    return response


@dataclass(frozen=True, slots=True)
class ServerNegotiation:
    """What a server answers to a negotiate request (see `encode_response`)."""

    connection_id: str
    connection_token: str
    negotiate_version: int
    available_transports: tuple[AvailableTransport, ...] = field(default=())
    use_stateful_reconnect: bool = False


def encode_response(negotiation: ServerNegotiation) -> bytes:
    body: dict[str, Any] = {
        "negotiateVersion": negotiation.negotiate_version,
        "connectionId": negotiation.connection_id,
    }
    if negotiation.negotiate_version >= 1:
        body["connectionToken"] = negotiation.connection_token
    body["availableTransports"] = [
        {"transport": t.transport, "transferFormats": list(t.transfer_formats)}
        for t in negotiation.available_transports
    ]
    if negotiation.use_stateful_reconnect:
        body["useStatefulReconnect"] = True
    return jsonvalues.dumps(body)


def encode_redirect(redirect: NegotiateRedirect) -> bytes:
    body: dict[str, Any] = {"url": redirect.url}
    if redirect.access_token is not None:
        body["accessToken"] = redirect.access_token
    return jsonvalues.dumps(body)


def encode_error(message: str) -> bytes:
    return jsonvalues.dumps({"error": message})


def requested_negotiate_version(raw: str | None) -> int:
    """The version a request asked for; ValueError with the server's text when unusable."""
    if raw is None:
        return 0
    try:
        version = int(raw)
    except ValueError:
        raise ValueError("The client requested a non-integer protocol version.") from None
    return min(version, 1)
