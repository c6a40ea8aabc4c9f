"""Client results: the server invokes a client method and waits for its Completion.

Follows DefaultHubLifetimeManager.InvokeConnectionAsync and ClientResultsManager
(ASP.NET Core 8 and later):

- ids come from one server-wide counter, `s1`, `s2`, ... ("s" for server, so they
  never meet the client's own stream ids in a Completion);
- an unknown connection fails at once with IOException "Connection '<id>' does
  not exist."; a connection that ends while a call waits on it fails the call with
  IOException "Connection '<id>' disconnected.";
- a Completion with an error fails the call with HubException(error), whose text
  therefore reaches whoever invoked the hub method, detailed errors or not; so
  does a void Completion (no result, no error), with .NET's default message;
- a Completion for an id nobody waits for is ignored; one from a connection other
  than the one asked is an InvalidOperationException, which ends that connection.

There is no timeout unless the caller brings one, as on the real server.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import trio

from hubcli.protocol import Completion, CompletionKind

from .errors import HubException, InvalidOperationException, IOException

NO_ERROR_TEXT = "Exception of type 'Microsoft.AspNetCore.SignalR.HubException' was thrown."


@dataclass
class _Pending:
    connection_id: str
    done: trio.Event = field(default_factory=trio.Event)
    error: Exception | None = None
    value: Any = None


@dataclass
class ResultCounts:
    requested: int = 0
    ok: int = 0
    error: int = 0

    def as_dict(self, pending: int) -> dict[str, int]:
        return {"requested": self.requested, "ok": self.ok, "error": self.error, "pending": pending}


class ClientResults:
    def __init__(self, on_change: Callable[[], None]) -> None:
        self._ids = itertools.count(1)
        self._pending: dict[str, _Pending] = {}
        self._on_change = on_change
        self.counts = ResultCounts()

    @property
    def pending(self) -> int:
        return len(self._pending)

    def is_pending(self, invocation_id: str) -> bool:
        return invocation_id in self._pending

    def add(self, connection_id: str) -> str:
        """Register a call to `connection_id`; its invocation id."""
        invocation_id = f"s{next(self._ids)}"
        self._pending[invocation_id] = _Pending(connection_id)
        self.counts.requested += 1
        self._on_change()
        return invocation_id

    async def wait(self, invocation_id: str) -> Any:
        """The client's result; HubException for its error, IOException if it left."""
        pending = self._pending[invocation_id]
        await pending.done.wait()
        if pending.error is not None:
            raise pending.error
        return pending.value

    def discard(self, invocation_id: str) -> None:
        """Forget a call however it ended, so a late answer finds nothing to complete."""
        if self._pending.pop(invocation_id, None) is not None:
            self._on_change()

    def complete(self, connection_id: str, completion: Completion) -> None:
        """Hand a client's Completion to the call waiting for it, if any."""
        invocation_id = completion.invocation_id
        pending = self._pending.get(invocation_id)
        if pending is None or pending.done.is_set():
            return
        if pending.connection_id != connection_id:
            raise InvalidOperationException(
                f"Connection ID '{connection_id}' is not valid for invocation ID '{invocation_id}'."
            )
        if completion.kind is CompletionKind.RESULT:
            pending.value = completion.result
            self.counts.ok += 1
        else:
            # Only a result counts: a void Completion is an error without a text,
            # which .NET fills in with the exception's default message.
            pending.error = HubException(completion.error or NO_ERROR_TEXT)
            self.counts.error += 1
        pending.done.set()
        self._on_change()

    def connection_ended(self, connection_id: str) -> None:
        """Fail every call still waiting on a connection that is gone."""
        for pending in self._pending.values():
            if pending.connection_id == connection_id and not pending.done.is_set():
                pending.error = IOException(f"Connection '{connection_id}' disconnected.")
                pending.done.set()


def unknown_connection(connection_id: str) -> IOException:
    return IOException(f"Connection '{connection_id}' does not exist.")
