"""Users: the user id comes from the bearer token, and User/Users sends follow it."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest

from hubcli.protocol import Invocation
from hubcli.server.users import NAME_IDENTIFIER, user_id_from_token
from tests.server.conftest import Hub
from tests.server.rawclient import RawHubBase, Transport, raw_hub


def _segment(value: Any) -> str:
    raw = value if isinstance(value, bytes) else json.dumps(value).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def make_jwt(claims: Any, signature: str = "c2lnbmF0dXJl") -> str:
    """A JWS compact token; the hub checks no signature, so any will do."""
    return f"{_segment({'alg': 'HS256', 'typ': 'JWT'})}.{_segment(claims)}.{signature}"


@pytest.mark.parametrize(
    ("token", "user"),
    [
        (None, None),
        ("", None),
        ("s3cret", "s3cret"),
        (make_jwt({"sub": "alice", "name": "Alice"}), "alice"),
        (make_jwt({"nameid": "bob"}), "bob"),
        (make_jwt({NAME_IDENTIFIER: "carol"}), "carol"),
        # The first name-identifier claim in the token's order wins, as FindFirst.
        (make_jwt({"nameid": "first", "sub": "second"}), "first"),
        (make_jwt({"sub": 42}), "42"),
        (make_jwt({"sub": ["x", "y"]}), "x"),
        # A name is not a name identifier: the default provider gives no user.
        (make_jwt({"name": "Alice", "unique_name": "alice"}), None),
        (make_jwt({"sub": "alice"}, signature=""), "alice"),
        # Three dot-separated parts that are not JSON objects: an opaque token.
        ("a.b.c", "a.b.c"),
        (
            f"{_segment([1])}.{_segment({'sub': 'x'})}.sig",
            f"{_segment([1])}.{_segment({'sub': 'x'})}.sig",
        ),
    ],
)
def test_user_id_from_token(token: str | None, user: str | None) -> None:
    assert user_id_from_token(token) == user


TRANSPORTS: list[Transport] = ["websockets", "longpolling"]


def bearer(token: str) -> list[tuple[str, str]]:
    return [("Authorization", f"Bearer {token}")]


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_the_user_comes_from_the_header_or_the_query(hub: Hub, transport: Transport) -> None:
    jwt = make_jwt({"sub": "alice"})
    async with (
        raw_hub(hub.url, transport, headers=bearer(jwt)) as by_header,
        raw_hub(hub.url, transport, query="access_token=opaque-token") as by_query,
        raw_hub(hub.url, transport) as anonymous,
    ):
        assert (await by_header.invoke("GetUserId")).result == "alice"
        assert (await by_header.invoke("GetUserIdentifier")).result == "alice"
        assert (await by_query.invoke("GetUserId")).result == "opaque-token"
        assert (await anonymous.invoke("GetUserId")).result is None


async def next_message(raw: RawHubBase) -> list[Any]:
    invocation = await raw.receive_invocation()
    assert invocation.target == "ReceiveMessage"
    return invocation.arguments


async def test_send_to_user_reaches_every_connection_of_that_user_only(hub: Hub) -> None:
    alice = bearer(make_jwt({"sub": "alice"}))
    async with (
        raw_hub(hub.url, headers=alice) as alice_ws,
        raw_hub(hub.url, "longpolling", headers=alice) as alice_lp,
        raw_hub(hub.url, headers=bearer("bob")) as bob,
        raw_hub(hub.url) as anonymous,
    ):
        sender = (await anonymous.invoke("GetCallerConnectionId")).result
        assert (await anonymous.invoke("SendToUser", "alice", "for alice")).error is None
        assert (await anonymous.invoke("SendToUser", "Alice", "nobody")).error is None
        # Then one message to everyone: whoever got the first one sees it first.
        await anonymous.invoke("BroadcastMessage", "all", "marker")
        assert await next_message(alice_ws) == [sender, "for alice"]
        assert await next_message(alice_lp) == [sender, "for alice"]
        assert await next_message(bob) == ["all", "marker"]
        assert await next_message(anonymous) == ["all", "marker"]
        assert await next_message(alice_ws) == ["all", "marker"]


async def test_send_to_users_and_the_anonymous_null(hub: Hub) -> None:
    async with (
        raw_hub(hub.url, headers=bearer("alice")) as alice,
        raw_hub(hub.url, headers=bearer("bob"), protocol="messagepack") as bob,
        raw_hub(hub.url, headers=bearer("carol")) as carol,
        raw_hub(hub.url) as anonymous,
    ):
        sender = (await carol.invoke("GetCallerConnectionId")).result
        await carol.invoke("SendToUsers", ["alice", "bob", "bob"], "hi")
        # Users(ids) matches with Contains: a null reaches connections without a user.
        await carol.invoke("SendToUsers", [None], "to nobody in particular")
        await carol.invoke("BroadcastMessage", "all", "marker")
        assert await next_message(alice) == [sender, "hi"]
        assert await next_message(bob) == [sender, "hi"]
        assert await next_message(anonymous) == [sender, "to nobody in particular"]
        for raw in (alice, bob, carol, anonymous):
            assert await next_message(raw) == ["all", "marker"]


async def test_a_null_user_id_is_refused_as_by_the_real_proxy(start_hub: Any) -> None:
    hub = await start_hub(detailed_errors=True)
    async with raw_hub(hub.url) as raw:
        await raw.send(Invocation("SendToUser", [None, "x"], "1"))
        assert (await raw.receive_completion("1")).error == (
            "An unexpected error occurred invoking 'SendToUser' on the server. "
            "ArgumentNullException: Value cannot be null. (Parameter 'userId')"
        )
