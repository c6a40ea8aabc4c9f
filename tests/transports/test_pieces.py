"""The small pieces on their own: the event-stream parser, proxy decisions, cookie
strings, URLs fit for messages, transport names."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hubcli.client.api import transport_names
from hubcli.client.network import (
    NetworkSettings,
    check_proxy_url,
    display_url,
    parse_cookie_string,
)
from hubcli.protocol.sse import EventStreamParser


def _parse(*chunks: bytes) -> list[bytes]:
    parser = EventStreamParser()
    events: list[bytes] = []
    for chunk in chunks:
        events.extend(parser.feed(chunk))
    return events


def test_sse_events_as_the_server_writes_them() -> None:
    stream = b':\r\ndata: {"type":1}\x1e{"type":6}\x1e\r\n\r\n'
    assert _parse(stream) == [b'{"type":1}\x1e{"type":6}\x1e']


def test_sse_joins_data_lines_and_ignores_the_rest() -> None:
    stream = (
        b": a comment\n"
        b"event: message\nid: 7\nretry: 10\n"
        b"data: first\r\ndata:second\rdata\ndata:  two spaces\n\n"
        b"data: x\n"  # not ended by a blank line: not an event yet
    )
    assert _parse(stream) == [b"first\nsecond\n\n two spaces"]


def test_sse_blank_lines_without_data_are_no_events() -> None:
    assert _parse(b"\r\n\r\n:\r\n\r\n") == []


def test_sse_a_cr_at_the_end_of_a_chunk_waits_for_its_lf() -> None:
    assert _parse(b"data: a\r", b"\ndata: b\r\n\r", b"\n") == [b"a\nb"]


@given(
    st.lists(st.binary().filter(lambda b: b"\r" not in b and b"\n" not in b), max_size=5),
    st.lists(st.integers(min_value=0, max_value=400), max_size=8),
    st.sampled_from([b"\r\n", b"\n", b"\r"]),
)
def test_sse_cut_anywhere(lines: list[bytes], cuts: list[int], newline: bytes) -> None:
    events = [line for line in lines if line]
    # The trailing comment ends a last lone CR, which could otherwise be half a CRLF.
    stream = b":\r\n" + b"".join(b"data: " + line + newline + newline for line in events) + b":\n"
    positions = sorted({min(cut, len(stream)) for cut in cuts})
    chunks = [stream[a:b] for a, b in zip([0, *positions], [*positions, len(stream)], strict=True)]
    assert _parse(*chunks) == events


def test_a_long_line_in_many_small_chunks() -> None:
    parser = EventStreamParser()
    body = b"x" * 2_000_000
    assert parser.feed(b"data: ") == []
    for start in range(0, len(body), 4096):
        assert parser.feed(body[start : start + 4096]) == []
    assert parser.feed(b"\r\n\r\n") == [body]


def test_proxy_decisions() -> None:
    environment = (("http", "http://env:3128"), ("https", "http://secure:3128"))
    settings = NetworkSettings(environment_proxies=environment)
    assert settings.proxy_for("http://hub.example/hub") == "http://env:3128"
    assert settings.proxy_for("ws://hub.example/hub") == "http://env:3128"
    assert settings.proxy_for("wss://hub.example/hub") == "http://secure:3128"
    bypass = NetworkSettings(
        proxy="http://explicit:8080",
        environment_proxies=(*environment, ("no", ".internal,10.1.2.3")),
    )
    assert bypass.proxy_for("https://hub.example/hub") == "http://explicit:8080"
    assert bypass.proxy_for("https://hub.corp.internal/hub") is None
    assert bypass.proxy_for("ws://10.1.2.3:5000/hub") is None
    assert NetworkSettings().proxy_for("http://hub.example/") is None


def test_proxy_urls() -> None:
    assert check_proxy_url("proxy:3128") == "http://proxy:3128"
    assert check_proxy_url("http://u:p@proxy:3128") == "http://u:p@proxy:3128"
    for bad in ("socks5://proxy:1080", "https://proxy:443", "http://"):
        with pytest.raises(ValueError, match="only http://HOST:PORT proxies"):
            check_proxy_url(bad)


def test_cookie_strings() -> None:
    assert parse_cookie_string("a=1; b = two ;c=") == (("a", "1"), ("b", "two"), ("c", ""))
    for bad in ("novalue", "=x"):
        with pytest.raises(ValueError, match="expected name=value"):
            parse_cookie_string(bad)


def test_urls_in_messages_carry_no_secrets() -> None:
    assert (
        display_url("wss://user:pw@hub.example:8443/hub?id=tok&access_token=secret#f")
        == "wss://hub.example:8443/hub"
    )


def test_transport_names() -> None:
    assert transport_names("auto") == ("WebSockets", "ServerSentEvents", "LongPolling")
    assert transport_names(["sse", "LongPolling"]) == ("ServerSentEvents", "LongPolling")
    assert transport_names("websockets, sse,websockets") == ("WebSockets", "ServerSentEvents")
    with pytest.raises(ValueError, match="unknown transport 'foo'"):
        transport_names("websockets,foo")
