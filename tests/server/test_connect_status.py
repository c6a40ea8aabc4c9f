"""The connect endpoint's refusals: status codes, texts and headers of the real server."""

from __future__ import annotations

import httpx
import pytest
from trio_websocket import HandshakeError as WsHandshakeError
from trio_websocket import open_websocket_url

from hubcli.server.options import TransportName
from tests.server.conftest import Hub, StartHub
from tests.server.rawclient import RawHub, negotiate, ws_url

NO_CACHE = {
    "cache-control": "no-cache, no-store",
    "pragma": "no-cache",
    "expires": "Thu, 01 Jan 1970 00:00:00 GMT",
}


async def ws_refusal(url: str, headers: list[tuple[str, str]] | None = None) -> httpx.Response:
    """The HTTP response that refused a WebSocket upgrade."""
    encoded = [(name.encode(), value.encode()) for name, value in headers or []]
    with pytest.raises(WsHandshakeError) as refused:
        async with open_websocket_url(ws_url(url), extra_headers=encoded):
            pass
    rejection = refused.value
    return httpx.Response(
        rejection.status_code,  # type: ignore[attr-defined]
        headers=rejection.headers,  # type: ignore[attr-defined]
        content=rejection.body,  # type: ignore[attr-defined]
    )


@pytest.mark.parametrize("method", ["GET", "POST", "DELETE"])
async def test_missing_id_is_400(hub: Hub, method: str) -> None:
    async with httpx.AsyncClient() as client:
        response = await client.request(method, hub.url)
    assert response.status_code == 400
    assert response.content == b"Connection ID required"
    assert response.headers["content-type"] == "text/plain"


@pytest.mark.parametrize(
    ("method", "headers"),
    [("GET", {}), ("GET", {"Accept": "text/event-stream"}), ("POST", {}), ("DELETE", {})],
)
async def test_unknown_id_is_404(hub: Hub, method: str, headers: dict[str, str]) -> None:
    async with httpx.AsyncClient() as client:
        response = await client.request(method, f"{hub.url}?id=nope", headers=headers)
    assert response.status_code == 404
    assert response.content == b"No Connection with that ID"


async def test_long_polling_answers_carry_no_cache_headers(hub: Hub) -> None:
    async with httpx.AsyncClient() as client:
        response = await client.get(hub.url)
    assert response.status_code == 400
    for name, value in NO_CACHE.items():
        assert response.headers[name] == value


async def test_websocket_with_unknown_id_is_404(hub: Hub) -> None:
    response = await ws_refusal(f"{hub.url}?id=nope")
    assert response.status_code == 404
    assert response.content == b"No Connection with that ID"


@pytest.mark.parametrize("method", ["PUT", "PATCH", "OPTIONS"])
async def test_other_methods_are_405(hub: Hub, method: str) -> None:
    async with httpx.AsyncClient() as client:
        response = await client.request(method, f"{hub.url}?id=x")
    assert response.status_code == 405
    assert response.content == b""


async def test_second_websocket_on_a_connection_is_409(hub: Hub) -> None:
    token = (await negotiate(hub.url))["connectionToken"]
    async with open_websocket_url(f"{ws_url(hub.url)}?id={token}"):
        response = await ws_refusal(f"{hub.url}?id={token}")
        assert response.status_code == 409


async def test_post_and_delete_on_a_websocket_connection(hub: Hub) -> None:
    token = (await negotiate(hub.url))["connectionToken"]
    async with open_websocket_url(f"{ws_url(hub.url)}?id={token}"), httpx.AsyncClient() as client:
        post = await client.post(f"{hub.url}?id={token}", content=b"x")
        assert post.status_code == 405
        assert post.content == b"POST requests are not allowed for WebSocket connections."
        delete = await client.delete(f"{hub.url}?id={token}")
        assert delete.status_code == 400
        assert delete.content == b"Cannot terminate this connection using the DELETE endpoint."


async def test_a_connection_cannot_change_transports(hub: Hub) -> None:
    token = (await negotiate(hub.url))["connectionToken"]
    async with httpx.AsyncClient() as client:
        first = await client.get(f"{hub.url}?id={token}")
        assert first.status_code == 200
        sse = await client.get(f"{hub.url}?id={token}", headers={"Accept": "text/event-stream"})
        assert sse.status_code == 400
        assert sse.content == b"Cannot change transports mid-connection"
    response = await ws_refusal(f"{hub.url}?id={token}")
    assert response.status_code == 400
    assert response.content == b"Cannot change transports mid-connection"


async def test_disabled_transports_are_404_with_their_names(start_hub: StartHub) -> None:
    hub = await start_hub(transports=(TransportName.LONG_POLLING,))
    token = (await negotiate(hub.url))["connectionToken"]
    response = await ws_refusal(f"{hub.url}?id={token}")
    assert response.status_code == 404
    assert response.content == b"WebSockets transport not supported by this end point type"
    async with httpx.AsyncClient() as client:
        sse = await client.get(f"{hub.url}?id={token}", headers={"Accept": "text/event-stream"})
    assert sse.status_code == 404
    assert sse.content == b"ServerSentEvents transport not supported by this end point type"
    hub = await start_hub(transports=(TransportName.WEBSOCKETS,))
    token = (await negotiate(hub.url))["connectionToken"]
    async with httpx.AsyncClient() as client:
        poll = await client.get(f"{hub.url}?id={token}")
    assert poll.status_code == 404
    assert poll.content == b"LongPolling transport not supported by this end point type"


