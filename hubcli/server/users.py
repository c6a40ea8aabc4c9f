"""The user a connection belongs to, from the bearer token that opened it.

The real server asks IUserIdProvider once, right after the handshake; the default
one answers the first ClaimTypes.NameIdentifier claim of the authenticated user,
and JwtBearer (MapInboundClaims, on by default) turns a JWT's `sub` and `nameid`
claims into that type. So for a JWT the user id is the first of `sub`, `nameid`
or the long NameIdentifier claim, in the token's own order, and no id at all when
it has none of them: the default provider does not fall back to a name claim.

Without --jwt-key the hub validates no signature, so any JWT is believed; with
it, only tokens bearer.py verified get this far. A token that is not a JWT
stands for its user itself, as it would with an authentication handler that
names users by their opaque tokens. No token: no user (null), as on an
anonymous connection.

`user_id_for` is the one place that decides; replace it to change the rule.
"""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any

from .asgi import RequestInfo

NAME_IDENTIFIER = "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/nameidentifier"
# The inbound claim map of Microsoft.IdentityModel sends both short names here.
NAME_IDENTIFIER_CLAIMS = frozenset({"sub", "nameid", NAME_IDENTIFIER})


def user_id_for(request: RequestInfo) -> str | None:
    """The user id of a connection opened by `request`."""
    return user_id_from_token(request.access_token())


def user_id_from_token(token: str | None) -> str | None:
    if not token:
        return None
    payload = jwt_payload(token)
    if payload is None:
        return token
    return name_identifier(payload)


def jwt_payload(token: str) -> dict[str, Any] | None:
    """The claims of a JWS compact token (header.payload.signature), or None when
    `token` is not one. Nothing is verified."""
    parts = token.split(".")
    if len(parts) != 3:
        return None
    header, payload = (_json_object(part) for part in parts[:2])
    if header is None or payload is None:
        return None
    return payload


def name_identifier(claims: dict[str, Any]) -> str | None:
    """The value of the first name-identifier claim, as the claim's string."""
    for claim_type, value in claims.items():
        if claim_type in NAME_IDENTIFIER_CLAIMS:
            text = _claim_text(value)
            if text is not None:
                return text
    return None


def _claim_text(value: Any) -> str | None:
    # A JSON array becomes one claim per element; FindFirst then takes the first.
    if isinstance(value, list):
        return _claim_text(value[0]) if value else None
    if isinstance(value, str):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        return json.dumps(value)
    return None


def _json_object(part: str) -> dict[str, Any] | None:
    try:
        raw = base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))
        value = json.loads(raw)
    except (binascii.Error, ValueError):
        return None
    return value if isinstance(value, dict) else None
