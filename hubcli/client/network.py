"""How every request of a connection reaches the server: one settings object.

`NetworkSettings` is built once (by the CLI from its flags, or by `connect()` from
its keyword arguments) and is frozen: headers, cookies, the access token, TLS and
proxies. `HttpState` is what one connection learns on its way (cookies the server
set, a redirect's access token) and hands to negotiate and to whichever transport
it opens, so they all send the same credentials through the same proxy with the
same TLS context.

The heavier stdlib pieces (cookie jars, urllib's proxy helpers) are imported only
when a connection has cookies or proxies to deal with: a plain `hubcli invoke`
should not pay for them at start-up.
"""

from __future__ import annotations

import inspect
import os
import re
import ssl
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Final
from urllib.parse import urlsplit

from hubcli import __version__
from hubcli.errors import InvalidArgumentError

if TYPE_CHECKING:
    from http.cookiejar import Cookie, CookieJar

TokenFactory = Callable[[], str | Awaitable[str | None] | None]
"""Called for every negotiate (and again after a 401): the bearer token to send."""

AccessToken = str | TokenFactory | None

USER_AGENT: Final = f"hubcli/{__version__}"
_HEADER_NAME: Final = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")  # RFC 9110 token
_HEADER_VALUE: Final = re.compile(r"[\t\x20-\x7e]*")  # visible ASCII, space and tab
# Written by the HTTP and WebSocket libraries from the request itself.
_FRAMING_HEADERS: Final = frozenset(
    {
        "content-length",
        "transfer-encoding",
        "connection",
        "upgrade",
        "keep-alive",
        "proxy-connection",
        "te",
        "trailer",
        "expect",
    }
)
DEFAULT_REQUEST_TIMEOUT: Final = 100.0  # the official clients' HTTP timeout
_HTTP_SCHEMES: Final = {"ws": "http", "wss": "https", "http": "http", "https": "https"}


def http_url(url: str) -> str:
    """The http(s) form of a URL (ws:// -> http://), as cookies and proxies see it."""
    scheme, separator, rest = url.partition("://")
    return f"{_HTTP_SCHEMES.get(scheme.lower(), scheme)}{separator}{rest}"


def display_url(url: str) -> str:
    """`url` fit for a message: without credentials or query (tokens travel there)."""
    parts = urlsplit(url)
    return parts._replace(netloc=parts.netloc.rpartition("@")[2], query="", fragment="").geturl()


def tls_context(
    cafile: str | None = None,
    certfile: str | None = None,
    keyfile: str | None = None,
    *,
    insecure: bool = False,
) -> ssl.SSLContext:
    """A client TLS context: the system trust store, or `cafile` instead of it.

    `certfile`/`keyfile` are a client certificate, PEM, the key unencrypted;
    `insecure` turns verification off (the certificate and the host name are no
    longer checked). Raises OSError or ssl.SSLError when a file cannot be used,
    InvalidArgumentError when the certificate or its key is not what it should be.
    """
    context = ssl.create_default_context(cafile=cafile)
    if certfile is not None:
        _load_client_certificate(context, certfile, keyfile)
    if insecure:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    # HTTP/1.1 only: WebSockets over HTTP/2 is not what SignalR servers speak.
    context.set_alpn_protocols(["http/1.1"])
    return context


class _EncryptedKey(Exception):
    pass


def _no_password() -> str:
    # Without a callback OpenSSL would prompt on the terminal, in the middle of a pipeline.
    raise _EncryptedKey


_PEM_PEEK: Final = 1024 * 1024


def _pem_labels(path: str) -> str:
    with open(path, "rb") as file:
        return file.read(_PEM_PEEK).decode("latin-1")


