"""The hostile server's answers to POST .../negotiate, one per `Negotiate` member."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Final

import h11
import trio

from .http import HTML, NOT_HTTP, HttpConnection, Request, flood
from .script import Negotiate
from .session import PAUSE_SECONDS, Session

if TYPE_CHECKING:
    from .server import HostileServer

UNREACHABLE: Final = "http://127.0.0.1:1/hub"
TRANSPORTS: Final = [
    {"transport": "WebSockets", "transferFormats": ["Text", "Binary"]},
    {"transport": "ServerSentEvents", "transferFormats": ["Text"]},
    {"transport": "LongPolling", "transferFormats": ["Text", "Binary"]},
]


async def answer_negotiate(server: HostileServer, http: HttpConnection, request: Request) -> bool:
    """Answer POST .../negotiate as the script says; False when the connection is done."""
    # A redirect is followed by a good answer (but for the loop).
    behaviour = Negotiate.GOOD if "redirected" in request.query else server.script.negotiate
    server.log.append(f"negotiate: {behaviour.name}")
    body: object
    match behaviour:
        case Negotiate.HANG:
            await trio.sleep_forever()
        case Negotiate.CLOSE_AT_ONCE:
            await http.fin()
            return False
        case Negotiate.RESET:
            await http.reset()
            return False
        case Negotiate.GARBAGE:
            await http.raw(NOT_HTTP)
            return False
        case Negotiate.CLOSE_MID_BODY:
            await http.respond_head(200, (("Content-Type", "application/json"),), 500)
            await http.send(h11.Data(data=b'{"negotiateVersion":1,"conn'))
            await http.fin()
            return False
        case Negotiate.BAD_CHUNKS:
            await http.raw(
                b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n"
                b"Content-Type: application/json\r\n\r\nzz\r\n{}\r\n"
            )
            return False
        case Negotiate.FLOOD:
            await http.respond_head(200, (("Content-Type", "application/json"),), None)
            await http.send(h11.Data(data=b'{"padding":"'))
            await flood(http)
        case Negotiate.ODD_COOKIES:
            odd = (
                ("Set-Cookie", "a=b; expires=not a date; max-age=x; domain=..; path=relative"),
                ("Set-Cookie", "=; domain=.com"),
                ("Set-Cookie", b"\xe9t\xe9=\xe9\xff; secure; httponly; samesite=weird"),
                ("Set-Cookie", "c=" + "z" * 8000),
            )
            answer = json.dumps(_good_answer(server.new_session())).encode()
            await http.respond(200, answer, content_type="application/json", headers=odd)
            return True
        case Negotiate.HEADERS_ONLY_THEN_HANG:
            await http.respond_head(200, (("Content-Type", "application/json"),), 100)
            await trio.sleep_forever()
        case Negotiate.STATUS_302:
            await http.respond(302, headers=(("Location", server.url + "/negotiate"),))
            return True
        case (
            Negotiate.STATUS_401
            | Negotiate.STATUS_403
            | Negotiate.STATUS_404
            | Negotiate.STATUS_500
        ):
            await http.respond(int(behaviour.name.removeprefix("STATUS_")), b"Nope")
            return True
        case Negotiate.STATUS_503:
            await http.respond(503, HTML, content_type="text/html")
            return True
        case Negotiate.HTML:
            await http.respond(200, HTML, content_type="text/html")
            return True
        case Negotiate.INVALID_JSON:
            await http.respond(200, b"{'negotiateVersion': 1,", content_type="application/json")
            return True
        case Negotiate.INVALID_UTF8:
            raw = b'{"negotiateVersion":1,"connectionId":"\xff\xfe","connectionToken":"t"}'
            await http.respond(200, raw, content_type="application/json")
            return True
        case Negotiate.DEEP_JSON:
            await http.respond(200, b"[" * 5000 + b"]" * 5000)
            return True
        case Negotiate.EMPTY_BODY:
            await http.respond(200, b"", content_type="application/json")
            return True
        case Negotiate.HUGE_BODY:
            padding = "x" * (2 * 1024 * 1024)
            body = {**_good_answer(server.new_session()), "padding": padding}
        case Negotiate.SLOW:
            await trio.sleep(PAUSE_SECONDS)
            body = _good_answer(server.new_session())
        case _:
            body = _answer(server, behaviour)
    await http.respond(200, json.dumps(body).encode(), content_type="application/json")
    return True


def _good_answer(session: Session) -> dict[str, object]:
    return {
        "negotiateVersion": 1,
        "connectionId": f"id-{session.token}",
        "connectionToken": session.token,
        "availableTransports": TRANSPORTS,
    }


def _answer(server: HostileServer, behaviour: Negotiate) -> object:
    """The JSON of the 200 answers that need no more than a body."""
    if behaviour is Negotiate.GOOD_VERSION_0:
        session = server.new_session()
        return {
            "negotiateVersion": 0,
            "connectionId": session.token,
            "availableTransports": TRANSPORTS,
        }
    good = _good_answer(server.new_session())
    match behaviour:
        case Negotiate.JSON_ARRAY:
            return [good]
        case Negotiate.ERROR_BODY:
            return {"error": "Negotiate refused: the hub is being deployed."}
        case Negotiate.ERROR_NOT_STRING:
            return {"error": {"code": 42, "detail": ["x"]}}
        case Negotiate.TRANSPORTS_NOT_A_LIST:
            return {**good, "availableTransports": "WebSockets"}
        case Negotiate.TRANSPORT_ENTRY_WRONG:
            return {**good, "availableTransports": [{"transport": 5}, "LongPolling"]}
        case Negotiate.FORMATS_WRONG:
            return {
                **good,
                "availableTransports": [{"transport": "WebSockets", "transferFormats": "Text"}],
            }
        case Negotiate.CONNECTION_ID_NUMBER:
            return {**good, "connectionId": 5, "connectionToken": 6}
        case Negotiate.VERSION_STRING:
            return {**good, "negotiateVersion": "1"}
        case Negotiate.NO_CONNECTION_ID:
            return {"negotiateVersion": 1, "availableTransports": TRANSPORTS}
        case Negotiate.NO_TRANSPORTS:
            return {**good, "availableTransports": []}
        case Negotiate.UNKNOWN_TRANSPORTS:
            return {
                **good,
                "availableTransports": [
                    {"transport": "Carrier", "transferFormats": ["Text", "Binary"]}
                ],
            }
        case Negotiate.STATEFUL_UNASKED:
            return {**good, "useStatefulReconnect": True}
        case Negotiate.CLASSIC_SIGNALR:
            return {"Url": "/signalr", "ConnectionToken": "abc", "ProtocolVersion": "1.5"}
        case Negotiate.REDIRECT_LOOP:  # never followed by a good answer
            return {"url": server.url, "accessToken": "loop"}
        case Negotiate.REDIRECT_BAD_URL:
            return {"url": "javascript:alert(1)"}
        case Negotiate.REDIRECT_BAD_TOKEN:
            return {"url": server.url, "accessToken": "line\r\nX-Injected: 1"}
        case Negotiate.REDIRECT_UNREACHABLE:
            return {"url": UNREACHABLE}
        case Negotiate.REDIRECT_SPACES:
            return {"url": f"http://127.0.0.1:{server.port}/h ub\r\nX: y?redirected=1"}
        case Negotiate.REDIRECT_NON_ASCII:
            return {"url": f"http://127.0.0.1:{server.port}/h\u00fcb?redirected=1"}
        case Negotiate.REDIRECT_IDN_HOST:
            return {"url": f"http://b\u00fccher.invalid:{server.port}/hub?redirected=1"}
        case Negotiate.EMPTY_TOKEN:
            return {**good, "connectionToken": ""}
    return good
