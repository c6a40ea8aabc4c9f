"""The requests of `hubcli session`'s JSON-lines protocol (version 1), parsed.

One JSON object per stdin line; its kind is the one key among KINDS it has. A line
that is not a valid request becomes a BadRequest naming the line (and the id, when
one could be read), never an exception: the session reports it and goes on.
Nothing is ignored silently, unknown keys included, so a misspelt "arg" is an
error rather than a call without arguments. The schema of these objects ships as
hubcli/schemas/session-v1.json.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final

from hubcli.protocol import jsonvalues
from hubcli.protocol.errors import ProtocolError

PROTOCOL_VERSION: Final = 1

RequestId = str | int


@dataclass(frozen=True, slots=True)
class Invoke:
    """invoke: the result; send: no result (`done` once written); stream: items."""

    id: RequestId
    kind: str  # "invoke", "send" or "stream"
    method: str
    args: list[Any]


@dataclass(frozen=True, slots=True)
class Upload:
    """A call with a client-to-server stream among its arguments (at `position`),
    whose items come on later lines; `stream_back`: the method streams items back."""

    id: RequestId
    method: str
    args: list[Any]
    position: int
    stream_back: bool


@dataclass(frozen=True, slots=True)
class UploadItems:
    id: RequestId
    items: list[Any]


@dataclass(frozen=True, slots=True)
class UploadEnd:
    id: RequestId


@dataclass(frozen=True, slots=True)
class Cancel:
    id: RequestId | None
    target: RequestId


@dataclass(frozen=True, slots=True)
class On:
    """Print the hub's invocations of `target` ("*": every target) from now on."""

    id: RequestId | None
    target: str


@dataclass(frozen=True, slots=True)
class Off:
    id: RequestId | None
    target: str


@dataclass(frozen=True, slots=True)
class Reply:
    """Answer the hub's client-result requests for `target` with `result`, or with
    the error `error`."""

    id: RequestId | None
    target: str
    result: Any = None
    error: str | None = None


Request = Invoke | Upload | UploadItems | UploadEnd | Cancel | On | Off | Reply


@dataclass(frozen=True, slots=True)
class BadRequest:
    line: int
    id: RequestId | None
    error: str


# Each kind's keys beside its own: required, optional.
_KEYS: Final[dict[str, tuple[frozenset[str], frozenset[str]]]] = {
    "invoke": (frozenset({"id"}), frozenset({"args"})),
    "send": (frozenset({"id"}), frozenset({"args"})),
    "stream": (frozenset({"id"}), frozenset({"args"})),
    "upload": (frozenset({"id"}), frozenset({"args", "position", "streamBack"})),
    "item": (frozenset({"id"}), frozenset()),
    "items": (frozenset({"id"}), frozenset()),
    "end": (frozenset({"id"}), frozenset()),
    "cancel": (frozenset(), frozenset({"id"})),
    "on": (frozenset(), frozenset({"id"})),
    "off": (frozenset(), frozenset({"id"})),
    "reply": (frozenset(), frozenset({"id", "result", "error"})),
}
KINDS: Final = tuple(_KEYS)


class _Invalid(Exception):
    pass


def _is_id(value: Any) -> bool:
    return isinstance(value, str) or (isinstance(value, int) and not isinstance(value, bool))


def _name(fields: dict[str, Any], key: str, what: str) -> str:
    value = fields[key]
    if not isinstance(value, str) or not value.strip():
        raise _Invalid(f'"{key}" must be a {what} name (a non-empty string)')
    return value


def _args(fields: dict[str, Any]) -> list[Any]:
    value = fields.get("args", [])
    if not isinstance(value, list):
        raise _Invalid('"args" must be an array')
    return value


def parse_request(text: str | bytes, line: int) -> Request | BadRequest:
    """The request on stdin line `line` (its text without the newline)."""
    try:
        fields = jsonvalues.loads(text)
    except (ProtocolError, UnicodeDecodeError):
        shown = text if isinstance(text, str) else text.decode("utf-8", "replace")
        shown = shown if len(shown) <= 60 else f"{shown[:57]}..."
        return BadRequest(line, None, f"line {line} is not JSON: {shown}")
    if not isinstance(fields, dict):
        return BadRequest(line, None, f"line {line} is not a JSON object")
    raw_id = fields.get("id")
    request_id = raw_id if _is_id(raw_id) else None
    try:
        if "id" in fields and request_id is None:
            raise _Invalid('"id" must be a string or an integer')
        return _parse(fields, request_id)
    except _Invalid as problem:
        return BadRequest(line, request_id, f"line {line}: {problem}")


def _parse(fields: dict[str, Any], request_id: RequestId | None) -> Request:
    kinds = [key for key in fields if key in _KEYS]
    if len(kinds) != 1:
        listed = ", ".join(KINDS)
        what = "no" if not kinds else "more than one"
        raise _Invalid(f"{what} request kind; a request has one of {listed}")
    kind = kinds[0]
    required, optional = _KEYS[kind]
    missing = sorted(required - fields.keys())
    if missing:
        raise _Invalid(f'"{kind}" needs "{missing[0]}"')
    unknown = sorted(fields.keys() - required - optional - {kind})
    if unknown:
        raise _Invalid(f'unknown key "{unknown[0]}" in a "{kind}" request')
    if kind in ("invoke", "send", "stream"):
        assert request_id is not None
        return Invoke(request_id, kind, _name(fields, kind, "method"), _args(fields))
    if kind == "upload":
        assert request_id is not None
        args = _args(fields)
        position = fields.get("position", len(args))
        if not isinstance(position, int) or isinstance(position, bool):
            raise _Invalid('"position" must be an integer')
        if not 0 <= position <= len(args):
            raise _Invalid(f'"position" must be between 0 and {len(args)} (the args)')
        stream_back = fields.get("streamBack", False)
        if not isinstance(stream_back, bool):
            raise _Invalid('"streamBack" must be true or false')
        return Upload(request_id, _name(fields, kind, "method"), args, position, stream_back)
    if kind in ("item", "items"):
        assert request_id is not None
        if kind == "items":
            items = fields["items"]
            if not isinstance(items, list):
                raise _Invalid('"items" must be an array')
            return UploadItems(request_id, items)
        return UploadItems(request_id, [fields["item"]])
    if kind == "end":
        assert request_id is not None
        if fields["end"] is not True:
            raise _Invalid('"end" must be true')
        return UploadEnd(request_id)
    if kind == "cancel":
        target = fields["cancel"]
        if not _is_id(target):
            raise _Invalid('"cancel" must be the id (a string or an integer) of a call')
        return Cancel(request_id, target)
    if kind in ("on", "off"):
        target = _name(fields, kind, "target")
        return On(request_id, target) if kind == "on" else Off(request_id, target)
    assert kind == "reply"
    target = _name(fields, kind, "target")
    has_result, has_error = "result" in fields, "error" in fields
    if has_result == has_error:
        raise _Invalid('"reply" needs either "result" or "error"')
    if has_error:
        error = fields["error"]
        if not isinstance(error, str):
            raise _Invalid('"error" must be a string')
        return Reply(request_id, target, error=error)
    return Reply(request_id, target, result=fields["result"])