def _load_client_certificate(context: ssl.SSLContext, certfile: str, keyfile: str | None) -> None:
    key_source = keyfile or certfile
    try:
        context.load_cert_chain(certfile, keyfile, password=_no_password)
    except _EncryptedKey:
        raise InvalidArgumentError(
            f"the private key in {key_source} is encrypted; hubcli reads unencrypted keys "
            "only (openssl pkey -in KEY -out PLAIN writes one)"
        ) from None
    except ssl.SSLError as error:
        # OpenSSL's "[SSL] PEM lib" does not say which file, nor what is wrong with it.
        if "KEY_VALUES_MISMATCH" in str(error):
            reason = f"the private key in {key_source} does not belong to the certificate"
        elif "BEGIN CERTIFICATE" not in _pem_labels(certfile):
            reason = f"{certfile} holds no PEM certificate (-----BEGIN CERTIFICATE-----)"
        elif "PRIVATE KEY-----" not in _pem_labels(key_source):
            reason = (
                f"{key_source} holds no PEM private key"
                if keyfile
                else f"{certfile} holds no private key: give its key with --key"
            )
        else:
            reason = f"OpenSSL cannot read it: {error.reason or error}"
        raise InvalidArgumentError(reason) from None


def environment_proxies() -> tuple[tuple[str, str], ...]:
    """HTTP_PROXY, HTTPS_PROXY, NO_PROXY (either case), read once: ((scheme, url), ...).

    The entry "no" holds NO_PROXY. Empty when none is set, without importing urllib.
    """
    if not any(name.lower().endswith("_proxy") for name in os.environ):
        return ()
    from urllib.request import getproxies_environment

    return tuple(sorted((scheme, url) for scheme, url in getproxies_environment().items() if url))


def check_proxy_url(proxy: str) -> str:
    """The proxy URL with a scheme; InvalidArgumentError for one hubcli cannot use."""
    if "://" not in proxy:
        proxy = f"http://{proxy}"
    try:
        parts = urlsplit(proxy)
        parts.port  # noqa: B018 - raises ValueError for a port out of range
    except ValueError as error:  # "Port out of range 0-65535", "Invalid IPv6 URL"
        reason = str(error)
        raise InvalidArgumentError(
            f"invalid proxy {proxy!r}: {reason[:1].lower()}{reason[1:]}"
        ) from None
    if parts.scheme.lower() != "http" or not parts.hostname:
        raise InvalidArgumentError(
            f"unsupported proxy {proxy!r}: only http://HOST:PORT proxies are supported"
        )
    return proxy


def header_name_problem(name: str) -> str | None:
    """Why `name` cannot be an HTTP header's name, or None if it can."""
    if _HEADER_NAME.fullmatch(name) is None:
        return "not a valid header name"
    return None


def header_refusal(name: str, value: str) -> str | None:
    """Why a user's header `name: value` cannot be sent as the user means it, or None.

    The HTTP and WebSocket libraries write the message's framing and the WebSocket
    handshake from the request itself: a header of the user's there would
    contradict them on the wire. An empty value removes a header hubcli sets,
    which HTTP/1.1 does not allow for Host.
    """
    lower = name.lower()
    if lower in _FRAMING_HEADERS or lower.startswith("sec-websocket-"):
        return (
            "it is part of the HTTP framing or of the WebSocket handshake, which hubcli "
            "writes itself"
        )
    if lower == "host" and not value:
        return "HTTP/1.1 requests must carry one; give -H 'Host: NAME' to replace it"
    return None


def header_value_problem(value: str) -> str | None:
    """Why `value` cannot go in an HTTP header as it is, or None if it can.

    Checked before connecting: the HTTP and WebSocket libraries would refuse it
    half-way, with errors that name neither the header nor the reason.
    """
    if _HEADER_VALUE.fullmatch(value) is not None:
        return None
    if not value.isascii():
        return "it has non-ASCII characters (HTTP headers carry ASCII only; percent-encode it)"
    return "it has a control character (such as CR or LF)"


def parse_cookie_string(text: str) -> tuple[tuple[str, str], ...]:
    """'name=value; other=v' -> (("name", "value"), ("other", "v")).

    InvalidArgumentError if malformed.
    """
    pairs = []
    for part in text.split(";"):
        if not part.strip():
            continue
        name, separator, value = part.partition("=")
        name = name.strip()
        if not separator or not name:
            raise InvalidArgumentError(f"invalid cookie {part.strip()!r}: expected name=value")
        problem = header_value_problem(part.strip())
        if problem is not None:
            raise InvalidArgumentError(f"invalid cookie {name!r}: {problem}")
        pairs.append((name, value.strip()))
    return tuple(pairs)