# ------------------------------------------------------------------------ tokens


async def test_required_token_guards_negotiate_and_connect(start_hub: StartHub) -> None:
    hub = await start_hub(require_token="s3cret")
    async with httpx.AsyncClient() as client:
        refused = await client.post(f"{hub.url}/negotiate?negotiateVersion=1")
        assert refused.status_code == 401
        assert refused.headers["www-authenticate"] == "Bearer"
        wrong = await client.post(f"{hub.url}/negotiate", headers={"Authorization": "Bearer nope"})
        assert wrong.status_code == 401
        by_header = await client.post(
            f"{hub.url}/negotiate?negotiateVersion=1", headers={"Authorization": "Bearer s3cret"}
        )
        assert by_header.status_code == 200
        by_query = await client.post(f"{hub.url}/negotiate?access_token=s3cret")
        assert by_query.status_code == 200
        token = by_header.json()["connectionToken"]
        assert (await client.get(f"{hub.url}?id={token}")).status_code == 401
        assert (await client.post(f"{hub.url}?id={token}")).status_code == 401
    assert (await ws_refusal(f"{hub.url}?id={token}")).status_code == 401
    auth = [("Authorization", "Bearer s3cret")]
    async with RawHub.connect(hub.url, headers=auth) as raw:
        assert (await raw.invoke("Add", 1, 2)).result == 3
    async with RawHub.connect(hub.url, negotiate_first=False, query="access_token=s3cret") as raw:
        assert (await raw.invoke("Add", 2, 2)).result == 4


# --------------------------------------------------------------------- redirects


async def test_redirect_points_at_the_hub_with_an_access_token(hub: Hub) -> None:
    body = await negotiate(f"{hub.url}/redirect")
    assert list(body) == ["url", "accessToken"]
    assert body["url"] == f"{hub.url}?numRedirects=1"
    assert body["accessToken"]


async def test_redirect_chains_count_down_to_the_hub(hub: Hub) -> None:
    url = f"{hub.url}/redirect/3"
    seen = []
    for _ in range(3):
        body = await negotiate(url)
        seen.append(body["url"])
        url = body["url"]
    assert seen == [
        f"{hub.url}/redirect/2?numRedirects=1",
        f"{hub.url}/redirect/1?numRedirects=2",
        f"{hub.url}?numRedirects=3",
    ]
    async with RawHub.connect(url) as raw:
        assert (await raw.invoke("GetNumRedirects")).result == 3


async def test_redirect_tokens_open_a_protected_hub(start_hub: StartHub) -> None:
    hub = await start_hub(require_token="s3cret")
    async with httpx.AsyncClient() as client:
        assert (await client.post(f"{hub.url}/redirect/negotiate")).status_code == 401
    body = await negotiate(f"{hub.url}/redirect", headers={"Authorization": "Bearer s3cret"})
    auth = [("Authorization", f"Bearer {body['accessToken']}")]
    async with RawHub.connect(body["url"], headers=auth) as raw:
        info = (await raw.invoke("GetConnectionInfo")).result
        assert info["headers"]["authorization"] == f"Bearer {body['accessToken']}"
        assert info["query"]["numRedirects"] == "1"


async def test_redirect_tokens_are_checked_without_keeping_any(start_hub: StartHub) -> None:
    hub, other = await start_hub(require_token="s3cret"), await start_hub(require_token="s3cret")
    auth = {"Authorization": "Bearer s3cret"}

    def held() -> dict[str, int]:
        # The size of every container the negotiate endpoint holds on to.
        route = hub.app.routes.route(hub.app.options.hub_path)
        assert route is not None
        endpoint = route.negotiate
        return {
            name: len(value)
            for name, value in vars(endpoint).items()
            if isinstance(value, (set, dict, list, tuple))
        }

    before = held()
    async with httpx.AsyncClient() as client:
        tokens = [
            (await client.post(f"{hub.url}/redirect/negotiate", headers=auth)).json()["accessToken"]
            for _ in range(200)
        ]
        assert held() == before
        assert len(set(tokens)) == 200

        async def status(token: str) -> int:
            headers = {"Authorization": f"Bearer {token}"}
            return (await client.post(f"{hub.url}/negotiate", headers=headers)).status_code

        assert await status(tokens[0]) == 200
        assert await status(tokens[-1]) == 200
        forged = tokens[0][:-2] + ("AA" if not tokens[0].endswith("AA") else "BB")
        for refused in (forged, "redirect-", "redirect-x.y", tokens[0] + "x"):
            assert await status(refused) == 401, refused
        foreign = (await client.post(f"{other.url}/redirect/negotiate", headers=auth)).json()
        assert await status(foreign["accessToken"]) == 401
