"""`hubcli serve`: run the built-in hub.

Only typer is imported here; the server (hypercorn, the hub) is imported inside the
command, so the client commands do not pay for it at start-up.
"""

from __future__ import annotations

import enum
import math
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from .app import app
from .errors import UsageError
from .exit_codes import ExitCode
from .helptext import Command, epilog
from .options import finite_seconds, verbose_option

if TYPE_CHECKING:
    from hubcli.server.hubspec import HubSpec
    from hubcli.server.options import TransportName

SERVE_HELP = """Run the built-in SignalR hub (JSON and MessagePack; WebSockets, Server-Sent
Events and Long Polling), faithful to ASP.NET Core SignalR.

The first line on stdout is the hub URL, e.g. http://127.0.0.1:5000/hub (with
--port 0 the port is picked free). Logs go to stderr (-v: connection events,
-vv: debug). SIGINT or SIGTERM stop it: every connection gets Close
(allowReconnect: true), exit status 0. --list-methods documents the hub methods.

Endpoints under PATH: PATH/negotiate, PATH (transports), and redirect endpoints
PATH/redirect/negotiate and PATH/redirect/N/negotiate, which answer
{"url", "accessToken"} pointing at the hub through N hops, like Azure SignalR
Service; the hub accepts the access tokens they hand out. Each --hub maps the
same hub (methods, connections, groups, users) at another path, as an app maps
one hub class several times, e.g. --hub '/nows:transports=sse+longpolling'
--hub '/secure:authorize=yes'; a --hub naming PATH sets its settings. Paths
match case-insensitively. /redirect[/...]?baseUrl=URL answers negotiate with
URL's PATH and numRedirects counting every redirect since the start.

Stateful reconnect is off unless --allow-stateful-reconnect: then a client that
asks for it at negotiate and shakes hands with version 2 over WebSockets may
lose its socket and resume with the same id within --disconnect-timeout,
getting every unacknowledged message again.

A chaos hub to aim clients at: --chaos puts a TCP relay in front of the hub, so
DropTransport, DropConnection and ResumableCounter can reset the caller's
connection as a network fault does (no Close message, no close frame); each
--fault makes every connection meet one fault: negotiate-500, negotiate-404,
negotiate-html, negotiate-slow[=SECONDS] (default 10), handshake-reject,
handshake-garbage, handshake-silent, silent[=SECONDS] (the hub stops sending,
pings included, and acting on what it gets SECONDS after the handshake),
drop-transport[=SECONDS] (with --chaos: every SECONDS, default 5, each
connection's TCP connection is cut)."""


# The sections of serve --help (helptext.Command shows rich_help_panel).
HUB = "Hub"
TLS = "TLS"
LIMITS = "Limits"
STATEFUL = "Stateful reconnect"
TEST_AIDS = "Test aids"


def _transports(value: str) -> tuple[TransportName, ...]:
    from hubcli.protocol.negotiate import TRANSPORT_WORDS, TransportName, transport_named

    words = [part for part in value.split(",") if part.strip()]
    chosen = {transport_named(word) for word in words}
    if None in chosen or not chosen:
        raise typer.BadParameter(
            f"expected a comma-separated list of {', '.join(TRANSPORT_WORDS)}; got {value!r}",
            param_hint="--transports",
        )
    # Negotiate lists transports in the server's fixed order, whatever the flag's.
    return tuple(t for t in TransportName if t in chosen)


class JsonNaming(enum.StrEnum):
    CAMEL = "camel"
    PASCAL = "pascal"


def _hub_specs(values: list[str]) -> tuple[HubSpec, ...]:
    from hubcli.server.hubspec import parse_hub_spec

    try:
        return tuple(parse_hub_spec(value) for value in values)
    except ValueError as error:
        raise typer.BadParameter(str(error), param_hint="--hub") from None


def _check_tls_files(cert: Path, key: Path, client_ca: Path | None) -> None:
    """The TLS files load, checked before serving: what is wrong with them is bad
    input (exit 2), not a port that cannot be listened on."""
    import ssl

    from .files import TLS_FILE_LIMIT, check_regular

    named = [("--tls-cert", cert), ("--tls-key", key), ("--tls-client-ca", client_ca)]
    for flag, path in named:
        if path is not None:
            check_regular(f"{flag} {path}", str(path), TLS_FILE_LIMIT)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    try:
        context.load_cert_chain(cert, key)
        if client_ca is not None:
            context.load_verify_locations(client_ca)
    except (OSError, ssl.SSLError) as error:
        files = " ".join(f"{flag} {path}" for flag, path in named if path is not None)
        if isinstance(error, ssl.SSLError):
            # OpenSSL's "[SSL] PEM lib (_ssl.c:3905)" says only that loading failed.
            reason = "not a PEM certificate with its private key"
            if error.reason and error.reason != "PEM_LIB":
                reason = str(error.reason)
        else:
            reason = error.strerror or str(error)
        raise UsageError(
            f"cannot use {files}: {reason}",
            hint="PEM files: the certificate, its private key, and a CA bundle",
        ) from None


