"""What the hostile server does at each step of a connection: a script, pure data.

One `Script` holds one behaviour per step: negotiate, the transport's start (the
WebSocket upgrade, the SSE GET, the first long poll), the answers to the POSTs that
carry the client's data (SSE and Long Polling), the handshake, the hub messages, and
how the connection ends. Each step's first member is what a well-behaved server
does, so hypothesis shrinks a failure towards the one step that misbehaves.

Where a behaviour has no literal meaning on a transport, the server plays its
nearest equivalent (the table in `Ending`'s docstring).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field


class Negotiate(enum.Enum):
    GOOD = "good"
    GOOD_VERSION_0 = "good, version 0 (the connection id is the token)"
    SLOW = "good, after a pause"
    TOKEN_NEEDS_QUOTING = "good, a token with spaces, '&', '#' and non-ASCII"
    HANG = "never answers"
    STATUS_302 = "302 to itself"
    STATUS_401 = "401"
    STATUS_403 = "403"
    STATUS_404 = "404"
    STATUS_500 = "500"
    STATUS_503 = "503 with an HTML body"
    HTML = "200 with an HTML page"
    INVALID_JSON = "200, not JSON"
    INVALID_UTF8 = "200, JSON with invalid UTF-8 in a string"
    JSON_ARRAY = "200, a JSON array"
    DEEP_JSON = "200, JSON nested deeper than any parser allows"
    EMPTY_BODY = "200, empty"
    ERROR_BODY = '200, {"error": ...}'
    ERROR_NOT_STRING = '200, {"error": {...}}'
    TRANSPORTS_NOT_A_LIST = "200, availableTransports is a string"
    TRANSPORT_ENTRY_WRONG = "200, a transport entry of the wrong types"
    FORMATS_WRONG = "200, transferFormats of the wrong type"
    CONNECTION_ID_NUMBER = "200, connectionId is a number"
    VERSION_STRING = "200, negotiateVersion is a string"
    NO_CONNECTION_ID = "200, no connection id or token"
    NO_TRANSPORTS = "200, no transports"
    UNKNOWN_TRANSPORTS = "200, only transports no client knows"
    STATEFUL_UNASKED = "200, useStatefulReconnect nobody asked for"
    CLASSIC_SIGNALR = "200, an ASP.NET (non-Core) SignalR answer"
    REDIRECT_LOOP = "200, a redirect to itself, forever"
    REDIRECT_BAD_URL = "200, a redirect to a URL no client can use"
    REDIRECT_BAD_TOKEN = "200, a redirect with a token no header can carry"
    REDIRECT_UNREACHABLE = "200, a redirect to a closed port"
    REDIRECT_SPACES = "200, a redirect to a URL with spaces and a CR LF"
    REDIRECT_NON_ASCII = "200, a redirect to a URL with non-ASCII characters"
    REDIRECT_IDN_HOST = "200, a redirect to a host name of non-ASCII letters"
    ODD_COOKIES = "good, with malformed Set-Cookie headers"
    EMPTY_TOKEN = "good, an empty connection token"
    FLOOD = "200 with a chunked body that never ends"
    HUGE_BODY = "200, a 2 MiB body"
    CLOSE_AT_ONCE = "closes without answering"
    RESET = "resets the connection"
    CLOSE_MID_BODY = "closes half-way through the body"
    GARBAGE = "answers bytes that are not HTTP"
    BAD_CHUNKS = "a chunked body with invalid chunk sizes"
    HEADERS_ONLY_THEN_HANG = "sends the headers, then nothing"


class Start(enum.Enum):
    """The WebSocket upgrade, the SSE GET, or the first long poll."""

    GOOD = "good"
    SLOW = "good, after a pause"
    STATUS_400 = "400"
    STATUS_401 = "401"
    STATUS_403 = "403"
    STATUS_404 = "404"
    STATUS_500 = "500"
    STATUS_503 = "503 with a body"
    STATUS_204 = "204"
    REDIRECT = "302 elsewhere"
    OK_NOT_UPGRADED = "200 with an HTML page (no upgrade; no event stream)"
    WRONG_ACCEPT = "101 with the wrong Sec-WebSocket-Accept (HTTP transports: good)"
    HANG = "never answers"
    CLOSE_AT_ONCE = "closes without answering"
    RESET = "resets the connection"
    GARBAGE = "answers bytes that are not HTTP"
    CLOSE_AFTER_HEADERS = "sends a good head, then closes"
    REFUSED_MID_BODY = "503 whose body stops half-way"
    REFUSED_ODD_CHARSET = "500 with an unknown charset and a binary body"


class Post(enum.Enum):
    """How the server answers a POST carrying the client's data (SSE, Long Polling)."""

    OK = "200"
    STATUS_204 = "204"
    STATUS_400 = "400"
    STATUS_401 = "401"
    STATUS_404 = "404"
    STATUS_409 = "409"
    STATUS_500 = "500"
    CLOSE = "closes without answering"
    RESET = "resets the connection"
    HANG = "never answers"
    GARBAGE = "answers bytes that are not HTTP"


