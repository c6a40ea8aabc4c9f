"""The hub surface of the official functional tests (TypeScript and .NET clients).

Each method behaves as its C# original in aspnetcore's FunctionalTests TestHub;
where the two test hubs disagree on a name (Stream), the TypeScript one wins.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator
from typing import Any

import trio

from hubcli.server.binding import hub_method
from hubcli.server.context import CallContext, Upload
from hubcli.server.errors import InvalidOperationException
from hubcli.server.naming import Record, bind


@hub_method("Echo(message: any) -> any")
async def echo(ctx: CallContext, message: Any) -> Any:
    """Returns its argument."""
    ctx.state.benchmark_calls["Echo"] += 1  # hubcli bench's echo scenario checks it
    return message


@hub_method("HelloWorld() -> string")
async def hello_world(ctx: CallContext) -> str:
    """Returns "Hello World!"."""
    return "Hello World!"


@hub_method("GetCallerConnectionId() -> string")
async def get_caller_connection_id(ctx: CallContext) -> str:
    """Returns the caller's connection id."""
    return ctx.connection_id


@hub_method("GetNumRedirects() -> int")
async def get_num_redirects(ctx: CallContext) -> int:
    """Returns the numRedirects query parameter (set by the redirect endpoints)."""
    return int(ctx.request.query_value("numRedirects") or "")


@hub_method("ThrowException(message: string) -> void")
async def throw_exception(ctx: CallContext, message: str | None) -> None:
    """Throws InvalidOperationException(message): the generic error text, the
    message only with --detailed-errors."""
    raise InvalidOperationException(message or "")


@hub_method("InvokeWithString(message: string) -> void")
async def invoke_with_string(ctx: CallContext, message: str | None) -> None:
    """Calls the caller's client method Message(message)."""
    await ctx.clients.caller.send("Message", message)


# Members of the test app's types, in declaration order.
CUSTOM_OBJECT = ("Name", "Value")
COMPLEX_OBJECT = ("String", "IntArray", "ByteArray", "Guid", "DateTime")


@hub_method("SendCustomObject(customObject: object) -> void")
async def send_custom_object(ctx: CallContext, custom_object: dict[str, Any] | None) -> None:
    """Calls the caller's client method CustomObject(customObject): a CustomObject
    {Name, Value}, bound case-insensitively and named as --json-naming says."""
    await ctx.clients.caller.send("CustomObject", ctx.typed(bind(custom_object, CUSTOM_OBJECT)))


@hub_method("Stream() -> stream<string>")
async def stream(ctx: CallContext) -> AsyncIterator[str]:
    """Streams "a", "b", "c"."""
    for item in ("a", "b", "c"):
        yield item


@hub_method("InfiniteStream() -> stream<string>")
async def infinite_stream(ctx: CallContext) -> AsyncIterator[str]:
    """Never yields; when the client cancels it, calls the caller's StreamCanceled()."""

    async def canceled() -> None:
        await ctx.clients.caller.send("StreamCanceled")

    ctx.on_cancel(canceled)
    await trio.sleep_forever()
    yield ""  # pragma: no cover - makes this an async generator


@hub_method("StreamingConcat(stream: stream<string>) -> string")
async def streaming_concat(ctx: CallContext, upload: Upload) -> str:
    """Returns the concatenation of the uploaded strings."""
    return "".join([item or "" async for item in upload])


@hub_method("EmptyStream() -> stream<int>")
async def empty_stream(ctx: CallContext) -> AsyncIterator[int]:
    """A stream that completes at once without items."""
    return
    yield 0  # pragma: no cover


@hub_method("StreamThrowException(message: string) -> stream<string>")
def stream_throw_exception(ctx: CallContext, message: str | None) -> AsyncIterator[str]:
    """Throws InvalidOperationException(message) when called, before any item."""
    raise InvalidOperationException(message or "")


@hub_method("StreamException() -> stream<int>")
def stream_exception(ctx: CallContext) -> AsyncIterator[int]:
    """Throws InvalidOperationException("Error occurred while streaming.") when called."""
    raise InvalidOperationException("Error occurred while streaming.")


@hub_method("StreamBroken() -> stream<int>")
def stream_broken(ctx: CallContext) -> AsyncIterator[int] | None:
    """Returns null instead of a stream (the server's "is not a ChannelReader<>" error)."""
    return None


