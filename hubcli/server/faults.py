"""Connection-level faults, switched on for every connection with `--fault NAME`.

Each names one way a hub or what stands in front of it misbehaves, so a client's
handling of it can be tested against a real socket:

    negotiate-500            negotiate answers 500 Internal Server Error
    negotiate-404            negotiate answers 404 (a wrong hub path)
    negotiate-html           negotiate answers 200 with an HTML page, as a login
                             page or a proxy's error page does
    negotiate-slow[=SECONDS] negotiate answers after SECONDS (default 10)
    handshake-reject         the handshake is answered with an error
    handshake-garbage        the handshake is answered with a record that is no
                             handshake response; the transport stays open
    handshake-silent         the handshake is never answered
    silent[=SECONDS]         SECONDS (default 0) after the handshake the hub goes
                             silent: no pings, no answers, nothing it receives is
                             acted on, and it never times the client out
    drop-transport[=SECONDS] every SECONDS (default 5) after the handshake the hub
                             cuts the connection's TCP connection, as DropTransport
                             does (needs --chaos; not Long Polling): a network that
                             fails every few seconds, for soak tests

The negotiate faults leave the redirect endpoints alone.
"""

from __future__ import annotations

import enum
import math
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Final

import trio

from hubcli.protocol.handshake import HandshakeResponse, encode_response

from .asgi import TEXT_PLAIN, Send, respond
from .pipes import BytePipe


class HandshakeFault(enum.Enum):
    REJECT = "handshake-reject"
    GARBAGE = "handshake-garbage"
    SILENT = "handshake-silent"


FAULT_NAMES: Final = (
    "negotiate-500",
    "negotiate-404",
    "negotiate-html",
    "negotiate-slow",
    "handshake-reject",
    "handshake-garbage",
    "handshake-silent",
    "silent",
    "drop-transport",
)
_TAKES_SECONDS: Final = {"negotiate-slow": 10.0, "silent": 0.0, "drop-transport": 5.0}

# The real server's text for a handshake it cannot complete.
HANDSHAKE_REJECTED: Final = "An unexpected error occurred during connection handshake."
HANDSHAKE_GARBAGE: Final = b"<html>garbage</html>\x1e"
NEGOTIATE_500_BODY: Final = b"Internal Server Error"
NEGOTIATE_HTML: Final = (
    b"<!DOCTYPE html>\n<html><head><title>Sign in</title></head>"
    b'<body><form method="post" action="/login"><input name="user"></form></body></html>\n'
)


@dataclass(frozen=True, slots=True)
class Faults:
    negotiate_status: int | None = None
    negotiate_html: bool = False
    negotiate_delay: float = 0.0
    handshake: HandshakeFault | None = None
    # Seconds after the handshake; None: the hub never goes silent.
    silent_after: float | None = None
    # Seconds between cuts of each connection's transport; None: never.
    drop_every: float | None = None

    @property
    def names(self) -> tuple[str, ...]:
        """The faults as --fault spells them (for the log)."""
        names = []
        if self.negotiate_status is not None:
            names.append(f"negotiate-{self.negotiate_status}")
        if self.negotiate_html:
            names.append("negotiate-html")
        if self.negotiate_delay:
            names.append(f"negotiate-slow={self.negotiate_delay:g}")
        if self.handshake is not None:
            names.append(self.handshake.value)
        if self.silent_after is not None:
            names.append(f"silent={self.silent_after:g}")
        if self.drop_every is not None:
            names.append(f"drop-transport={self.drop_every:g}")
        return tuple(names)


def parse_faults(values: Iterable[str]) -> Faults:
    """The faults of --fault values; ValueError naming what is wrong."""
    negotiate: str | None = None
    handshake: HandshakeFault | None = None
    delay = 0.0
    silent_after: float | None = None
    drop_every: float | None = None
    for value in values:
        name, separator, argument = value.strip().partition("=")
        name = name.strip().lower()
        if name not in FAULT_NAMES:
            raise ValueError(f"unknown fault {value!r}; expected one of {', '.join(FAULT_NAMES)}")
        seconds = _seconds(name, argument if separator else None)
        if name == "negotiate-slow":
            delay = seconds
        elif name == "silent":
            silent_after = seconds
        elif name == "drop-transport":
            if seconds <= 0:
                raise ValueError("fault drop-transport=SECONDS needs more than 0 seconds")
            drop_every = seconds
        elif name.startswith("handshake-"):
            if handshake is not None and handshake.value != name:
                raise ValueError(f"{handshake.value} and {name} cannot both answer the handshake")
            handshake = HandshakeFault(name)
        else:
            if negotiate is not None and negotiate != name:
                raise ValueError(f"{negotiate} and {name} cannot both answer negotiate")
            negotiate = name
    return Faults(
        negotiate_status=int(negotiate.rpartition("-")[2])
        if negotiate in ("negotiate-500", "negotiate-404")
        else None,
        negotiate_html=negotiate == "negotiate-html",
        negotiate_delay=delay,
        handshake=handshake,
        silent_after=silent_after,
        drop_every=drop_every,
    )


def _seconds(name: str, argument: str | None) -> float:
    if name not in _TAKES_SECONDS:
        if argument is not None:
            raise ValueError(f"fault {name} takes no value")
        return 0.0
    if argument is None:
        return _TAKES_SECONDS[name]
    try:
        seconds = float(argument)
    except ValueError:
        seconds = math.nan
    if not math.isfinite(seconds) or seconds < 0:
        raise ValueError(f"fault {name}=SECONDS needs a number of seconds >= 0, not {argument!r}")
    return seconds


async def answer_negotiate(faults: Faults, send: Send) -> bool:
    """Answer a negotiate request as the fault says; False if negotiate should go on
    (after the fault's delay, if any)."""
    if faults.negotiate_delay:
        await trio.sleep(faults.negotiate_delay)
    if faults.negotiate_status == 500:
        await respond(send, 500, NEGOTIATE_500_BODY, content_type=TEXT_PLAIN)
    elif faults.negotiate_status == 404:
        await respond(send, 404)
    elif faults.negotiate_html:
        await respond(send, 200, NEGOTIATE_HTML, content_type="text/html; charset=utf-8")
    else:
        return False
    return True


async def answer_handshake(fault: HandshakeFault, inbound: BytePipe, outbound: BytePipe) -> None:
    """Meet a client's handshake with the fault, then wait for it to leave.

    No handshake timeout applies: a silent server does not time anybody out."""
    received = b""
    while b"\x1e" not in received:
        data = await inbound.read()
        if data is None:
            return
        received += data
    if fault is HandshakeFault.REJECT:
        await outbound.write(encode_response(HandshakeResponse(HANDSHAKE_REJECTED)))
        return
    if fault is HandshakeFault.GARBAGE:
        await outbound.write(HANDSHAKE_GARBAGE)
    while await inbound.read() is not None:
        pass
