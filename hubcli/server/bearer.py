"""JWT bearer authentication for the hub, as ASP.NET Core's JwtBearer handler does it
with a symmetric key (`hubcli serve --jwt-key KEY`).

A request to the hub (negotiate and every transport request) must carry a token
signed HS256 with the key, in `Authorization: Bearer ...` or, when that header is
absent, in `?access_token=` (what browsers' WebSockets and EventSource must use).
Its lifetime is checked with the handler's default clock skew of five minutes;
issuer and audience are not (the handler checks them only when told which to
expect). An authorized hub also needs a user: a token without a name-identifier
claim (`sub`, `nameid`) is 403, as `[Authorize]` with a user-id requirement is.

Refusals are as the handler writes them: 401 with an empty body and
`WWW-Authenticate: Bearer`, plus `error="invalid_token"` and a description when a
token was sent and failed. `mint` makes tokens for tests
(`GET /generateJwtToken?user=NAME&seconds=N`), as the official functional tests'
server does.

PyJWT does the signing and checking: a JWS implementation is exactly what not to
write by hand.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any, Final

import jwt

from .users import name_identifier

ALGORITHM: Final = "HS256"
CLOCK_SKEW_SECONDS: Final = 300.0
DEFAULT_USER: Final = "testuser"
DEFAULT_LIFETIME_SECONDS: Final = 3600.0
ISSUER: Final = "hubcli"


@dataclass(frozen=True)
class Refusal:
    """Why a request may not reach the hub: its status and WWW-Authenticate value."""

    status: int
    challenge: str | None


MISSING: Final = Refusal(401, "Bearer")
NO_USER: Final = Refusal(403, None)


class JwtBearer:
    def __init__(self, key: str) -> None:
        # HS256 keys are bytes; the flag takes text, as a shared secret usually is.
        self._key = key.encode("utf-8")

    def check(self, token: str | None) -> Refusal | None:
        """None if `token` opens the hub; otherwise the refusal."""
        if not token:
            return MISSING
        claims = self.claims(token)
        if isinstance(claims, str):
            description = claims.replace("\\", "\\\\").replace('"', '\\"')
            return Refusal(401, f'Bearer error="invalid_token", error_description="{description}"')
        if name_identifier(claims) is None:
            return NO_USER
        return None

    def claims(self, token: str) -> dict[str, Any] | str:
        """The verified claims of `token`, or why it is refused."""
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                self._key,
                algorithms=[ALGORITHM],
                leeway=CLOCK_SKEW_SECONDS,
                options={"require": ["exp"], "verify_aud": False, "verify_iss": False},
            )
        except jwt.ExpiredSignatureError:
            return "The token expired"
        except jwt.InvalidSignatureError:
            return "The signature is invalid"
        except jwt.InvalidTokenError as error:
            return f"The token is invalid: {error}"
        return claims

    def mint(self, user: str, lifetime: float = DEFAULT_LIFETIME_SECONDS) -> str:
        """A token for `user` (its `nameid`), valid for `lifetime` seconds."""
        claims = {"nameid": user, "iss": ISSUER, "exp": int(time.time() + lifetime)}
        return jwt.encode(claims, self._key, algorithm=ALGORITHM)