@dataclass(frozen=True, slots=True)
class NetworkSettings:
    """Everything about reaching the server that does not change during a run."""

    headers: tuple[tuple[str, str], ...] = ()
    # Cookies sent to the hub's host from the start (as if it had set them).
    cookies: tuple[tuple[str, str], ...] = ()
    # Cookies loaded from a cookie file, each with its own domain and path.
    cookie_jar_entries: tuple[Cookie, ...] = ()
    access_token: AccessToken = None
    token_in_query: bool = False
    # None: the system trust store, in a context made on the first https request.
    ssl_context: ssl.SSLContext | None = None
    # An explicit proxy for every request; it wins over the environment's.
    proxy: str | None = None
    environment_proxies: tuple[tuple[str, str], ...] = field(default=())
    request_timeout: float = DEFAULT_REQUEST_TIMEOUT

    def __post_init__(self) -> None:
        # InvalidArgumentError now rather than a refusal deep inside a request later.
        for name, value in self.headers:
            problem = header_name_problem(name) or header_value_problem(value)
            if problem is not None:
                raise InvalidArgumentError(f"invalid header {name!r}: {problem}")
            refusal = header_refusal(name, value)
            if refusal is not None:
                raise InvalidArgumentError(f"the header {name!r} cannot be sent: {refusal}")
        if sum(name.lower() == "host" for name, _ in self.headers) > 1:
            raise InvalidArgumentError("the header 'Host' cannot be sent: it is given twice")
        cookies = [*self.cookies, *((c.name, c.value or "") for c in self.cookie_jar_entries)]
        for name, value in cookies:
            problem = header_value_problem(f"{name}={value}")
            if problem is not None:
                raise InvalidArgumentError(f"invalid cookie {name!r}: {problem}")
        if isinstance(self.access_token, str):
            check_token(self.access_token)

    def proxy_for(self, url: str) -> str | None:
        """The proxy to reach `url` through, or None to go direct.

        NO_PROXY applies to an explicit proxy too, as it does in curl.
        """
        proxies = dict(self.environment_proxies)
        if "no" in proxies:
            import urllib.request

            host = urlsplit(http_url(url)).netloc.rpartition("@")[2]
            # Not in typeshed, but documented behaviour since Python 3.3 (NO_PROXY rules).
            if urllib.request.proxy_bypass_environment(host, proxies):  # type: ignore[attr-defined]
                return None
        if self.proxy is not None:
            return self.proxy
        return proxies.get(urlsplit(http_url(url)).scheme.lower())


def check_token(token: str, source: str = "the access token") -> str:
    """`token`, or InvalidArgumentError if it cannot go in an Authorization header."""
    problem = header_value_problem(token)
    if problem is not None:
        raise InvalidArgumentError(f"{source} cannot be sent: {problem}")
    return token


