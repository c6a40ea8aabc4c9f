"""The connection flags about reaching the server, turned into one NetworkSettings.

Headers, cookies, the token, TLS and proxies are checked here, once, before any
connecting: a file that cannot be read or a proxy hubcli cannot use is a usage
error (exit 2) naming the flag, not a failure half-way through a connection.
Imported only when a client command runs (it loads the client package).
"""

from __future__ import annotations

import ssl
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Final

from hubcli.client.network import (
    NetworkSettings,
    check_proxy_url,
    check_token,
    environment_proxies,
    load_cookie_file,
    parse_cookie_string,
    tls_context,
)

from .errors import UsageError, cannot_read, insecure_unused

if TYPE_CHECKING:
    from http.cookiejar import Cookie

    from .options import ConnectionFlags

INSECURE_WARNING: Final = (
    "hubcli: warning: --insecure: the server's TLS certificate is not verified; "
    "anyone on the path can read and change this connection"
)


def _reason(error: BaseException) -> str:
    if isinstance(error, OSError) and error.strerror:
        return error.strerror
    if isinstance(error, ssl.SSLError) and error.reason:
        return str(error.reason)
    return str(error) or type(error).__name__


def read_token_file(path: str) -> str:
    """The token in `path`, surrounding whitespace (the trailing newline) stripped."""
    from .files import TOKEN_FILE_LIMIT, read_text

    token = read_text(f"--token-file {path}", path, TOKEN_FILE_LIMIT).strip()
    if not token:
        raise UsageError(f"--token-file {path} is empty")
    return _sendable(token, f"the token in --token-file {path}")


def _sendable(token: str, source: str) -> str:
    try:
        return check_token(token, source)
    except ValueError as error:
        raise UsageError(str(error)) from None


def token_file_reader(path: str) -> Callable[[], str]:
    """A token factory that reads the file again at every connect (a token that a
    sidecar renews on disk is picked up without restarting anything)."""

    def read() -> str:
        return read_token_file(path)

    return read


def _cookies(values: list[str]) -> tuple[tuple[tuple[str, str], ...], tuple[Cookie, ...]]:
    pairs: list[tuple[str, str]] = []
    entries: list[Cookie] = []
    for value in values:
        if "=" in value:
            try:
                pairs.extend(parse_cookie_string(value))
            except ValueError as error:
                raise UsageError(str(error), hint="use -b 'name=value; other=value'") from None
            continue
        from .files import COOKIE_FILE_LIMIT, check_regular

        check_regular(f"the cookie file {value}", value, COOKIE_FILE_LIMIT)
        try:
            entries.extend(load_cookie_file(value))
        except OSError as error:
            raise UsageError(cannot_read(f"the cookie file {value}", _reason(error))) from None
    return tuple(pairs), tuple(entries)


def _ssl_context(url: str, flags: ConnectionFlags) -> ssl.SSLContext | None:
    if flags.key is not None and flags.cert is None:
        raise UsageError("--key needs --cert")
    configured = flags.cacert or flags.cert or flags.insecure
    if not configured and not url.lower().startswith(("https://", "wss://")):
        return None  # made on first use, should a redirect lead to https
    from .files import TLS_FILE_LIMIT, check_regular

    for flag, path in (("--cacert", flags.cacert), ("--cert", flags.cert), ("--key", flags.key)):
        if path is not None:
            check_regular(f"{flag} {path}", path, TLS_FILE_LIMIT)
    try:
        return tls_context(flags.cacert, flags.cert, flags.key, insecure=flags.insecure)
    except (OSError, ssl.SSLError, ValueError) as error:
        files = " ".join(
            f"{flag} {path}"
            for flag, path in (
                ("--cacert", flags.cacert),
                ("--cert", flags.cert),
                ("--key", flags.key),
            )
            if path
        )
        raise UsageError(f"cannot use {files}: {_reason(error)}") from None


def _usable_proxy(url: str) -> str:
    """check_proxy_url, and a host a resolver can be asked for (no empty label,
    none over 63 characters, no bytes that are not UTF-8): such a host failed
    only when connecting, as an internal error."""
    from urllib.parse import urlsplit

    from hubcli.protocol.negotiate import nameable_host

    checked = check_proxy_url(url)
    if not nameable_host(urlsplit(checked).hostname or ""):
        raise ValueError(f"invalid proxy {url!r}: the host is not a name a resolver can look up")
    return checked


def _proxies(flags: ConnectionFlags) -> tuple[str | None, tuple[tuple[str, str], ...]]:
    if flags.proxy is not None and not flags.proxy.strip():
        return None, ()  # --proxy '': no proxy at all, whatever the environment says
    try:
        explicit = None if flags.proxy is None else _usable_proxy(flags.proxy.strip())
    except ValueError as error:
        raise UsageError(f"--proxy: {error}") from None
    found = environment_proxies()
    for scheme, proxy in found:
        if explicit is None and scheme in ("http", "https"):
            try:
                _usable_proxy(proxy)
            except ValueError as error:
                raise UsageError(f"{scheme.upper()}_PROXY: {error}") from None
    return explicit, found


def network_settings(
    url: str, flags: ConnectionFlags, environ: Mapping[str, str]
) -> tuple[NetworkSettings, tuple[str, ...]]:
    """The settings, and warnings to print before connecting."""
    from .options import parse_header

    if flags.token is not None and flags.token_file is not None:
        raise UsageError("--token and --token-file exclude each other")
    token: str | Callable[[], str] | None
    if flags.token_file is not None:
        read_token_file(flags.token_file)  # unreadable: exit 2 now, not mid-connect
        token = token_file_reader(flags.token_file)
    elif flags.token and flags.token.strip():
        # Stripped as a token file's is: "Bearer " and a blank is no header to send.
        token = _sendable(flags.token.strip(), "--token")
    else:
        token = _sendable((environ.get("HUBCLI_TOKEN") or "").strip(), "HUBCLI_TOKEN") or None
    cookies, cookie_entries = _cookies(flags.cookie or [])
    proxy, environment = _proxies(flags)
    headers = tuple(parse_header(text) for text in flags.header or ())
    try:
        settings = NetworkSettings(
            headers=headers,
            cookies=cookies,
            cookie_jar_entries=cookie_entries,
            access_token=token,
            token_in_query=flags.token_in_query,
            ssl_context=_ssl_context(url, flags),
            proxy=proxy,
            environment_proxies=environment,
        )
    except ValueError as error:  # a cookie from a cookie file that cannot be sent
        raise UsageError(str(error)) from None
    warnings: tuple[str, ...] = ()
    if flags.insecure:
        secure = url.lower().startswith(("https://", "wss://"))
        warnings = (INSECURE_WARNING if secure else insecure_unused(url),)
    return settings, warnings
