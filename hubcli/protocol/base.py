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
        batch_stream_items: bool = False,
        ignore_unknown_types: bool = False,
    ) -> MessageParser: ...
