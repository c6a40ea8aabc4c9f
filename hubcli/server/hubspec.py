"""One hub endpoint's settings: `hubcli serve --hub PATH[:SETTING=VALUE,...]`.

An ASP.NET Core app maps the same hub at several paths, each with options of its
own (MapHub<T>(path, options => options.Transports = ...)) and its own
authorization ([Authorize] or not); the official functional tests' app maps a
hub that allows every transport, the same hub without WebSockets, and one that
requires a JWT. A spec says that for one path:

    /chat                               the server's transports and authorization
    /chat-nows:transports=sse+longpolling
    /secure:authorize=yes               a valid token (--jwt-key / --require-token)
    /open:authorize=no                  no token needed; a bad one is anonymous

Settings left out take the server's: its --transports, and authorization
whenever the server has a --jwt-key or --require-token.
"""

from __future__ import annotations

from dataclasses import dataclass

from hubcli.protocol.negotiate import TRANSPORT_WORDS, TransportName, transport_named

SETTINGS = ("transports", "authorize")
_YES = ("yes", "true", "on", "1")
_NO = ("no", "false", "off", "0")


@dataclass(frozen=True, slots=True)
class HubSpec:
    # One leading slash, no trailing one ("/" for the root).
    path: str
    # None: the server's transports.
    transports: tuple[TransportName, ...] | None = None
    # None: required when the server has credentials to check.
    authorize: bool | None = None

    @property
    def key(self) -> str:
        """What routing compares: ASP.NET Core matches paths case-insensitively."""
        return self.path.lower()

    def with_defaults(self, transports: tuple[TransportName, ...], authorize: bool) -> HubSpec:
        return HubSpec(
            self.path,
            self.transports if self.transports is not None else transports,
            self.authorize if self.authorize is not None else authorize,
        )


def normal_path(path: str) -> str:
    return "/" + path.strip().strip("/")


def parse_hub_spec(text: str) -> HubSpec:
    """The spec `text` describes; ValueError saying what is wrong."""
    path, _, settings = text.partition(":")
    if not path.strip().startswith("/"):
        raise ValueError(
            f"expected PATH[:SETTING=VALUE,...] with PATH starting with '/', not {text!r}"
        )
    if any(character.isspace() or character in "?#" for character in path.strip()):
        raise ValueError(f"a hub path holds no blanks, '?' or '#': {path!r}")
    transports: tuple[TransportName, ...] | None = None
    authorize: bool | None = None
    for setting in filter(None, (part.strip() for part in settings.split(","))):
        name, separator, value = (piece.strip() for piece in setting.partition("="))
        name = name.lower()
        if not separator or name not in SETTINGS:
            raise ValueError(
                f"expected one of {', '.join(s + '=' for s in SETTINGS)} not {setting!r}"
            )
        if name == "transports":
            transports = _transports(value)
        else:
            authorize = _yes_or_no(value)
    return HubSpec(normal_path(path), transports, authorize)


def _transports(value: str) -> tuple[TransportName, ...]:
    chosen = {transport_named(word) for word in value.split("+") if word.strip()}
    if None in chosen or not chosen:
        raise ValueError(
            f"transports: a '+'-separated list of {', '.join(TRANSPORT_WORDS)}; got {value!r}"
        )
    # Negotiate lists transports in the server's fixed order.
    return tuple(t for t in TransportName if t in chosen)


def _yes_or_no(value: str) -> bool:
    word = value.lower()
    if word in _YES:
        return True
    if word in _NO:
        return False
    raise ValueError(f"authorize: yes or no, not {value!r}")
