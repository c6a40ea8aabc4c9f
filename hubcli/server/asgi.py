"""The few ASGI shapes the hub needs: a read-only request view and plain responses.

Header names are compared case-insensitively and query names too, as ASP.NET Core
does, so `NegotiateVersion` and `negotiateVersion` mean the same thing.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

Scope = dict[str, Any]
Message = dict[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

TEXT_PLAIN = "text/plain"


@dataclass(frozen=True, slots=True)
class RequestInfo:
    method: str
    path: str
    query: tuple[tuple[str, str], ...]
    headers: tuple[tuple[str, str], ...]
    scheme: str
    client: tuple[str, int] | None
    server: tuple[str, int] | None
    is_websocket: bool
    # A WebSocket the front serves itself (front.py): what the transport runs on.
    native: Any = field(default=None, compare=False, repr=False)

    @classmethod
    def from_scope(cls, scope: Scope) -> RequestInfo:
        raw_query = scope.get("query_string", b"").decode("latin-1")
        headers = tuple(
            (name.decode("latin-1").lower(), value.decode("latin-1"))
            for name, value in scope.get("headers", [])
        )
        client = scope.get("client")
        server = scope.get("server")
        return cls(
            method=scope.get("method", "GET").upper(),
            path=scope.get("path", "/"),
            query=tuple(parse_qsl(raw_query, keep_blank_values=True)),
            headers=headers,
            scheme=scope.get("scheme", "http"),
            client=(str(client[0]), int(client[1])) if client else None,
            server=(str(server[0]), int(server[1])) if server else None,
            is_websocket=scope.get("type") == "websocket",
            native=(scope.get("extensions") or {}).get("hubcli.native_websocket"),
        )

    def header(self, name: str) -> str | None:
        """All values of a header joined with ", ", or None when absent."""
        wanted = name.lower()
        values = [value for key, value in self.headers if key == wanted]
        return ", ".join(values) if values else None

    def query_value(self, name: str) -> str | None:
        wanted = name.lower()
        for key, value in self.query:
            if key.lower() == wanted:
                return value
        return None

    def header_dict(self) -> dict[str, str]:
        result: dict[str, str] = {}
        for key, value in self.headers:
            result[key] = f"{result[key]}, {value}" if key in result else value
        return result

    def query_dict(self) -> dict[str, str]:
        result: dict[str, str] = {}
        for key, value in self.query:
            result.setdefault(key, value)
        return result

    def cookies(self) -> dict[str, str]:
        """The request's cookies, read leniently as ASP.NET Core's parser does: a
        pair that is not NAME=VALUE is skipped, not the whole header (the
        standard library's SimpleCookie gives up on the lot), and a quoted value
        loses its quotes. The first of a repeated name wins."""
        result: dict[str, str] = {}
        for header in (value for key, value in self.headers if key == "cookie"):
            for pair in header.split(";"):
                name, separator, value = pair.partition("=")
                name, value = name.strip(), value.strip()
                if not separator or not name or any(c in name for c in ' ",\t'):
                    continue
                if len(value) >= 2 and value[0] == value[-1] == '"':
                    value = value[1:-1]
                result.setdefault(name, value)
        return result

    def access_token(self) -> str | None:
        """The bearer token from the Authorization header, else the access_token query."""
        authorization = self.header("authorization")
        if authorization is not None:
            scheme, _, token = authorization.strip().partition(" ")
            if scheme.lower() == "bearer" and token.strip():
                return token.strip()
        return self.query_value("access_token")

    def base_url(self) -> str:
        """scheme://host of this request, as the client addressed it."""
        scheme = self.scheme
        if self.is_websocket:
            scheme = "https" if scheme == "wss" else "http"
        host = self.header("host")
        if host is None and self.server is not None:
            host = f"{self.server[0]}:{self.server[1]}"
        return f"{scheme}://{host or 'localhost'}"

    def accepts_event_stream(self) -> bool:
        # The real server compares media types exactly, parameters included.
        accept = self.header("accept") or ""
        for entry in accept.split(","):
            media_type = entry.strip()
            if media_type.lower() == "text/event-stream":
                return True
        return False


def _headers(
    content_type: str | None, length: int | None, extra: Iterable[tuple[str, str]]
) -> list[tuple[bytes, bytes]]:
    headers: list[tuple[bytes, bytes]] = []
    if content_type is not None:
        headers.append((b"content-type", content_type.encode("latin-1")))
    if length is not None:
        headers.append((b"content-length", str(length).encode("ascii")))
    headers.extend((name.encode("latin-1"), value.encode("latin-1")) for name, value in extra)
    return headers


async def respond(
    send: Send,
    status: int,
    body: bytes = b"",
    *,
    content_type: str | None = None,
    headers: Iterable[tuple[str, str]] = (),
    websocket: bool = False,
) -> None:
    """A whole response; for a WebSocket request it is the refusal of the upgrade."""
    prefix = "websocket.http.response" if websocket else "http.response"
    await send(
        {
            "type": f"{prefix}.start",
            "status": status,
            "headers": _headers(content_type, len(body), headers),
        }
    )
    await send({"type": f"{prefix}.body", "body": body, "more_body": False})
