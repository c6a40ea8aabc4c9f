"""POST <hub>/negotiate: v0 and v1 shapes, version rules, transports, errors."""

from __future__ import annotations

import httpx
import pytest

from tests.server.conftest import Hub, StartHub
from tests.server.rawclient import RawHub

ALL_TRANSPORTS = [
    {"transport": "WebSockets", "transferFormats": ["Text", "Binary"]},
    {"transport": "ServerSentEvents", "transferFormats": ["Text"]},
    {"transport": "LongPolling", "transferFormats": ["Text", "Binary"]},
]


async def post(url: str, **kwargs: object) -> httpx.Response:
    async with httpx.AsyncClient() as client:
        return await client.post(url, **kwargs)  # type: ignore[arg-type]


async def test_version_1_shape(hub: Hub) -> None:
    response = await post(f"{hub.url}/negotiate?negotiateVersion=1")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    body = response.json()
    assert list(body) == [
        "negotiateVersion",
        "connectionId",
        "connectionToken",
        "availableTransports",
    ]
    assert body["negotiateVersion"] == 1
    assert body["availableTransports"] == ALL_TRANSPORTS
    assert body["connectionToken"] != body["connectionId"]
    # 128 random bits in base64url, as the real server makes ids.
    assert len(body["connectionId"]) == 22
    assert "useStatefulReconnect" not in body


async def test_version_0_has_no_token_and_the_id_connects(hub: Hub) -> None:
    body = (await post(f"{hub.url}/negotiate")).json()
    assert list(body) == ["negotiateVersion", "connectionId", "availableTransports"]
    assert body["negotiateVersion"] == 0
    async with RawHub.connect(
        hub.url, negotiate_first=False, query=f"id={body['connectionId']}"
    ) as raw:
        assert (await raw.invoke("GetCallerConnectionId")).result == body["connectionId"]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("negotiateVersion=2", 1),
        ("negotiateVersion=99", 1),
        ("NEGOTIATEVERSION=1", 1),
        ("negotiateVersion=0", 0),
    ],
)
async def test_version_is_clamped_and_query_names_ignore_case(
    hub: Hub, query: str, expected: int
) -> None:
    body = (await post(f"{hub.url}/negotiate?{query}")).json()
    assert body["negotiateVersion"] == expected


@pytest.mark.parametrize(
    ("value", "error"),
    [
        ("abc", "The client requested a non-integer protocol version."),
        ("", "The client requested a non-integer protocol version."),
        ("1.5", "The client requested a non-integer protocol version."),
        ("-1", "The client requested version '-1', but the server does not support this version."),
    ],
)
async def test_bad_versions_are_error_bodies_with_status_200(
    hub: Hub, value: str, error: str
) -> None:
    response = await post(f"{hub.url}/negotiate?negotiateVersion={value}")
    assert response.status_code == 200
    assert response.content == f'{{"error":"{error}"}}'.encode()
    assert len(hub.app.connections) == 0


async def test_negotiate_only_answers_post(hub: Hub) -> None:
    async with httpx.AsyncClient() as client:
        response = await client.get(f"{hub.url}/negotiate")
    assert response.status_code == 405
    assert response.headers["content-type"] == "text/plain"
    assert response.content == b""


async def test_transports_flag_keeps_the_server_order(start_hub: StartHub) -> None:
    from hubcli.server.options import TransportName

    hub = await start_hub(transports=(TransportName.LONG_POLLING, TransportName.SERVER_SENT_EVENTS))
    body = (await post(f"{hub.url}/negotiate?negotiateVersion=1")).json()
    assert body["availableTransports"] == ALL_TRANSPORTS[1:]


async def test_unknown_paths_are_404(hub: Hub) -> None:
    async with httpx.AsyncClient() as client:
        for path in ("/", "/other", "/hub/extra", "/hub/negotiate/x"):
            response = await client.post(f"{hub.base}{path}")
            assert response.status_code == 404, path