@hub_method("GetActiveTransportName() -> string")
async def get_active_transport_name(ctx: CallContext) -> str:
    """Returns WebSockets, ServerSentEvents or LongPolling."""
    return ctx.connection.transport_name


@hub_method("EchoComplexObject(complexObject: object) -> object")
async def echo_complex_object(ctx: CallContext, value: dict[str, Any] | None) -> Any:
    """Returns its argument as a ComplexObject {String, IntArray, ByteArray, Guid,
    DateTime}: bound case-insensitively, named as --json-naming says."""
    return ctx.typed(bind(value, COMPLEX_OBJECT))


@hub_method("SendComplexObject() -> object")
async def send_complex_object(ctx: CallContext) -> Any:
    """Returns the functional tests' ComplexObject (keys as --json-naming says and
    base64 bytes in JSON; PascalCase keys, bin and a timestamp in MessagePack)."""
    date = dt.datetime(2000, 1, 1, tzinfo=dt.UTC)
    guid = "00010203-0405-0607-0706-050403020100"
    if ctx.connection.protocol_name == "messagepack":
        values: list[Any] = ["hello world", [1, 2, 3], b"\x01\x02\x03", guid, date]
    else:
        values = ["hello world", [1, 2, 3], "AQID", guid, "2000-01-01T00:00:00Z"]
    return ctx.typed(Record(zip(COMPLEX_OBJECT, values, strict=True)))


@hub_method("GetContentTypeHeader() -> string")
async def get_content_type_header(ctx: CallContext) -> str | None:
    """Returns the Content-Type header of the request that opened the transport."""
    return ctx.request.header("content-type")


@hub_method("GetHeader(headerName: string) -> string")
async def get_header(ctx: CallContext, name: str | None) -> str | None:
    """Returns a header of the request that opened the transport, or null."""
    return ctx.request.header(name) if name else None


@hub_method("GetHeaderValues(headerNames: string[]) -> string[]")
async def get_header_values(ctx: CallContext, names: list[str | None] | None) -> list[str | None]:
    """Returns the value (or null) of each named header."""
    return [ctx.request.header(name) if name else None for name in names or []]


@hub_method("GetCookie(cookieName: string) -> string")
async def get_cookie(ctx: CallContext, name: str | None) -> str | None:
    """Returns a cookie of the request that opened the transport, or null."""
    return ctx.request.cookies().get(name or "")


@hub_method("GetCookieValue(cookieName: string) -> string")
async def get_cookie_value(ctx: CallContext, name: str | None) -> str | None:
    """Same as GetCookie (the .NET functional tests' name)."""
    return ctx.request.cookies().get(name or "")


@hub_method("StreamEcho(source: stream<string>) -> stream<string>")
async def stream_echo(ctx: CallContext, source: Upload) -> AsyncIterator[Any]:
    """Streams back each uploaded string; completes when the upload does."""
    async for item in source:
        yield item


@hub_method("StreamEchoInt(source: stream<int>) -> stream<int>")
async def stream_echo_int(ctx: CallContext, source: Upload) -> AsyncIterator[Any]:
    """Streams back each uploaded int; completes when the upload does."""
    async for item in source:
        yield item


@hub_method("CallEcho(message: string) -> void")
async def call_echo(ctx: CallContext, message: str | None) -> None:
    """Calls the caller's client method Echo(message)."""
    await ctx.clients.caller.send("Echo", message)


@hub_method("CallHandlerThatDoesntExist() -> void")
async def call_handler_that_doesnt_exist(ctx: CallContext) -> None:
    """Calls the caller's client method NoClientHandler(), which clients lack."""
    await ctx.clients.caller.send("NoClientHandler")


@hub_method("GetUserIdentifier() -> string")
async def get_user_identifier(ctx: CallContext) -> str | None:
    """Returns the caller's user id (Context.UserIdentifier; null without a token)."""
    return ctx.user_id


@hub_method("GetIHttpConnectionFeatureProperties() -> any")
async def get_connection_feature_properties(ctx: CallContext) -> list[Any]:
    """Returns [localPort, remotePort, localIp, remoteIp]."""
    server = ctx.request.server or ("", 0)
    client = ctx.request.client or ("", 0)
    return [server[1], client[1], server[0], client[0]]
