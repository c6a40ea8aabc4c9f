"""Negotiate URLs and responses: v0, v1, redirects, errors, unusable servers."""

from __future__ import annotations

import pytest

from hubcli.protocol import NegotiateError
from hubcli.protocol.base import TransferFormat
from hubcli.protocol.negotiate import (
    AvailableTransport,
    NegotiateRedirect,
    NegotiateResponse,
    ServerNegotiation,
    connect_url,
    encode_error,
    encode_redirect,
    encode_response,
    negotiate_url,
    parse_response,
    requested_negotiate_version,
    websocket_url,
    wire_url,
)


@pytest.mark.parametrize(
    ("hub_url", "expected"),
    [
        ("http://h/hub", "http://h/hub/negotiate?negotiateVersion=1"),
        ("http://h/hub/", "http://h/hub/negotiate?negotiateVersion=1"),
        ("http://h", "http://h/negotiate?negotiateVersion=1"),
        ("https://h:5001/a/b?hub=chat", "https://h:5001/a/b/negotiate?hub=chat&negotiateVersion=1"),
        ("http://h/hub?negotiateVersion=0", "http://h/hub/negotiate?negotiateVersion=0"),
        ("http://h/hub#frag", "http://h/hub/negotiate?negotiateVersion=1"),
        (
            "https://x.service.signalr.net/client/?hub=h&asrs.op=%2Fhub",
            "https://x.service.signalr.net/client/negotiate?hub=h&asrs.op=%2Fhub&negotiateVersion=1",
        ),
    ],
)
def test_negotiate_url_keeps_the_query_and_adds_the_version(hub_url: str, expected: str) -> None:
    assert negotiate_url(hub_url) == expected


def test_negotiate_url_asks_for_stateful_reconnect_only_when_told() -> None:
    assert negotiate_url("http://h/hub", stateful_reconnect=True).endswith(
        "negotiateVersion=1&useStatefulReconnect=true"
    )


def test_connect_url_appends_the_token() -> None:
    assert connect_url("http://h/hub", "abc") == "http://h/hub?id=abc"
    assert connect_url("http://h/hub?x=1", "a+b/c") == "http://h/hub?x=1&id=a%2Bb%2Fc"
    assert connect_url("http://h/hub", None) == "http://h/hub"


def test_websocket_url_swaps_the_scheme() -> None:
    assert websocket_url("http://h/hub?id=1") == "ws://h/hub?id=1"
    assert websocket_url("HTTPS://h/hub") == "wss://h/hub"


V1 = (
    b'{"negotiateVersion":1,"connectionId":"cid","connectionToken":"tok",'
    b'"availableTransports":[{"transport":"WebSockets","transferFormats":["Text","Binary"]},'
    b'{"transport":"ServerSentEvents","transferFormats":["Text"]},'
    b'{"transport":"LongPolling","transferFormats":["Text","Binary"]}]}'
)


def test_v1_response() -> None:
    response = parse_response(V1)
    assert isinstance(response, NegotiateResponse)
    assert response.token_for_connect == "tok"
    assert [t.transport for t in response.available_transports] == [
        "WebSockets",
        "ServerSentEvents",
        "LongPolling",
    ]
    assert not response.available_transports[1].supports(TransferFormat.BINARY)
    assert response.available_transports[2].supports(TransferFormat.BINARY)


def test_v0_response_uses_the_connection_id_as_token() -> None:
    response = parse_response(b'{"connectionId":"cid","availableTransports":[]}')
    assert isinstance(response, NegotiateResponse)
    assert response.negotiate_version == 0
    assert response.token_for_connect == "cid"


def test_redirect() -> None:
    assert parse_response(b'{"url":"https://x/client/?hub=h","accessToken":"jwt"}') == (
        NegotiateRedirect("https://x/client/?hub=h", "jwt")
    )
    assert parse_response(b'{"url":"https://x/"}') == NegotiateRedirect("https://x/")


@pytest.mark.parametrize("url", ["http://h/hub", "HTTPS://h:1/", "ws://[::1]:80/hub", "wss://h"])
def test_redirect_to_any_absolute_url_a_client_can_use(url: str) -> None:
    assert parse_response(f'{{"url":"{url}"}}'.encode()) == NegotiateRedirect(url)


@pytest.mark.parametrize(
    "url",
    [
        "",
        "/hub",
        "hub",
        "ftp://h/hub",
        "http:///hub",
        "http://[::1/",
        "http://h:65536/",
        "http://a..b/hub",
        f"https://{'x' * 64}.example/",
    ],
)
def test_redirect_to_a_url_no_client_can_use(url: str) -> None:
    with pytest.raises(NegotiateError, match="the redirect 'url' is not an absolute"):
        parse_response(f'{{"url":"{url}"}}'.encode())


