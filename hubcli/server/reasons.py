"""Reason phrases on HTTP/1.1 status lines ("HTTP/1.1 404 Not Found").

hypercorn writes status lines without a reason phrase, which HTTP allows, but
clients show it: the official client's refusal reads "Error: Not Found: Status
code '404'" against ASP.NET Core and "Error: : Status code '404'" without one.
hypercorn (0.18) has no supported way to send one: the ASGI `http.response.start`
message has no reason field, hypercorn's own Response event carries only status
and headers, and its Config offers extra headers, not phrases. It builds its
HTTP/1.1 responses through the `h11` name of its protocol module, so that name
is pointed at a view of h11 whose Response and InformationalResponse (101 on a
WebSocket upgrade) add the phrase. tests/server/test_reasons.py reads status lines
off the socket, so an upgrade that changes this fails there.
"""

from __future__ import annotations

import contextlib
import types
from http import HTTPStatus
from typing import Any

import h11


class _H11WithReasons(types.ModuleType):
    def __init__(self) -> None:
        super().__init__("h11", h11.__doc__)

    def __getattr__(self, name: str) -> Any:
        return getattr(h11, name)

    # Named as the classes they stand in for.
    @staticmethod
    def Response(**kwargs: Any) -> h11.Response:
        return h11.Response(**_with_reason(kwargs))

    @staticmethod
    def InformationalResponse(**kwargs: Any) -> h11.InformationalResponse:
        return h11.InformationalResponse(**_with_reason(kwargs))


def _with_reason(kwargs: dict[str, Any]) -> dict[str, Any]:
    # Unknown codes keep an empty phrase.
    if not kwargs.get("reason"):
        with contextlib.suppress(ValueError):
            kwargs["reason"] = HTTPStatus(kwargs["status_code"]).phrase.encode("ascii")
    return kwargs


def add_reason_phrases() -> None:
    """Idempotent; a no-op if hypercorn's module no longer looks as expected."""
    try:
        from hypercorn.protocol import h11 as hypercorn_h11
    except ImportError:
        return
    current = getattr(hypercorn_h11, "h11", None)
    if current is h11:
        hypercorn_h11.h11 = _H11WithReasons()  # type: ignore[attr-defined]