@app.command(
    "serve",
    help=SERVE_HELP,
    short_help="Run the built-in SignalR hub (for tests, demos and CI).",
    no_args_is_help=False,
    cls=Command,
    epilog=epilog("serve"),
)
def serve(
    ctx: typer.Context,
    *,
    host: Annotated[
        str,
        typer.Option(
            "--host", rich_help_panel=HUB, metavar="ADDRESS", help="Address to listen on."
        ),
    ] = "127.0.0.1",
    port: Annotated[
        int,
        typer.Option(
            "--port",
            rich_help_panel=HUB,
            min=0,
            max=65535,
            metavar="PORT",
            help="TCP port; 0 picks a free one.",
        ),
    ] = 5000,
    path: Annotated[
        str,
        typer.Option("--path", rich_help_panel=HUB, metavar="PATH", help="URL path of the hub."),
    ] = "/hub",
    transports: Annotated[
        str,
        typer.Option(
            "--transports",
            rich_help_panel=HUB,
            metavar="LIST",
            help="Transports to offer, comma-separated: websockets, sse, longpolling.",
        ),
    ] = "websockets,sse,longpolling",
    hub: Annotated[
        list[str] | None,
        typer.Option(
            "--hub",
            rich_help_panel=HUB,
            metavar="PATH[:SETTINGS]",
            help="Also serve the hub at PATH (repeatable; the --path one takes its "
            "settings from a --hub naming it). SETTINGS, comma-separated: "
            "transports=websockets+sse+longpolling, authorize=yes|no.",
        ),
    ] = None,
    require_token: Annotated[
        str | None,
        typer.Option(
            "--require-token",
            rich_help_panel=HUB,
            metavar="TOKEN",
            help="Answer 401 to negotiate and connect requests without "
            "'Authorization: Bearer TOKEN' or '?access_token=TOKEN'.",
        ),
    ] = None,
    jwt_key: Annotated[
        str | None,
        typer.Option(
            "--jwt-key",
            rich_help_panel=HUB,
            metavar="KEY",
            help="Require a JWT signed HS256 with KEY (Authorization: Bearer, or "
            "?access_token=); its sub or nameid claim is the user. GET "
            "/generateJwtToken?user=NAME&seconds=N mints one.",
        ),
    ] = None,
    tls_cert: Annotated[
        Path | None,
        typer.Option(
            "--tls-cert",
            rich_help_panel=TLS,
            metavar="FILE",
            help="PEM certificate: serve https:// and wss://.",
        ),
    ] = None,
    tls_key: Annotated[
        Path | None,
        typer.Option(
            "--tls-key", rich_help_panel=TLS, metavar="FILE", help="PEM private key of --tls-cert."
        ),
    ] = None,
    tls_client_ca: Annotated[
        Path | None,
        typer.Option(
            "--tls-client-ca",
            rich_help_panel=TLS,
            metavar="FILE",
            help="Require a client certificate signed by a CA in FILE (PEM; needs --tls-cert).",
        ),
    ] = None,
    http_port: Annotated[
        int | None,
        typer.Option(
            "--http-port",
            rich_help_panel=TLS,
            min=0,
            max=65535,
            metavar="PORT",
            help="Also serve plain HTTP on PORT (0: a free one; needs --tls-cert); its "
            "hub URL is the second line on stdout.",
        ),
    ] = None,
    sticky_cookie: Annotated[
        str | None,
        typer.Option(
            "--sticky-cookie",
            rich_help_panel=TEST_AIDS,
            metavar="NAME=VALUE",
            help="Act like a load balancer with sticky sessions: negotiate sets this "
            "cookie, and a transport request without it is answered as by a node that "
            "does not know the connection (404).",
        ),
    ] = None,
    set_cookie: Annotated[
        list[str] | None,
        typer.Option(
            "--set-cookie",
            rich_help_panel=HUB,
            metavar="COOKIE",
            help="Add 'Set-Cookie: COOKIE' to every negotiate answer (repeatable), "
            "e.g. 'session=abc; Path=/' or an expired one to check clients drop it.",
        ),
    ] = None,
    break_websockets: Annotated[
        bool,
        typer.Option(
            "--break-websockets",
            rich_help_panel=TEST_AIDS,
            help="Test aid: offer WebSockets but refuse every upgrade (503), like a "
            "proxy that blocks them, so clients must fall back.",
        ),
    ] = False,
    keepalive: Annotated[
        float,
        typer.Option(
            "--keepalive",
            rich_help_panel=LIMITS,
            min=0.0,
            metavar="SECONDS",
            callback=finite_seconds,
            help="Ping after this long without sending (0: never).",
        ),
    ] = 15.0,
    client_timeout: Annotated[
        float,
        typer.Option(
            "--client-timeout",
            rich_help_panel=LIMITS,
            min=0.0,
            metavar="SECONDS",
            callback=finite_seconds,
            help="Drop a client (once it has pinged) after this long without a message (0: never).",
        ),
    ] = 30.0,
    handshake_timeout: Annotated[
        float,
        typer.Option(
            "--handshake-timeout",
            rich_help_panel=LIMITS,
            min=0.0,
            metavar="SECONDS",
            callback=finite_seconds,
            help="Time allowed for the handshake (0: no limit).",
        ),
    ] = 15.0,
    max_message_size: Annotated[
        int,
        typer.Option(
            "--max-message-size",
            rich_help_panel=LIMITS,
            min=0,
            metavar="BYTES",
            help="Largest incoming hub message (handshake included); 0: no limit.",
        ),
    ] = 32768,
    detailed_errors: Annotated[
        bool,
        typer.Option(
            "--detailed-errors",
            rich_help_panel=TEST_AIDS,
            help="Add exception type and message to error texts (EnableDetailedErrors).",
        ),
    ] = False,
    json_naming: Annotated[
        JsonNaming,
        typer.Option(
            "--json-naming",
            rich_help_panel=HUB,
            case_sensitive=False,
            help="Property names of the hub's typed objects in JSON: camel (ASP.NET "
            "Core's default) or pascal (PropertyNamingPolicy = null). MessagePack "
            "always uses pascal.",
        ),
    ] = JsonNaming.CAMEL,
    stream_delay_ms: Annotated[
        int,
        typer.Option(
            "--stream-delay-ms",
            rich_help_panel=TEST_AIDS,
            min=0,
            metavar="MS",
            help="Pause between TriggerStream items.",
        ),
    ] = 250,
    long_poll_timeout: Annotated[
        float,
        typer.Option(
            "--long-poll-timeout",
            rich_help_panel=LIMITS,
            min=0.0,
            metavar="SECONDS",
            callback=finite_seconds,
            help="A long poll without data answers 200 empty after this long (0: it waits "
            "for data).",
        ),
    ] = 90.0,
    disconnect_timeout: Annotated[
        float,
        typer.Option(
            "--disconnect-timeout",
            rich_help_panel=LIMITS,
            min=0.0,
            metavar="SECONDS",
            callback=finite_seconds,
            help="Drop a negotiated or long polling connection unused for this long, "
            "and a stateful one whose WebSocket was lost and not resumed (0: never).",
        ),
    ] = 15.0,
    allow_stateful_reconnect: Annotated[
        bool,
        typer.Option(
            "--allow-stateful-reconnect",
            rich_help_panel=STATEFUL,
            help="Grant stateful reconnect to clients that ask for it (AllowStatefulReconnects).",
        ),
    ] = False,
    stateful_reconnect_buffer_size: Annotated[
        int,
        typer.Option(
            "--stateful-reconnect-buffer-size",
            rich_help_panel=STATEFUL,
            min=0,
            metavar="BYTES",
            help="Unacknowledged bytes kept per stateful connection before writes "
            "wait for the client's Ack.",
        ),
    ] = 100_000,
    chaos: Annotated[
        bool,
        typer.Option(
            "--chaos",
            rich_help_panel=TEST_AIDS,
            help="Relay every TCP connection, so DropTransport, DropConnection and "
            "ResumableCounter can reset the caller's connection.",
        ),
    ] = False,
    fault: Annotated[
        list[str] | None,
        typer.Option(
            "--fault",
            rich_help_panel=TEST_AIDS,
            metavar="NAME[=SECONDS]",
            help="Make every connection meet this fault (repeatable); the names are listed above.",
        ),
    ] = None,
    list_methods: Annotated[
        bool,
        typer.Option("--list-methods", help="Print every hub method with its signature and exit."),
    ] = False,
    verbose: Annotated[int, verbose_option("Log connection events (-vv: debug) on stderr.")] = 0,
) -> None:
    from .combinations import check_combinations
    from .errors import report

    try:
        check_combinations("serve", ctx)
    except UsageError as error:
        report(str(error), error.hint)
        raise typer.Exit(ExitCode.USAGE) from None
    if list_methods:
        from hubcli.server.methods import describe_methods

        typer.echo(describe_methods())
        raise typer.Exit()
    if (tls_cert is None) != (tls_key is None):
        raise typer.BadParameter("--tls-cert and --tls-key go together", param_hint="--tls-cert")
    if tls_client_ca is not None and tls_cert is None:
        raise typer.BadParameter("needs --tls-cert", param_hint="--tls-client-ca")
    if http_port is not None and tls_cert is None:
        raise typer.BadParameter("needs --tls-cert", param_hint="--http-port")
    if jwt_key is not None:
        from hubcli.server.options import jwt_key_problem

        if (problem := jwt_key_problem(jwt_key)) is not None:
            raise typer.BadParameter(problem, param_hint="--jwt-key")
    if tls_cert is not None and tls_key is not None:
        try:
            _check_tls_files(tls_cert, tls_key, tls_client_ca)
        except UsageError as error:
            report(str(error), error.hint)
            raise typer.Exit(ExitCode.USAGE) from None
    cookie: tuple[str, str] | None = None
    if sticky_cookie is not None:
        name, separator, value = sticky_cookie.partition("=")
        if not separator or not name.strip():
            raise typer.BadParameter("expected NAME=VALUE", param_hint="--sticky-cookie")
        cookie = (name.strip(), value.strip())
    from hubcli.server import ServerOptions, UrlNotWritten, run_server
    from hubcli.server.faults import parse_faults
    from hubcli.server.options import cookie_problem

    for value in set_cookie or ():
        if (problem := cookie_problem(value)) is not None:
            raise typer.BadParameter(problem, param_hint="--set-cookie")

    try:
        faults = parse_faults(fault or [])
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--fault") from None
    if faults.drop_every is not None and not chaos:
        raise typer.BadParameter("drop-transport needs --chaos", param_hint="--fault")

    try:
        options = ServerOptions(
            host=host,
            port=port,
            path=path,
            transports=_transports(transports),
            hubs=_hub_specs(hub or []),
            json_naming=json_naming.value,
            require_token=require_token,
            jwt_key=jwt_key,
            tls_cert=str(tls_cert) if tls_cert else None,
            tls_key=str(tls_key) if tls_key else None,
            tls_client_ca=str(tls_client_ca) if tls_client_ca else None,
            http_port=http_port,
            sticky_cookie=cookie,
            negotiate_cookies=tuple(set_cookie or ()),
            break_websockets=break_websockets,
            # The server takes every limit as a number of seconds: 0's "no limit" is inf.
            keepalive=keepalive or math.inf,
            client_timeout=client_timeout or math.inf,
            handshake_timeout=handshake_timeout or math.inf,
            max_message_size=max_message_size or None,
            detailed_errors=detailed_errors,
            stream_delay_ms=stream_delay_ms,
            long_poll_timeout=long_poll_timeout or math.inf,
            disconnect_timeout=disconnect_timeout or math.inf,
            allow_stateful_reconnect=allow_stateful_reconnect,
            stateful_reconnect_buffer_size=stateful_reconnect_buffer_size,
            chaos=chaos,
            faults=faults,
            verbose=verbose,
        )
    except ValueError as error:
        # The other settings were checked above; the hubs' together only here.
        raise typer.BadParameter(str(error).removeprefix("hubs: "), param_hint="--hub") from None
    from .startup import resume_collector

    resume_collector()
    try:
        run_server(options)
    except UrlNotWritten as exc:
        report(
            f"cannot write the hub URL to stdout: {exc}",
            "serve prints its URL there first; redirect it, e.g. > url.txt",
        )
        raise typer.Exit(ExitCode.USAGE) from None
    except OSError as exc:
        report(f"cannot serve on {host}:{port}: {exc.strerror or exc}", "is --port in use?")
        raise typer.Exit(ExitCode.CONNECT_FAILED) from None
