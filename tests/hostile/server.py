"""The hostile SignalR server: a real server on 127.0.0.1 whose every step is a `Script`.

One port serves what ASP.NET Core serves on a hub's path: POST .../negotiate, the
WebSocket upgrade, the Server-Sent Events GET, long polls, the POSTs that carry the
client's data, and DELETE. HTTP is h11 on trio streams; negotiate.py answers
negotiate, websocket.py plays the WebSocket, and this module the rest.

    async with serve(Script(handshake=Handshake.ERROR)) as server:
        ... run hubcli against server.url ...

`server.log` says what the server did, for failure messages.
"""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from functools import partial
from typing import Final

import h11
import trio

from .http import HTML, NOT_HTTP, HttpConnection, Request, flood
from .negotiate import UNREACHABLE, answer_negotiate
from .script import Ending, Negotiate, Post, Script, Start
from .session import PAUSE_SECONDS, Data, Pause, Session
from .websocket import WebSocket, accept_key

# Statuses of the start, POST and ending behaviours, by member name.
_STATUS_PREFIX: Final = "STATUS_"
# SSE comments and empty polls of Ending.PING_FLOOD.
EMPTY_ANSWERS: Final = 200


def _status(member: Start | Post | Ending) -> int | None:
    name = member.name
    return int(name.removeprefix(_STATUS_PREFIX)) if name.startswith(_STATUS_PREFIX) else None


def sse_event(payload: bytes) -> bytes:
    lines = payload.split(b"\n")
    return b"".join(b"data: " + line + b"\r\n" for line in lines) + b"\r\n"


