"""`hubcli serve --jwt-key`: the hub requires a JWT signed HS256 with the key, as an
[Authorize] hub behind ASP.NET Core's JwtBearer handler does, on negotiate and on
every transport request; `GET /generateJwtToken` mints tokens for tests."""

from __future__ import annotations

import time

import httpx
import jwt
import pytest

import hubcli
from hubcli.client import AuthenticationError
from hubcli.server import ServerOptions
from tests.server.conftest import Hub, StartHub
from tests.serverproc import serve_refusal, start_hub_server

KEY = "the hub's secret, 32 bytes or longer"
TRANSPORTS = ["websockets", "serversentevents", "longpolling"]


def signed(claims: dict[str, object], key: str = KEY) -> str:
    return jwt.encode(claims, key.encode(), algorithm="HS256")


async def minted(hub: Hub, **query: str) -> httpx.Response:
    async with httpx.AsyncClient() as client:
        return await client.get(f"{hub.base}/generateJwtToken", params=query)


async def negotiate_with(hub: Hub, token: str | None) -> httpx.Response:
    headers = {} if token is None else {"Authorization": f"Bearer {token}"}
    async with httpx.AsyncClient() as client:
        return await client.post(f"{hub.url}/negotiate?negotiateVersion=1", headers=headers)


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_a_minted_token_opens_the_hub_as_its_user(
    start_hub: StartHub, transport: str
) -> None:
    hub = await start_hub(jwt_key=KEY)
    response = await minted(hub, user="alice")
    assert response.status_code == 200
    async with hubcli.connect(hub.url, access_token=response.text, transport=transport) as client:
        assert await client.invoke("GetUserId") == "alice"
        assert await client.invoke("Echo", "in") == "in"


async def test_the_query_carries_the_token_when_no_header_does(start_hub: StartHub) -> None:
    hub = await start_hub(jwt_key=KEY)
    token = signed({"sub": "bob", "exp": time.time() + 60})
    async with httpx.AsyncClient() as client:
        response = await client.post(
            f"{hub.url}/negotiate", params={"negotiateVersion": "1", "access_token": token}
        )
    assert response.status_code == 200


@pytest.mark.parametrize(
    ("token", "challenge"),
    [
        (None, "Bearer"),
        ("not-a-jwt", 'Bearer error="invalid_token", error_description="The token is invalid: '),
        (
            signed(
                {"sub": "x", "exp": time.time() + 60}, key="another key, 32 bytes or even longer"
            ),
            'Bearer error="invalid_token", error_description="The signature is invalid"',
        ),
        (
            # Five minutes of clock skew, as the handler allows, then no more.
            signed({"sub": "x", "exp": time.time() - 301}),
            'Bearer error="invalid_token", error_description="The token expired"',
        ),
        (
            signed({"sub": "x"}),
            'Bearer error="invalid_token", error_description="The token is invalid: ',
        ),
    ],
    ids=["none", "garbage", "other-key", "expired", "no-exp"],
)
async def test_refusals_are_401_with_an_empty_body_and_a_challenge(
    start_hub: StartHub, token: str | None, challenge: str
) -> None:
    hub = await start_hub(jwt_key=KEY)
    response = await negotiate_with(hub, token)
    assert response.status_code == 401
    # The official client shows the body, when there is one, instead of "Unauthorized".
    assert response.content == b""
    assert response.headers["www-authenticate"].startswith(challenge)


async def test_a_token_within_the_clock_skew_still_opens_it(start_hub: StartHub) -> None:
    hub = await start_hub(jwt_key=KEY)
    token = signed({"nameid": "late", "exp": time.time() - 200})
    assert (await negotiate_with(hub, token)).status_code == 200


async def test_a_token_naming_no_user_is_forbidden(start_hub: StartHub) -> None:
    hub = await start_hub(jwt_key=KEY)
    response = await negotiate_with(hub, signed({"name": "no id", "exp": time.time() + 60}))
    assert response.status_code == 403


async def test_the_transport_request_is_checked_too(start_hub: StartHub) -> None:
    hub = await start_hub(jwt_key=KEY)
    negotiated = await negotiate_with(hub, signed({"sub": "x", "exp": time.time() + 60}))
    token = negotiated.json()["connectionToken"]
    async with httpx.AsyncClient() as client:
        response = await client.get(hub.url, params={"id": token})
    assert response.status_code == 401


async def test_the_client_is_told_its_token_was_refused(start_hub: StartHub) -> None:
    hub = await start_hub(jwt_key=KEY)
    with pytest.raises(AuthenticationError):
        async with hubcli.connect(
            hub.url, access_token=signed({"sub": "x"}, key="a wrong key, 32 bytes or longer too")
        ):
            pass


async def test_a_redirect_hands_out_a_token_for_the_same_user(start_hub: StartHub) -> None:
    hub = await start_hub(jwt_key=KEY)
    token = (await minted(hub, user="carol")).text
    async with hubcli.connect(f"{hub.url}/redirect", access_token=token) as client:
        assert await client.invoke("GetUserId") == "carol"


async def test_minting_takes_a_lifetime_and_refuses_nonsense(start_hub: StartHub) -> None:
    hub = await start_hub(jwt_key=KEY)
    token = (await minted(hub, user="dan", seconds="30")).text
    claims = jwt.decode(token, KEY.encode(), algorithms=["HS256"])
    assert claims["nameid"] == "dan"
    assert 25 < claims["exp"] - time.time() <= 31
    assert (await minted(hub, seconds="forever")).status_code == 400
    assert (await minted(hub, seconds="-5")).status_code == 400


async def test_without_a_key_there_is_no_minting(hub: Hub) -> None:
    assert (await minted(hub)).status_code == 404


def test_the_command_line_flag() -> None:
    server = start_hub_server("--jwt-key", KEY)
    try:
        base = server.url.removesuffix("/hub")
        token = httpx.get(f"{base}/generateJwtToken", params={"user": "eve"}).text
        assert jwt.decode(token, KEY.encode(), algorithms=["HS256"])["nameid"] == "eve"
        refused = httpx.post(f"{server.url}/negotiate?negotiateVersion=1")
        assert refused.status_code == 401
    finally:
        server.stop()


def test_a_key_too_short_for_hs256_is_a_usage_error() -> None:
    # ASP.NET Core refuses HS256 keys under 256 bits; so does hubcli serve.
    line = serve_refusal("--jwt-key", "short")
    assert line.startswith("hubcli: error: invalid value for --jwt-key: an HS256 key needs"), line
    with pytest.raises(ValueError, match=r"^jwt_key: an HS256 key needs at least 32 bytes"):
        ServerOptions(port=0, jwt_key="short")
