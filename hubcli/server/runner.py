"""Running the hub: the TCP front (front.py) on the public socket, serving
WebSockets itself and relaying the rest to hypercorn's trio worker serving HubApp
on a loopback port, and its clean stop.

`serve()` is the structured-concurrency entry point (start it with nursery.start;
it reports the URL it serves). `run_server()` is the process entry point of
`hubcli serve`: first stdout line the URL, SIGINT/SIGTERM stop it gracefully, every
connection getting a Close message (allowReconnect: true) first.
"""

from __future__ import annotations

import logging
import signal
import sys
from dataclasses import replace
from functools import partial
from typing import IO, Any, cast

import trio

from hubcli._defaults import SERVER_STRAGGLER_SECONDS
from hubcli._groups import sole_exception

from .app import HubApp
from .front import Settings
from .options import ServerOptions

log = logging.getLogger("hubcli.server")


class UrlNotWritten(Exception):
    """stdout could not take the URL line: it is closed, or its reader is gone."""


# Room for several maximum-size hub messages in one frame, at least hypercorn's default.
_MIN_WEBSOCKET_FRAME = 16 * 1024 * 1024


def _bind_address(host: str, port: int) -> str:
    if ":" in host and not host.startswith("["):
        host = f"[{host}]"
    return f"{host}:{port}"


# hypercorn serves the front only, from a loopback port of its own.
_BEHIND_FRONT = ("127.0.0.1", 0)


def _hypercorn_config(options: ServerOptions) -> Any:
    from hypercorn.config import Config

    config = Config()
    config.bind = [_bind_address(*_BEHIND_FRONT)]
    config.include_server_header = False
    config.accesslog = None
    config.loglevel = "INFO" if options.verbose >= 2 else "WARNING"
    config.graceful_timeout = SERVER_STRAGGLER_SECONDS
    limit = options.max_message_size or 0
    config.websocket_max_message_size = max(_MIN_WEBSOCKET_FRAME, 4 * limit)
    if options.tls_cert is not None:
        config.certfile = options.tls_cert
        config.keyfile = options.tls_key
        # WebSockets over HTTP/2 is not what SignalR clients speak.
        config.alpn_protocols = ["http/1.1"]
        if options.tls_client_ca is not None:
            import ssl

            config.ca_certs = options.tls_client_ca
            config.verify_mode = ssl.CERT_REQUIRED
    return config


def _front_settings(config: Any, options: ServerOptions) -> Settings:
    """What the front needs; the config's TLS (if any) moves to the front, made by
    hypercorn's own create_ssl_context so the same options mean the same."""
    ssl_context = config.create_ssl_context()
    config.certfile = config.keyfile = config.ca_certs = None
    return Settings(
        upstream=(_BEHIND_FRONT[0], 0),
        ssl_context=ssl_context,
        max_frame=config.websocket_max_message_size,
        close_timeout=options.websocket_close_timeout,
        head_timeout=config.keep_alive_timeout,
        handshake_timeout=config.ssl_handshake_timeout,
        max_head=config.h11_max_incomplete_size,
    )