class HostileServer:
    def __init__(self, script: Script) -> None:
        self.script = script
        self.port = 0
        self.log: list[str] = []
        self.sessions: dict[str, Session] = {}
        self._numbers = itertools.count(1)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hub"

    async def handle(self, stream: trio.SocketStream) -> None:
        http = HttpConnection(stream)
        try:
            while (request := await http.next_request()) is not None:
                self.log.append(f"{request.method} {request.path} {sorted(request.query)}")
                if not await self._route(http, request):
                    break
        except* (trio.BrokenResourceError, trio.ClosedResourceError, h11.ProtocolError) as group:
            # The client hung up (the WebSocket's two tasks report it as a group).
            self.log.append(f"connection dropped: {group.exceptions[0]!r}")
        finally:
            await trio.aclose_forcefully(stream)

    async def _route(self, http: HttpConnection, request: Request) -> bool:
        """Answer one request; False when the connection is done with."""
        if request.method == "POST" and request.path.endswith("/negotiate"):
            return await answer_negotiate(self, http, request)
        session = self.sessions.get(request.query.get("id", ""))
        if session is None or (session.ended and request.method != "DELETE"):
            await http.respond(404, b"No Connection with that ID")
            return True
        if request.method == "DELETE":
            session.ended = True
            await http.respond(202)
            return True
        if request.method == "POST":
            return await self._post(http, request, session)
        if request.upgrade:
            return await self._websocket(http, request, session)
        if "text/event-stream" in request.headers.get("accept", ""):
            return await self._sse(http, session)
        return await self._poll(http, session)

    # ----------------------------------------------------------------- negotiate

    def new_session(self) -> Session:
        number = next(self._numbers)
        token = f"token-{number}"
        if self.script.negotiate is Negotiate.TOKEN_NEEDS_QUOTING:
            token = f"a b&c=#d/\u00e9-{number}"
        session = Session(self.script, token, self.log)
        self.sessions[token] = session
        return session

    # ------------------------------------------------------------- transport start

    async def _refuse(self, http: HttpConnection, behaviour: Start | Post) -> bool | None:
        """Play a refusal shared by every start and POST; None if `behaviour` is none."""
        status = _status(behaviour)
        if status is not None and status >= 300:
            body = HTML if status == 503 else f"refused: {status}".encode()
            await http.respond(status, body, content_type="text/html")
            return True
        match behaviour:
            case Start.REFUSED_MID_BODY:
                await http.respond_head(503, (("Content-Type", "text/html"),), 1000)
                await http.send(h11.Data(data=HTML[:20]))
                await http.fin()
                return False
            case Start.REFUSED_ODD_CHARSET:
                body = b"\xff\xfe\x00refused\x80"
                await http.respond(500, body, content_type="text/plain; charset=bogus-42")
                return True
            case Start.REDIRECT:
                await http.respond(302, headers=(("Location", UNREACHABLE),))
                return True
            case Start.HANG | Post.HANG:
                await trio.sleep_forever()
            case Start.CLOSE_AT_ONCE | Post.CLOSE:
                await http.fin()
                return False
            case Start.RESET | Post.RESET:
                await http.reset()
                return False
            case Start.GARBAGE | Post.GARBAGE:
                await http.raw(NOT_HTTP)
                return False
            case Start.SLOW:
                await trio.sleep(PAUSE_SECONDS)
        return None

    async def _start(self, http: HttpConnection, session: Session, transport: str) -> bool | None:
        session.transport = transport
        behaviour = self.script.start
        self.log.append(f"{transport} start: {behaviour.name}")
        if behaviour is Start.STATUS_204:
            await http.respond(204)
            return True
        return await self._refuse(http, behaviour)

    # ---------------------------------------------------------------- WebSockets

    async def _websocket(self, http: HttpConnection, request: Request, session: Session) -> bool:
        refused = await self._start(http, session, "WebSockets")
        if refused is not None:
            return refused
        behaviour = self.script.start
        if behaviour is Start.OK_NOT_UPGRADED:
            await http.respond(200, HTML, content_type="text/html")
            return True
        key = request.headers.get("sec-websocket-key", "")
        accept = accept_key("wrong" if behaviour is Start.WRONG_ACCEPT else key)
        await http.send(
            h11.InformationalResponse(
                status_code=101,
                headers=[
                    ("Upgrade", "websocket"),
                    ("Connection", "Upgrade"),
                    ("Sec-WebSocket-Accept", accept),
                ],
            )
        )
        if behaviour is Start.CLOSE_AFTER_HEADERS:
            await http.fin()
            return False
        await WebSocket(http, session, self.log).run()
        return False

    # ------------------------------------------------------------ Server-Sent Events

    async def _sse(self, http: HttpConnection, session: Session) -> bool:
        refused = await self._start(http, session, "ServerSentEvents")
        if refused is not None:
            return refused
        if self.script.start is Start.OK_NOT_UPGRADED:
            await http.respond(200, HTML, content_type="text/html")
            return True
        await http.respond_head(
            200, (("Content-Type", "text/event-stream"), ("Cache-Control", "no-cache")), None
        )
        if self.script.start is Start.CLOSE_AFTER_HEADERS:
            await http.fin()
            return False
        await http.send(h11.Data(data=b":\r\n"))
        while True:
            action = await session.next_action()
            if isinstance(action, Pause):
                await trio.sleep(action.seconds)
            elif isinstance(action, Data):
                await http.send(h11.Data(data=sse_event(action.payload)))
            else:
                self.log.append(f"ServerSentEvents ending: {action.ending.name}")
                return await self._end_sse(http, session, action.ending)

    async def _end_sse(self, http: HttpConnection, session: Session, ending: Ending) -> bool:
        match ending:
            case Ending.HOLD | Ending.WRONG_FRAME_TYPE:
                await trio.sleep_forever()
            case Ending.CLOSE_BAD_PAYLOAD | Ending.GARBAGE:
                await http.raw(b"zz\r\nnot a chunk\r\n")
            case Ending.FIN:
                pass
            case Ending.RESET:
                await http.reset()
            case Ending.HALF_CLOSE:
                await http.half_close()
                await trio.sleep_forever()
            case Ending.MID_FRAME:
                await http.send(h11.Data(data=b'data: {"type":3,"invoc'))
            case Ending.INVALID_UTF8_TEXT:
                await http.send(h11.Data(data=sse_event(b"\xff\xfe\x1e")))
                await trio.sleep_forever()
            case Ending.PING_FLOOD:
                for _ in range(EMPTY_ANSWERS):
                    await http.send(h11.Data(data=b":\r\n"))
                await trio.sleep_forever()
            case Ending.FLOOD:
                await http.send(h11.Data(data=b"data: "))
                await flood(http)
            case _:
                session.ended = True
                await http.send(h11.EndOfMessage())
        await http.fin()
        return False

    # ---------------------------------------------------------------- Long Polling

    async def _poll(self, http: HttpConnection, session: Session) -> bool:
        if not session.first_poll_answered:
            session.first_poll_answered = True
            refused = await self._start(http, session, "LongPolling")
            if refused is not None:
                return refused
            if self.script.start is Start.OK_NOT_UPGRADED:
                await http.respond(200, HTML, content_type="text/html")
            elif self.script.start is Start.CLOSE_AFTER_HEADERS:
                await http.respond_head(200, (("Content-Type", "text/plain"),), 10)
                await http.fin()
                return False
            else:
                await http.respond(200)
            return True
        if session.empty_polls_left:
            session.empty_polls_left -= 1
            await http.respond(200)
            return True
        content_type = (
            "application/octet-stream" if session.protocol == "messagepack" else "text/plain"
        )
        while True:
            action = await session.next_action()
            if isinstance(action, Pause):
                await trio.sleep(action.seconds)
            elif isinstance(action, Data):
                body = action.payload
                while isinstance(following := session.next_action_nowait(), Data):
                    body += following.payload
                if following is not None:
                    session.put_back(following)
                await http.respond(200, body, content_type=content_type)
                return True
            else:
                self.log.append(f"LongPolling ending: {action.ending.name}")
                return await self._end_poll(http, session, action.ending)

    async def _end_poll(self, http: HttpConnection, session: Session, ending: Ending) -> bool:
        status = _status(ending)
        if status is not None:
            session.ended = True
            await http.respond(status, f"poll refused: {status}".encode())
            return True
        match ending:
            case Ending.HOLD | Ending.WRONG_FRAME_TYPE:
                await trio.sleep_forever()
            case Ending.CLOSE_BAD_PAYLOAD | Ending.GARBAGE:
                await http.raw(NOT_HTTP)
            case Ending.FIN:
                pass
            case Ending.RESET:
                await http.reset()
            case Ending.HALF_CLOSE:
                await http.half_close()
                await trio.sleep_forever()
            case Ending.MID_FRAME:
                await http.respond_head(200, (("Content-Type", "text/plain"),), 100)
                await http.send(h11.Data(data=b'{"type":3,"inv'))
            case Ending.INVALID_UTF8_TEXT:
                await http.respond(200, b"\xff\xfe\x1e")
                return True
            case Ending.PING_FLOOD:
                session.empty_polls_left = EMPTY_ANSWERS - 1
                await http.respond(200)
                return True
            case Ending.FLOOD:
                await http.respond_head(200, (("Content-Type", "text/plain"),), None)
                await flood(http)
            case _:
                session.ended = True
                await http.respond(204)
                return True
        await http.fin()
        return False

    # ---------------------------------------------------------------------- POSTs

    async def _post(self, http: HttpConnection, request: Request, session: Session) -> bool:
        session.posts += 1
        behaviour = self.script.handshake_post if session.posts == 1 else self.script.later_posts
        self.log.append(f"POST {len(request.body)} bytes: {behaviour.name}")
        refused = await self._refuse(http, behaviour)
        if refused is not None:
            return refused
        session.client_data(request.body)
        await http.respond(204 if behaviour is Post.STATUS_204 else 200)
        return True


@asynccontextmanager
async def serve(script: Script) -> AsyncIterator[HostileServer]:
    """The hostile server on a free port of 127.0.0.1, until the block ends."""
    server = HostileServer(script)
    async with trio.open_nursery() as nursery:
        listeners = await nursery.start(partial(trio.serve_tcp, server.handle, 0, host="127.0.0.1"))
        server.port = listeners[0].socket.getsockname()[1]
        try:
            yield server
        finally:
            nursery.cancel_scope.cancel()
