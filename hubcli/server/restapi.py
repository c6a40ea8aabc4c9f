"""The hub's HTTP API: send to clients and manage groups from outside the hub.

Its shape is Azure SignalR Service's data-plane REST API, so a serverless app (or a
test) that pushes through that API can run against `hubcli serve` unchanged:

- v1, under `/api/v1/hubs/{hub}`: POST sends (to all, `users/{id}`,
  `connections/{id}`, `groups/{name}`, with `?excluded=` ids for all and groups);
  GET asks whether a connection, group, user or user-in-group exists (200 or 404);
  DELETE `connections/{id}` closes one; PUT/DELETE `groups/{g}/connections/{id}`
  and `groups/{g}/users/{u}` (`?ttl=` seconds) manage membership; DELETE
  `users/{u}/groups` takes a user out of every group.
- 2022-06-01 and later, under `/api/hubs/{hub}` with `?api-version=`: the same with
  action suffixes (`:send`, `:closeConnections`), HEAD for existence, and
  `connections/{id}/:invoke` (2024-12-01), which asks that client for a result and
  answers `{"result": ...}`. `GET /api/health` is 200.

A send's body is `{"target": "...", "arguments": [...]}` (keys in any case, as the
service reads them). Sends answer 202, as the service does: accepted, not
delivered. A hub name other than this hub's (the last segment of its path) is a
hub nobody is connected to: sends are accepted and reach nobody.

User membership is kept by user, as the service keeps it: a user added to a group
brings its connections along, those that connect later included (until `ttl`).

`GET /clientresult/{id}` asks connection `id` for the result of its client method
`Result` and answers it as text (or the error's text), as the server of the
official client's functional tests does.

With `--jwt-key`, every request needs a token signed with the key, as the service
needs one signed with its access key (no user claim needed here); with
`--require-token`, that token. Otherwise the API is open, as fits a local hub.
"""

from __future__ import annotations

import base64
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final

import orjson
import trio

from .asgi import Receive, RequestInfo, Send, respond
from .clients import GroupManager, HubClients
from .errors import HubMethodError
from .state import HubState

JSON: Final = "application/json"
TEXT: Final = "text/plain; charset=utf-8"
# The service's limit on a request body.
MAX_BODY: Final = 1024 * 1024
CLIENT_RESULT_PREFIX: Final = "/clientresult/"