async def serve(
    options: ServerOptions,
    *,
    stop: trio.Event | None = None,
    app: HubApp | None = None,
    task_status: trio.TaskStatus[str] = trio.TASK_STATUS_IGNORED,
) -> None:
    """Serve the hub until `stop` is set (then shut down gracefully) or cancelled.

    Reports the hub URL (e.g. http://127.0.0.1:41234/hub) through task_status.
    `app` lets a caller (a test) keep a handle on the hub's state.
    """
    from hypercorn.trio import serve as hypercorn_serve

    from .reasons import add_reason_phrases

    add_reason_phrases()
    app = app or HubApp(options)
    config = _hypercorn_config(options)
    settings = _front_settings(config, options)
    shutdown = trio.Event()
    # Nurseries inside out: the HTTP server, the front before it, and the hubs (with
    # connection watchdogs), which outlive both by a little, so they can still send
    # Close while hypercorn drains its requests.
    async with trio.open_nursery() as hubs:
        app.attach(hubs)
        async with trio.open_nursery() as network:
            async with trio.open_nursery() as http:
                binds = await http.start(
                    partial(
                        hypercorn_serve,
                        cast(Any, app.front.asgi(app)),
                        config,
                        shutdown_trigger=shutdown.wait,
                    )
                )
                settings.upstream = (_BEHIND_FRONT[0], int(binds[0].rsplit(":", 1)[1]))
                host, port = await network.start(
                    app.front.serve, options.host, options.port, app, settings
                )
                scheme = "http" if settings.ssl_context is None else "https"
                urls = [f"{scheme}://{_bind_address(host, port)}"]
                if options.http_port is not None:
                    # --http-port: a plain listener beside the TLS one; its hub URL
                    # goes on a line of its own.
                    plain = replace(settings, ssl_context=None)
                    host, port = await network.start(
                        app.front.serve, options.host, options.http_port, app, plain
                    )
                    urls.append(f"http://{_bind_address(host, port)}")
                task_status.started("\n".join(f"{url}{options.hub_path}" for url in urls))
                if stop is None:
                    await trio.sleep_forever()
                else:
                    await stop.wait()
                log.info("shutting down: closing %d connection(s)", len(app.connections))
                await app.connections.close_all(options.shutdown_grace)
                shutdown.set()
                app.front.stop_accepting()
            # The front returns once its connections are over; stragglers are cut.
            network.cancel_scope.deadline = trio.current_time() + SERVER_STRAGGLER_SECONDS
        hubs.cancel_scope.cancel()


def configure_logging(verbose: int, stream: IO[str] = sys.stderr) -> None:
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter("hubcli serve: %(message)s"))
    logger = logging.getLogger("hubcli.server")
    logger.handlers[:] = [handler]
    logger.propagate = False
    logger.setLevel(logging.DEBUG if verbose >= 2 else logging.INFO if verbose else logging.WARNING)


def _write_line(out: IO[str], line: str) -> str | None:
    """Why `line` could not be written to `out`, or None if it was."""
    try:
        out.write(line + "\n")
        out.flush()
    except (OSError, ValueError) as exc:  # ValueError: a file object already closed
        return (exc.strerror if isinstance(exc, OSError) else None) or str(exc)
    return None


async def _main(options: ServerOptions, out: IO[str]) -> None:
    # Signals are received before the URL is out, so a script that stops the
    # server right after reading it is not too early, and during the graceful
    # shutdown too, so that a second signal cuts it short.
    unwritten: str | None = None
    with trio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as signals:
        stop = trio.Event()
        served = trio.Event()

        async def run(task_status: trio.TaskStatus[str]) -> None:
            try:
                await serve(options, stop=stop, task_status=task_status)
            finally:
                served.set()

        async with trio.open_nursery() as nursery:

            async def watch_signals() -> None:
                async for signum in signals:
                    name = signal.Signals(signum).name
                    if stop.is_set():
                        log.info("received %s again: stopping now", name)
                        nursery.cancel_scope.cancel()
                        return
                    log.info("received %s: shutting down", name)
                    stop.set()

            url = await nursery.start(run)
            unwritten = _write_line(out, url)
            if unwritten is not None:
                # Nobody can learn where the hub is (with --port 0, not even guess):
                # stop the usual graceful way rather than serve for no one.
                stop.set()
            nursery.start_soon(watch_signals)
            await served.wait()
            nursery.cancel_scope.cancel()
    if unwritten is not None:
        raise UrlNotWritten(unwritten)


def run_server(options: ServerOptions, out: IO[str] | None = None) -> None:
    """Run the hub in this process until SIGINT or SIGTERM, its URL first on `out`
    (stdout by default). OSError if it cannot listen; UrlNotWritten if `out` cannot
    take the URL (then the hub stops again)."""
    out = out if out is not None else sys.stdout
    if out is None:
        # Python's stdout when the process started with file descriptor 1 closed.
        raise UrlNotWritten("it is closed")
    configure_logging(options.verbose)
    try:
        trio.run(_main, options, out)
    except BaseExceptionGroup as group:
        error = sole_exception(group)
        if isinstance(error, OSError):
            raise error from None
        raise
