"""What every hub protocol offers, so the layers above never branch on its name."""

from __future__ import annotations

import enum
from collections.abc import Iterable
from typing import Protocol

from .messages import HubMessage, IncomingMessage


class TransferFormat(enum.Enum):
    TEXT = "Text"
    BINARY = "Binary"


class MessageParser(Protocol):
    """Incremental parser: feed it any chunks, get back the messages they complete."""

    def feed(self, data: bytes) -> list[IncomingMessage]: ...

    @property
    def sizes(self) -> list[int]:
        """The wire size of each message the last `feed` returned, in order (framing
        included; a batch counts all its records), so a receiver can charge each
        consumer exactly what it holds."""
        ...

    @property
    def buffered(self) -> int:
        """Bytes held back because they do not yet form a whole message."""
        ...


class HubProtocol(Protocol):
    @property
    def name(self) -> str: ...

    @property
    def version(self) -> int: ...

    @property
    def transfer_format(self) -> TransferFormat: ...

    def encode(self, message: HubMessage) -> bytes: ...

    def encode_many(self, messages: Iterable[HubMessage]) -> bytes: ...

    def parser(
        self,
        *,
        max_message_size: int | None = None,
        batching: bool = False,
        ignore_unknown_types: bool = False,
    ) -> MessageParser: ...


class ParserFactory(Protocol):
    def __call__(
        self,
        *,
        max_message_size: int | None,
        batching: bool,
        ignore_unknown_types: bool,
    ) -> MessageParser: ...


class HubProtocolBase:
    """What the two protocols share: batch encoding and making parsers."""

    _parser_factory: ParserFactory

    def encode(self, message: HubMessage) -> bytes:
        raise NotImplementedError

    def encode_many(self, messages: Iterable[HubMessage]) -> bytes:
        return b"".join(self.encode(message) for message in messages)

    def parser(
        self,
        *,
        max_message_size: int | None = None,
        batching: bool = False,
        ignore_unknown_types: bool = False,
    ) -> MessageParser:
        """A new incremental parser.

        `batching`: consecutive header-less StreamItems of one invocation
        come out as one StreamItemBatch per feed, and consecutive plain
        Invocations of one target (no id, headers or streams) as one
        InvocationBatch (the receive hot paths).
        `ignore_unknown_types`: skip message types from a newer protocol instead of
        failing (the official clients' behaviour).
        """
        return self._parser_factory(
            max_message_size=max_message_size,
            batching=batching,
            ignore_unknown_types=ignore_unknown_types,
        )