class HttpState:
    """One connection's credentials and cookies, shared by all its requests."""

    def __init__(self, settings: NetworkSettings, hub_url: str) -> None:
        self.settings = settings
        self._hub_url = http_url(hub_url)
        self._jar: CookieJar | None = None
        self._ssl_context = settings.ssl_context
        self._redirect_token: str | None = None
        self._token: str | None = None

    # ------------------------------------------------------------------ TLS

    def ssl_context(self) -> ssl.SSLContext:
        """The connection's one TLS context (the system store unless configured)."""
        if self._ssl_context is None:
            self._ssl_context = tls_context()
        return self._ssl_context

    def ssl_context_if_made(self) -> ssl.SSLContext | None:
        return self._ssl_context

    # ---------------------------------------------------------------- tokens

    @property
    def uses_redirect_token(self) -> bool:
        return self._redirect_token is not None

    def use_redirect_token(self, token: str) -> None:
        """A negotiate redirect's token replaces the user's credentials from now on."""
        self._redirect_token = token
        self._token = token

    @property
    def token(self) -> str | None:
        """The bearer token the last `refresh_token` settled on."""
        return self._token

    @property
    def can_refresh_token(self) -> bool:
        return self._redirect_token is None and callable(self.settings.access_token)

    async def refresh_token(self) -> str | None:
        """Ask the token factory again (a static token stays as it is)."""
        if self._redirect_token is not None:
            return self._token
        source = self.settings.access_token
        if callable(source):
            value = source()
            if inspect.isawaitable(value):
                value = await value
            self._token = check_token(value) if value else None
        else:
            self._token = source or None
        return self._token

    def _user_authorization(self) -> bool:
        return any(name.lower() == "authorization" for name, _ in self.settings.headers)

    def sends_bearer(self) -> bool:
        """Whether `Authorization: Bearer <token>` goes out (an explicit header wins)."""
        if self._token is None:
            return False
        return self._redirect_token is not None or not self._user_authorization()

    def user_headers(self) -> list[tuple[str, str]]:
        """The user's headers, to replace those of the same name hubcli sets itself;
        an empty value removes one. A redirect's token replaces an explicit
        Authorization header."""
        return [
            (name, value)
            for name, value in self.settings.headers
            if not (self._redirect_token is not None and name.lower() == "authorization")
        ]

    def overrides(self, name: str) -> bool:
        """Whether the user's headers set or remove `name`."""
        return any(key.lower() == name.lower() for key, _ in self.user_headers())

    def host_header(self) -> str | None:
        """The user's Host header, if one replaces the URL's host."""
        return next((v for k, v in self.user_headers() if k.lower() == "host"), None)

    def headers(self, *, bearer: bool = True) -> list[tuple[str, str]]:
        """The headers to add to a request: the user's (Host and removals aside), the
        User-Agent, and the bearer token where it applies."""
        headers = [
            (name, value) for name, value in self.user_headers() if value and name.lower() != "host"
        ]
        if not self.overrides("user-agent"):
            headers.append(("User-Agent", USER_AGENT))
        if bearer and self.sends_bearer():
            headers.append(("Authorization", f"Bearer {self._token}"))
        return headers

    def transport_url(self, url: str) -> str:
        """`url` plus `access_token=` when the token should travel in the query."""
        if not self.settings.token_in_query or self._token is None:
            return url
        from urllib.parse import quote

        joiner = "&" if urlsplit(url).query else "?"
        return f"{url}{joiner}access_token={quote(self._token, safe='')}"

    # --------------------------------------------------------------- cookies

    @property
    def has_cookies(self) -> bool:
        return self._jar is not None or bool(
            self.settings.cookies or self.settings.cookie_jar_entries
        )

    def cookie_jar(self) -> CookieJar:
        """The connection's cookie jar (made, and seeded with the user's, on first use)."""
        if self._jar is None:
            from http.cookiejar import CookieJar

            jar = CookieJar()
            for cookie in self.settings.cookie_jar_entries:
                jar.set_cookie(cookie)
            if self.settings.cookies:
                domain = _cookie_domain(self._hub_url)
                for name, value in self.settings.cookies:
                    jar.set_cookie(_host_cookie(name, value, domain))
            self._jar = jar
        return self._jar

    def cookie_header(self, url: str) -> str | None:
        """The Cookie header the jar has for `url` (http, https, ws or wss)."""
        if not self.has_cookies:
            return None
        from urllib.request import Request

        request = Request(http_url(url))
        self.cookie_jar().add_cookie_header(request)
        return request.get_header("Cookie")


def _cookie_domain(url: str) -> str:
    import http.cookiejar
    from urllib.request import Request

    # The jar's own idea of the host a cookie set by `url` belongs to.
    effective: tuple[str, str] = http.cookiejar.eff_request_host(Request(url))  # type: ignore[attr-defined]
    return effective[1]


def _host_cookie(name: str, value: str, domain: str) -> Cookie:
    from http.cookiejar import Cookie

    return Cookie(
        version=0,
        name=name,
        value=value,
        port=None,
        port_specified=False,
        domain=domain,
        domain_specified=False,
        domain_initial_dot=False,
        path="/",
        path_specified=True,
        secure=False,
        expires=None,
        discard=True,
        comment=None,
        comment_url=None,
        rest={},
    )


def load_cookie_file(path: str) -> tuple[Cookie, ...]:
    """Cookies of a Netscape/Mozilla cookie file (curl -c writes one); OSError if unusable."""
    from http.cookiejar import LoadError, MozillaCookieJar

    jar = MozillaCookieJar(path)
    try:
        jar.load(ignore_discard=True, ignore_expires=True)
    except LoadError as error:
        raise OSError(f"not a cookie file: {error}") from None
    cookies = tuple(jar)
    for cookie in cookies:
        if cookie.expires == 0:
            # curl writes 0 for a session cookie; the stdlib reads it as long expired.
            cookie.expires = None
            cookie.discard = True
    return cookies
