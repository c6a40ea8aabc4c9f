"""The hub's HTTP API, in the shape of Azure SignalR Service's data-plane REST API
(v1 and the dated versions), and GET /clientresult/{id}: pushes from outside the hub
reach real clients connected over every transport and protocol."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import httpx
import jwt
import pytest
import trio

import hubcli
from hubcli.client import ConnectionClosedError, Event
from tests.server.conftest import Hub as ServerHub
from tests.server.conftest import StartHub

V1 = "/api/v1/hubs/hub"
DATED = "/api/hubs/hub"
VERSION = {"api-version": "2022-06-01"}
KEY = "the hub's secret, 32 bytes or longer"


async def call(
    hub: ServerHub, method: str, path: str, body: Any = None, **params: Any
) -> httpx.Response:
    async with httpx.AsyncClient(base_url=hub.base) as client:
        return await client.request(method, path, json=body, params=params)


async def next_event(events: Any) -> Event:
    with trio.fail_after(10):
        event: Event = await events.__anext__()
        return event


# MessagePack does not go over SSE.
COMBINATIONS = [
    ("websockets", "json"),
    ("websockets", "messagepack"),
    ("serversentevents", "json"),
    ("longpolling", "json"),
    ("longpolling", "messagepack"),
]


@pytest.mark.parametrize(("transport", "protocol"), COMBINATIONS)
async def test_a_send_to_all_reaches_every_transport_and_protocol(
    hub: ServerHub, transport: str, protocol: str
) -> None:
    async with hubcli.connect(hub.url, transport=transport, protocol=protocol) as client:
        events = aiter(client.events("News"))
        response = await call(hub, "POST", V1, {"target": "News", "arguments": [1, "two"]})
        assert response.status_code == 202
        assert (await next_event(events)).arguments == [1, "two"]


async def test_sends_by_connection_user_and_group_in_both_shapes(start_hub: StartHub) -> None:
    hub = await start_hub()
    async with (
        hubcli.connect(hub.url, access_token="alice") as alice,
        hubcli.connect(hub.url, access_token="bob") as bob,
    ):
        alice_events, bob_events = aiter(alice.events()), aiter(bob.events())
        assert alice.connection_id is not None
        assert bob.connection_id is not None
        cases: list[tuple[str, dict[str, str]]] = [
            (f"{V1}/connections/{alice.connection_id}", {}),
            (f"{DATED}/connections/{alice.connection_id}/:send", VERSION),
            (f"{V1}/users/alice", {}),
            (f"{DATED}/users/alice/:send", VERSION),
        ]
        for index, (path, params) in enumerate(cases):
            response = await call(
                hub, "POST", path, {"Target": "Hi", "Arguments": [index]}, **params
            )
            assert response.status_code == 202, response.text
            event = await next_event(alice_events)
            assert (event.target, event.arguments) == ("Hi", [index])
        # Groups: membership by connection, then the group send reaches members only.
        path = f"{V1}/groups/room/connections/{bob.connection_id}"
        assert (await call(hub, "PUT", path)).status_code == 200
        assert (await call(hub, "GET", f"{V1}/groups/room")).status_code == 200
        assert (await call(hub, "POST", f"{V1}/groups/room", {"target": "Room"})).status_code == 202
        event = await next_event(bob_events)
        assert (event.target, event.arguments) == ("Room", [])
        assert (await call(hub, "DELETE", path)).status_code == 200
        assert (await call(hub, "GET", f"{V1}/groups/room")).status_code == 404


async def test_excluded_connections_are_left_out(hub: ServerHub) -> None:
    async with hubcli.connect(hub.url) as one, hubcli.connect(hub.url) as two:
        one_events, two_events = aiter(one.events("X")), aiter(two.events("X"))
        response = await call(
            hub, "POST", V1, {"target": "X", "arguments": ["first"]}, excluded=one.connection_id
        )
        assert response.status_code == 202
        assert (await next_event(two_events)).arguments == ["first"]
        await call(hub, "POST", V1, {"target": "X", "arguments": ["second"]})
        # The first that reaches `one` is the second send: the first left it out.
        assert (await next_event(one_events)).arguments == ["second"]


async def test_existence_checks(hub: ServerHub) -> None:
    async with hubcli.connect(hub.url, access_token="carol") as client:
        cid = client.connection_id
        assert (await call(hub, "GET", f"{V1}/connections/{cid}")).status_code == 200
        assert (await call(hub, "HEAD", f"{DATED}/connections/{cid}", **VERSION)).status_code == 200
        assert (await call(hub, "GET", f"{V1}/users/carol")).status_code == 200
        assert (await call(hub, "GET", f"{V1}/users/nobody")).status_code == 404
        assert (await call(hub, "GET", f"{V1}/connections/nope")).status_code == 404
        # Another hub's name: a hub nobody is connected to.
        assert (await call(hub, "GET", f"/api/v1/hubs/other/connections/{cid}")).status_code == 404
        other = await call(hub, "POST", "/api/v1/hubs/other", {"target": "X"})
        assert other.status_code == 202


async def test_a_user_added_to_a_group_brings_later_connections(hub: ServerHub) -> None:
    assert (await call(hub, "PUT", f"{V1}/groups/team/users/dave")).status_code == 202
    assert (await call(hub, "GET", f"{V1}/groups/team/users/dave")).status_code == 200
    async with hubcli.connect(hub.url, access_token="dave") as client:
        events = aiter(client.events("Team"))
        await call(hub, "POST", f"{V1}/groups/team", {"target": "Team", "arguments": ["go"]})
        assert (await next_event(events)).arguments == ["go"]
        assert (await call(hub, "DELETE", f"{V1}/users/dave/groups")).status_code == 200
        assert (await call(hub, "GET", f"{V1}/groups/team/users/dave")).status_code == 404
        assert (await call(hub, "GET", f"{V1}/groups/team")).status_code == 404


async def test_closing_a_connection_from_outside(hub: ServerHub) -> None:
    async def close_from_outside() -> None:
        async with hubcli.connect(hub.url) as client:
            events = aiter(client.events())
            closed = await call(hub, "DELETE", f"{V1}/connections/{client.connection_id}")
            assert closed.status_code == 202
            await next_event(events)

    with trio.fail_after(10), pytest.raises(ConnectionClosedError):
        await close_from_outside()


async def test_asking_a_client_for_a_result(hub: ServerHub) -> None:
    handlers: dict[str, Callable[..., Any]] = {"Result": lambda: 10, "Double": lambda n: 2 * n}
    async with hubcli.connect(hub.url, handlers=handlers) as client:
        cid = client.connection_id
        text = await call(hub, "GET", f"/clientresult/{cid}")
        assert (text.status_code, text.text) == (200, "10")
        path = f"/api/hubs/hub/connections/{cid}/:invoke"
        answer = await call(hub, "POST", path, {"target": "Double", "arguments": [21]}, **VERSION)
        assert (answer.status_code, answer.json()) == (200, {"result": 42})
    unknown = await call(hub, "GET", "/clientresult/nobody")
    assert unknown.text == "Connection 'nobody' does not exist."


async def test_a_client_without_a_handler_says_so(hub: ServerHub) -> None:
    async with hubcli.connect(hub.url) as client:
        text = await call(hub, "GET", f"/clientresult/{client.connection_id}")
        assert text.text == "Client didn't provide a result."


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"not json", "The body is not JSON"),
        (b"[1]", "The body is not a JSON object"),
        (b'{"arguments": []}', "target: the name of a client method"),
        (b'{"target": "X", "arguments": 5}', "arguments: an array"),
    ],
)
async def test_bad_bodies_are_400_with_the_service_error_shape(
    hub: ServerHub, body: bytes, message: str
) -> None:
    async with httpx.AsyncClient(base_url=hub.base) as client:
        response = await client.post(V1, content=body)
    assert response.status_code == 400
    assert response.json() == {"code": "Error.InvalidRequest", "message": message}


async def test_dated_paths_need_an_api_version_and_unknown_ones_are_404(hub: ServerHub) -> None:
    assert (await call(hub, "POST", f"{DATED}/:send", {"target": "X"})).status_code == 400
    assert (await call(hub, "GET", f"{V1}/nothing/here/at/all")).status_code == 404
    assert (await call(hub, "GET", "/api/health")).status_code == 200


async def test_with_a_jwt_key_the_api_needs_a_signed_token(start_hub: StartHub) -> None:
    hub = await start_hub(jwt_key=KEY)
    assert (await call(hub, "POST", V1, {"target": "X"})).status_code == 401
    token = jwt.encode({"aud": f"{hub.base}{V1}", "exp": time.time() + 60}, KEY.encode(), "HS256")
    async with httpx.AsyncClient(base_url=hub.base) as client:
        response = await client.post(
            V1, json={"target": "X"}, headers={"Authorization": f"Bearer {token}"}
        )
    assert response.status_code == 202