class ApiError(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code


@dataclass(frozen=True, slots=True)
class Route:
    """One request, parsed: the hub named, the path after it, and its action."""

    version: str  # "v1" or "dated"
    hub: str
    parts: tuple[str, ...]
    action: str | None  # ":send", ":invoke", ...


def parse_route(path: str) -> Route | None:
    segments = [segment for segment in path.split("/") if segment]
    if segments[:3] == ["api", "v1", "hubs"] and len(segments) >= 4:
        return Route("v1", segments[3], tuple(segments[4:]), None)
    if segments[:2] == ["api", "hubs"] and len(segments) >= 3:
        rest = segments[3:]
        action = rest.pop() if rest and rest[-1].startswith(":") else None
        return Route("dated", segments[2], tuple(rest), action)
    return None


class RestApi:
    def __init__(
        self,
        state: HubState,
        hub_name: str,
        authorize: Callable[[RequestInfo], int | None],
    ) -> None:
        self._state = state
        self._hub_name = hub_name.lower()
        self._authorize = authorize
        self._clients = HubClients(state)
        self._groups = GroupManager(state)

    @staticmethod
    def handles(path: str) -> bool:
        return path.startswith("/api/") or path.startswith(CLIENT_RESULT_PREFIX)

    async def handle(self, request: RequestInfo, receive: Receive, send: Send) -> None:
        refused = self._authorize(request)
        if refused is not None:
            await respond(send, refused, headers=[("www-authenticate", "Bearer")])
            return
        try:
            if request.path.startswith(CLIENT_RESULT_PREFIX):
                await self._client_result_text(request, send)
                return
            if request.path.rstrip("/") == "/api/health":
                await respond(send, 200)
                return
            route = parse_route(request.path)
            if route is None:
                raise ApiError(404, "Error.NotFound", f"No API at {request.path}")
            if route.version == "dated" and not request.query_value("api-version"):
                raise ApiError(400, "Error.InvalidRequest", "api-version is required")
            await self._dispatch(route, request, receive, send)
        except ApiError as error:
            body = orjson.dumps({"code": error.code, "message": str(error)})
            await respond(send, error.status, body, content_type=JSON)

    # ----------------------------------------------------------------- routing

    async def _dispatch(
        self, route: Route, request: RequestInfo, receive: Receive, send: Send
    ) -> None:
        method = "GET" if request.method == "HEAD" else request.method
        ours = route.hub.lower() == self._hub_name
        parts, action = route.parts, route.action
        shape = (method, *_shape(parts), action)
        excluded = [value for name, value in request.query if name == "excluded"]
        dated = route.version == "dated"

        if shape in (("POST", None), ("POST", ":send")) and not parts:
            payload = await _payload(receive)
            if ours:
                await self._clients.all_except(excluded).send(*payload)
            return await respond(send, 202)
        if shape in (("POST", "users", None), ("POST", "users", ":send")):
            payload = await _payload(receive)
            if ours:
                await self._clients.user(parts[1]).send(*payload)
            return await respond(send, 202)
        if shape in (("POST", "connections", None), ("POST", "connections", ":send")):
            payload = await _payload(receive)
            if ours:
                await self._clients.client(parts[1]).send(*payload)
            return await respond(send, 202)
        if shape in (("POST", "groups", None), ("POST", "groups", ":send")):
            payload = await _payload(receive)
            if ours:
                await self._clients.group_except(parts[1], excluded).send(*payload)
            return await respond(send, 202)
        if shape == ("POST", "connections", ":invoke"):
            payload = await _payload(receive)
            return await self._invoke(ours, parts[1], payload, send)
        if shape == ("GET", "connections", None):
            return await _exists(send, ours and parts[1] in self._state.connections)
        if shape == ("GET", "groups", None):
            return await _exists(send, ours and bool(self._state.groups.members(parts[1])))
        if shape == ("GET", "users", None):
            return await _exists(send, ours and bool(self._connections_of(parts[1])))
        if shape == ("GET", "groups", "users", None):
            return await _exists(send, ours and self._user_in_group(parts[3], parts[1]))
        if shape == ("GET", "groups", "connections/", None) and dated:
            members = self._state.groups.members(parts[1]) if ours else []
            listing = [{"connectionId": c.connection_id, "userId": c.user_id} for c in members]
            body = orjson.dumps({"value": listing, "nextLink": None})
            return await respond(send, 200, body, content_type=JSON)
        if shape == ("DELETE", "connections", None):
            if ours:
                self._close(self._state.connections.get(parts[1]), request)
            return await respond(send, 200 if dated else 202)
        if shape == ("POST", ":closeConnections") and not parts:
            self._close_all(self._connections() if ours else [], excluded, request)
            return await respond(send, 204)
        if shape == ("POST", "groups", ":closeConnections"):
            members = self._state.groups.members(parts[1]) if ours else []
            self._close_all(members, excluded, request)
            return await respond(send, 204)
        if shape == ("POST", "users", ":closeConnections"):
            self._close_all(self._connections_of(parts[1]) if ours else [], excluded, request)
            return await respond(send, 204)
        if shape == ("PUT", "groups", "connections", None):
            known = ours and parts[3] in self._state.connections
            if known:
                await self._groups.add(parts[3], parts[1])
            return await respond(send, 200 if known else 404)
        if shape == ("DELETE", "groups", "connections", None):
            known = ours and parts[3] in self._state.connections
            if known:
                await self._groups.remove(parts[3], parts[1])
            return await respond(send, 200 if known or dated else 404)
        if shape == ("DELETE", "connections", "groups/", None) and dated:
            if ours:
                self._state.groups.remove_member(parts[1])
                self._state.changed()
            return await respond(send, 200)
        if shape in (("PUT", "groups", "users", None), ("PUT", "users", "groups", None)):
            user, group = _user_and_group(parts)
            if ours:
                await self._add_user(user, group, _ttl(request))
            return await respond(send, 200 if dated else 202)
        if shape in (("DELETE", "groups", "users", None), ("DELETE", "users", "groups", None)):
            user, group = _user_and_group(parts)
            if ours:
                await self._remove_user(user, group)
            return await respond(send, 204 if dated else 202)
        if shape == ("GET", "users", "groups", None) and dated:
            user, group = _user_and_group(parts)
            return await _exists(send, ours and self._user_in_group(user, group))
        if shape == ("DELETE", "users", "groups/", None):
            if ours:
                await self._remove_user_everywhere(parts[1])
            return await respond(send, 200)
        raise ApiError(404, "Error.NotFound", f"No operation {request.method} {request.path}")

    # ------------------------------------------------------------- operations

    def _connections(self) -> list[Any]:
        return list(self._state.connections.values())

    def _connections_of(self, user: str) -> list[Any]:
        return [c for c in self._state.connections.values() if c.user_id == user]

    def _user_in_group(self, user: str, group: str) -> bool:
        if self._state.user_groups.has(user, group, trio.current_time()):
            return True
        members = {c.connection_id for c in self._state.groups.members(group)}
        return any(c.connection_id in members for c in self._connections_of(user))

    async def _add_user(self, user: str, group: str, ttl: float) -> None:
        self._state.user_groups.add(user, group, trio.current_time() + ttl)
        for connection in self._connections_of(user):
            await self._groups.add(connection.connection_id, group)

    async def _remove_user(self, user: str, group: str) -> None:
        self._state.user_groups.remove(user, group)
        for connection in self._connections_of(user):
            await self._groups.remove(connection.connection_id, group)

    async def _remove_user_everywhere(self, user: str) -> None:
        self._state.user_groups.forget(user)
        for connection in self._connections_of(user):
            self._state.groups.remove_member(connection.connection_id)
        self._state.changed()
        await trio.lowlevel.checkpoint()

    @staticmethod
    def _close(connection: Any, request: RequestInfo) -> None:
        if connection is not None:
            connection.request_close(request.query_value("reason"), False)

    def _close_all(self, connections: list[Any], excluded: list[str], request: RequestInfo) -> None:
        for connection in connections:
            if connection.connection_id not in excluded:
                self._close(connection, request)

    async def _invoke(
        self, ours: bool, connection_id: str, payload: tuple[Any, ...], send: Send
    ) -> None:
        if not ours or connection_id not in self._state.connections:
            raise ApiError(
                404, "Error.Connection.NotExisted", f"Connection '{connection_id}' does not exist."
            )
        try:
            result = await self._clients.client(connection_id).invoke(*payload)
        except HubMethodError as error:
            raise ApiError(400, "Error.Invocation.Failed", str(error)) from None
        body = orjson.dumps({"result": result}, default=_bytes_as_base64)
        await respond(send, 200, body, content_type=JSON)

    async def _client_result_text(self, request: RequestInfo, send: Send) -> None:
        """GET /clientresult/{id}: the client's `Result()` as text, or the error's."""
        connection_id = request.path[len(CLIENT_RESULT_PREFIX) :].strip("/")
        try:
            result = await self._clients.client(connection_id).invoke("Result")
            text = orjson.dumps(result, default=_bytes_as_base64).decode()
        except HubMethodError as error:
            text = str(error)
        await respond(send, 200, text.encode(), content_type=TEXT)


def _shape(parts: tuple[str, ...]) -> tuple[str, ...]:
    """The path's kind: its collection names, ids left out; a collection named
    without an id (`users/{u}/groups`) ends with a slash (`groups/`)."""
    names = [part for index, part in enumerate(parts) if index % 2 == 0]
    if len(parts) % 2:
        names[-1] += "/"
    return tuple(names)


def _user_and_group(parts: tuple[str, ...]) -> tuple[str, str]:
    """(user, group) from `groups/{g}/users/{u}` or `users/{u}/groups/{g}`."""
    if parts[0] == "groups":
        return parts[3], parts[1]
    return parts[1], parts[3]


def _ttl(request: RequestInfo) -> float:
    value = request.query_value("ttl")
    if value is None:
        return math.inf
    try:
        ttl = int(value)
    except ValueError:
        raise ApiError(400, "Error.InvalidRequest", "ttl: a number of seconds") from None
    if ttl < 0:
        raise ApiError(400, "Error.InvalidRequest", "ttl: a number of seconds >= 0")
    return float(ttl)


async def _exists(send: Send, exists: bool) -> None:
    await respond(send, 200 if exists else 404)


async def _payload(receive: Receive) -> tuple[Any, ...]:
    """(target, *arguments) of a send's body."""
    body = bytearray()
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise ApiError(400, "Error.InvalidRequest", "The request ended early")
        body += message.get("body", b"")
        if len(body) > MAX_BODY:
            raise ApiError(413, "Error.PayloadTooLarge", f"The body is over {MAX_BODY} bytes")
        if not message.get("more_body", False):
            break
    try:
        value = orjson.loads(body)
    except orjson.JSONDecodeError:
        raise ApiError(400, "Error.InvalidRequest", "The body is not JSON") from None
    if not isinstance(value, dict):
        raise ApiError(400, "Error.InvalidRequest", "The body is not a JSON object")
    fields = {str(key).lower(): item for key, item in value.items()}
    target, arguments = fields.get("target"), fields.get("arguments", [])
    if not isinstance(target, str) or not target:
        raise ApiError(400, "Error.InvalidRequest", "target: the name of a client method")
    if arguments is None:
        arguments = []
    if not isinstance(arguments, list):
        raise ApiError(400, "Error.InvalidRequest", "arguments: an array")
    return (target, *arguments)


def _bytes_as_base64(value: Any) -> Any:
    if isinstance(value, bytes | bytearray | memoryview):
        return base64.b64encode(bytes(value)).decode("ascii")
    raise TypeError