class Handshake(enum.Enum):
    GOOD = "{}"
    MINOR_VERSION = '{"minorVersion": 1}'
    EMPTY_ERROR = '{"error": ""} (success, as the official clients read it)'
    SLOW = "{}, after a pause"
    SPLIT = "{} in two transport messages"
    ERROR = '{"error": "..."}'
    ERROR_NOT_STRING = '{"error": 5}'
    MINOR_VERSION_STRING = '{"minorVersion": "1"}'
    TYPED = '{"type": 1} (a hub message)'
    ARRAY = "[]"
    NUMBER = "5"
    GARBAGE = "bytes that are not JSON"
    INVALID_UTF8 = "JSON with invalid UTF-8"
    DEEP_JSON = "JSON nested too deep"
    MESSAGEPACK = "MessagePack bytes"
    PARTIAL_THEN_HOLD = "half a record, then nothing"
    PARTIAL_THEN_CLOSE = "half a record, then the end of the transport"
    NEVER = "nothing at all"
    CLOSE_INSTEAD = "the end of the transport instead"
    EMPTY_RECORD = "a bare record separator"
    HUGE_UNTERMINATED = "a megabyte with no record separator"
    GARBAGE_AFTER = "{} and then garbage in the same transport message"
    MESSAGEPACK_AFTER = "{} and then MessagePack bytes on a JSON connection"
    JSON_AFTER = "{} and then JSON records on a MessagePack connection"
    FLOOD = "megabytes after megabytes, no record separator"


class Record(enum.Enum):
    """One hub message (or something that pretends to be one)."""

    COMPLETION_RESULT = "Completion with a result, for the client's call"
    COMPLETION_VOID = "void Completion, for the client's call"
    COMPLETION_ERROR = "Completion with an error, for the client's call"
    COMPLETION_RESULT_AND_ERROR = "Completion with both a result and an error"
    COMPLETION_UNKNOWN_ID = "Completion for an id nobody used"
    COMPLETION_NULL_ID = "Completion with a null invocation id"
    STREAM_ITEM = "StreamItem for the client's call"
    STREAM_ITEM_UNKNOWN_ID = "StreamItem for an id nobody used"
    INVOCATION = "a push: Invocation without an id"
    CLIENT_RESULT_REQUEST = "Invocation with an id (a client-result request)"
    INVOCATION_BAD_ARGUMENTS = "Invocation whose arguments are not a list"
    STREAM_INVOCATION = "StreamInvocation from the server"
    CANCEL_INVOCATION = "CancelInvocation from the server"
    PING = "Ping"
    CLOSE = "Close"
    CLOSE_ERROR = "Close with an error"
    CLOSE_RECONNECT = "Close with allowReconnect"
    CLOSE_ERROR_RECONNECT = "Close with an error and allowReconnect"
    ACK = "Ack"
    SEQUENCE = "Sequence"
    UNKNOWN_TYPE = "type 99"
    NO_TYPE = "no type"
    TYPE_NOT_A_NUMBER = "type is a string"
    NOT_AN_OBJECT = "not an object (JSON) / not an array (MessagePack)"
    WRONG_FIELD_TYPES = "Completion whose invocation id is a number"
    TARGET_NOT_STRING = "Invocation whose target is a number"
    MALFORMED = "bytes that do not parse"
    INVALID_UTF8 = "a string with invalid UTF-8"
    EMPTY_RECORD = "an empty record"
    HANDSHAKE_AGAIN = "a second handshake response"
    OVERSIZED = "a message over --max-message-size"
    HUGE_LENGTH_PREFIX = "a length prefix of gigabytes (MessagePack) / a long record (JSON)"


