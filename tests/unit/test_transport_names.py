"""Transport names are read in one place (hubcli.protocol.negotiate.transport_named):
the library, `hubcli -t` and `hubcli serve --transports` take the same words."""

from __future__ import annotations

import pytest

from hubcli.client import InvalidArgumentError
from hubcli.client.api import transport_names
from hubcli.protocol.negotiate import TRANSPORT_WORDS, TransportName, transport_named


@pytest.mark.parametrize(
    ("word", "expected"),
    [
        ("websockets", TransportName.WEBSOCKETS),
        ("WebSockets", TransportName.WEBSOCKETS),
        ("sse", TransportName.SERVER_SENT_EVENTS),
        ("SSE", TransportName.SERVER_SENT_EVENTS),
        ("ServerSentEvents", TransportName.SERVER_SENT_EVENTS),
        (" longpolling ", TransportName.LONG_POLLING),
        ("LongPolling", TransportName.LONG_POLLING),
    ],
)
def test_every_spelling_names_its_transport(word: str, expected: TransportName) -> None:
    assert transport_named(word) is expected


@pytest.mark.parametrize("word", ["auto", "", "long-polling", "ws", "http"])
def test_other_words_name_none(word: str) -> None:
    assert transport_named(word) is None


def test_the_shown_words_cover_every_transport() -> None:
    assert {transport_named(word) for word in TRANSPORT_WORDS} == set(TransportName)


def test_the_library_reads_the_same_words() -> None:
    assert transport_names("ServerSentEvents,LONGPOLLING") == ("ServerSentEvents", "LongPolling")
    assert transport_names(["auto"]) == ("WebSockets", "ServerSentEvents", "LongPolling")
    with pytest.raises(InvalidArgumentError, match="unknown transport 'ws'"):
        transport_names("ws")
