"""`connect()`'s arguments, checked before anything starts: a mistake in the call
is an InvalidArgumentError naming the argument, never a failure to connect, a
hang, or an error from deep inside trio."""

from __future__ import annotations

import math
from collections.abc import Collection
from typing import Final
from urllib.parse import urlsplit

from hubcli.protocol.negotiate import nameable_host, wire_url

from .errors import InvalidArgumentError, InvalidURLError
from .network import display_url


def check_hub_url(url: str) -> str:
    """`url` as it goes on the wire (spaces and non-ASCII characters percent-encoded,
    as browsers send them); InvalidURLError unless it is an absolute http(s):// or
    ws(s):// URL with a usable host and port. The CLI checks its URL argument here."""
    shown = url
    try:
        parts = urlsplit(url)
        shown = display_url(url) if "://" in url else url  # no credentials, no query
        parts.port  # noqa: B018 - raises ValueError for a port out of range
    except ValueError as error:
        reason = str(error)
        raise InvalidURLError(
            f"invalid hub URL {shown!r}: {reason[:1].lower()}{reason[1:]}"
        ) from None
    if parts.scheme.lower() not in ("http", "https", "ws", "wss"):
        raise InvalidURLError(
            f"invalid hub URL {shown!r}: the scheme must be http, https, ws or wss"
        )
    if not parts.hostname:
        raise InvalidURLError(f"invalid hub URL {shown!r}: no host")
    if not nameable_host(parts.hostname):
        raise InvalidURLError(
            f"invalid hub URL {shown!r}: the host has an empty label or one over 63 characters"
        )
    try:
        return wire_url(url)
    except ValueError as error:
        raise InvalidURLError(f"invalid hub URL {shown!r}: {error}") from None


SKIP_NEGOTIATION_ERROR: Final = (
    "Negotiation can only be skipped when using the WebSocket transport directly."
)
DIRECT_URL_ERROR: Final = "a ws:// or wss:// URL (no negotiate) works only with WebSockets"


def skips_negotiation(url: str, skip_negotiation: bool, transports: Collection[str]) -> bool:
    """Whether a connection to `url` opens a WebSocket without negotiating: when asked
    to, or for a ws:// or wss:// URL (negotiate is HTTP, so such a URL can only mean
    a direct WebSocket). Either way WebSockets is the only transport `transports`
    (lower-case names, "auto" included) may allow: InvalidArgumentError otherwise."""
    direct = urlsplit(url).scheme.lower() in ("ws", "wss")
    if (skip_negotiation or direct) and not set(transports) <= {"auto", "websockets"}:
        raise InvalidArgumentError(SKIP_NEGOTIATION_ERROR if skip_negotiation else DIRECT_URL_ERROR)
    return skip_negotiation or direct


def check_seconds(name: str, value: float | None, *, zero_allowed: bool = True) -> None:
    """A duration: None (no limit) or a number of seconds, infinity included; not
    NaN, not negative, and not 0 where 0 could only ever fail."""
    if value is None:
        return
    least = "0 or more" if zero_allowed else "more than 0"
    if (
        isinstance(value, bool)
        or not isinstance(value, (int, float))
        or math.isnan(value)
        or value < 0
        or (value == 0 and not zero_allowed)
    ):
        raise InvalidArgumentError(f"{name} must be {least} seconds, not {value!r}")


def check_count(name: str, value: int | None, *, least: int) -> None:
    """A count or a size in bytes: None (no limit) or an integer of at least `least`."""
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, int) or value < least:
        raise InvalidArgumentError(f"{name} must be an integer of at least {least}, not {value!r}")