class Value(enum.Enum):
    """The value every Completion result, StreamItem and push argument carries."""

    PLAIN = "a small number"
    STRING = "a string with escapes and non-ASCII"
    NESTED = "nested objects and arrays"
    BIG_INTEGER = "an integer of 64 bits and more"
    FLOAT = "a float far from integers"
    DEEP = "nested deeper than parsers allow"
    LONE_SURROGATE = "a string with a lone surrogate"
    BINARY = "bytes (MessagePack bin; JSON: base64 text)"
    TIMESTAMP = "a timestamp (MessagePack ext -1; JSON: text)"
    BAD_TIMESTAMP = "an ext -1 of a length no timestamp has"
    FAR_TIMESTAMP = "a timestamp beyond year 9999"
    UNKNOWN_EXT = "an ext type nobody defined"
    NON_STRING_KEYS = "a map with integer and binary keys"
    NAN = "NaN and infinity"


class Trigger(enum.Enum):
    """When the server sends the hub messages."""

    ON_INVOCATION = "once the client's first call arrives"
    AFTER_HANDSHAKE = "right after the handshake response"


class Ending(enum.Enum):
    """How the server ends, after the hub messages, on each transport
    (WebSockets / Server-Sent Events / Long Polling):

    - HOLD: nothing more / nothing more / polls left waiting
    - CLEAN: Close frame 1000 / the stream's last chunk / a poll answered 204
    - STATUS_404, STATUS_500, STATUS_401: Close frame 4004, 1011, 1008 / the
      stream's last chunk / a poll answered with that status
    - CODE_*, CLOSE_NO_CODE: a Close frame with that code, or none / the stream's
      last chunk / a poll answered 204
    - CLOSE_BAD_PAYLOAD: a Close frame of one byte / an invalid chunk / a poll
      answered with garbage
    - FIN, RESET, HALF_CLOSE: the TCP connection (the poll's, for Long Polling)
      closed, reset, or shut down for writing by the server
    - MID_FRAME: half a frame / half an event / half a body, then FIN
    - GARBAGE: a frame with a reserved opcode / an invalid chunk / garbage
    - WRONG_FRAME_TYPE: a Completion in the other protocol's frame type / nothing
      more / nothing more
    - INVALID_UTF8_TEXT: a text frame / an event / a body of invalid UTF-8
    - PING_FLOOD: 200 WebSocket pings / SSE comments / empty polls
    - FLOOD: megabytes without end: one message / one data line / one body
    """

    HOLD = "hold"
    CLEAN = "clean"
    STATUS_404 = "404"
    STATUS_500 = "500"
    STATUS_401 = "401"
    CODE_1001 = "1001"
    CODE_1002 = "1002"
    CODE_1009 = "1009"
    CODE_4000 = "4000"
    CLOSE_NO_CODE = "close without code"
    CLOSE_BAD_PAYLOAD = "close with a one-byte payload"
    FIN = "fin"
    RESET = "reset"
    HALF_CLOSE = "half close"
    MID_FRAME = "mid frame"
    GARBAGE = "garbage"
    WRONG_FRAME_TYPE = "wrong frame type"
    INVALID_UTF8_TEXT = "invalid utf-8 text"
    PING_FLOOD = "ping flood"
    FLOOD = "flood"


@dataclass(frozen=True)
class Frame:
    """Records sent as one transport message (two, split mid-way, if `split`)."""

    records: tuple[Record, ...]
    split: bool = False


@dataclass(frozen=True)
class Script:
    negotiate: Negotiate = Negotiate.GOOD
    start: Start = Start.GOOD
    handshake_post: Post = Post.OK
    handshake: Handshake = Handshake.GOOD
    frames: tuple[Frame, ...] = field(default=())
    trigger: Trigger = Trigger.ON_INVOCATION
    value: Value = Value.PLAIN
    later_posts: Post = Post.OK
    ending: Ending = Ending.HOLD

    def describe(self) -> str:
        frames = "; ".join(
            "["
            + ", ".join(record.name for record in frame.records)
            + "]"
            + (" split" if frame.split else "")
            for frame in self.frames
        )
        return (
            f"negotiate={self.negotiate.name} start={self.start.name} "
            f"handshake_post={self.handshake_post.name} handshake={self.handshake.name} "
            f"trigger={self.trigger.name} frames={frames or '-'} value={self.value.name} "
            f"later_posts={self.later_posts.name} ending={self.ending.name}"
        )