@pytest.mark.parametrize(
    ("url", "sent"),
    [
        ("http://h/hub?a=b", "http://h/hub?a=b"),
        ("http://h/h ub?a=b c", "http://h/h%20ub?a=b%20c"),
        ("http://h/h\u00fcb?a=\u00fc", "http://h/h%C3%BCb?a=%C3%BC"),
        ("http://u\u00fc@b\u00fccher.example:80/x", "http://u%C3%BC@xn--bcher-kva.example:80/x"),
        ("http://[::1]:5/a b", "http://[::1]:5/a%20b"),
        ('http://h/%41%zz"<>', 'http://h/%41%zz"<>'),
    ],
)
def test_wire_url_encodes_what_a_request_line_cannot_carry(url: str, sent: str) -> None:
    assert wire_url(url) == sent


@pytest.mark.parametrize("url", ["http://h/hub\r\nX: 1", "http://h/\x00", "http://h/?a=\x7f"])
def test_wire_url_refuses_control_characters(url: str) -> None:
    with pytest.raises(ValueError, match="control character"):
        wire_url(url)


def test_a_redirect_is_sent_as_the_wire_url() -> None:
    body = '{"url":"http://h/h\u00fcb b?x=1"}'.encode()
    assert parse_response(body) == NegotiateRedirect("http://h/h%C3%BCb%20b?x=1")


def test_a_redirect_with_a_control_character_is_refused() -> None:
    with pytest.raises(NegotiateError, match=r"redirect 'url' cannot be used: .*control character"):
        parse_response(b'{"url":"http://h/hub\\r\\nX: 1"}')


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b'{"error":"Negotiate failed on purpose."}', "Negotiate failed on purpose."),
        (b'{"ProtocolVersion":"1.5","Url":"/signalr"}', "ASP.NET SignalR Server"),
        (b"<html>", "not JSON"),
        (b"[1]", "not a JSON object"),
        (b'{"negotiateVersion":1}', "no connection id"),
        (b'{"connectionId":"c","availableTransports":{}}', "not a list"),
        (b'{"connectionId":"c","availableTransports":[{"x":1}]}', "malformed transport"),
        (b'{"connectionId":5}', "'connectionId' is not a string"),
        (b'{"url":5}', "'url' is not a string"),
        (b'{"negotiateVersion":"1","connectionId":"c"}', "not a number"),
        (
            b'{"negotiateVersion":1,"connectionId":"c","connectionToken":"t",'
            b'"useStatefulReconnect":true}',
            "Client didn't negotiate Stateful Reconnect but the server did.",
        ),
    ],
)
def test_unusable_responses(body: bytes, message: str) -> None:
    with pytest.raises(NegotiateError, match=message.replace(".", r"\.").replace("'", "'")):
        parse_response(body)


def test_stateful_reconnect_when_asked() -> None:
    body = (
        b'{"negotiateVersion":1,"connectionId":"c","connectionToken":"t",'
        b'"useStatefulReconnect":true}'
    )
    response = parse_response(body, stateful_reconnect_requested=True)
    assert isinstance(response, NegotiateResponse)
    assert response.use_stateful_reconnect


def test_server_encoding_round_trips_through_the_client_parser() -> None:
    transports = (
        AvailableTransport("WebSockets", ("Text", "Binary")),
        AvailableTransport("ServerSentEvents", ("Text",)),
    )
    v1 = encode_response(ServerNegotiation("cid", "tok", 1, transports))
    assert v1.startswith(b'{"negotiateVersion":1,"connectionId":"cid","connectionToken":"tok"')
    assert parse_response(v1) == NegotiateResponse("cid", "tok", 1, transports)
    v0 = encode_response(ServerNegotiation("cid", "tok", 0, transports))
    assert b"connectionToken" not in v0
    assert parse_response(encode_redirect(NegotiateRedirect("http://x/", "t"))) == (
        NegotiateRedirect("http://x/", "t")
    )
    assert encode_error("nope") == b'{"error":"nope"}'


def test_requested_version() -> None:
    assert requested_negotiate_version(None) == 0
    assert requested_negotiate_version("1") == 1
    assert requested_negotiate_version("7") == 1
    with pytest.raises(ValueError, match="non-integer"):
        requested_negotiate_version("one")
