"""`hubcli session URL` at a terminal: an interactive shell on one hub connection.

prompt_toolkit (the `shell` extra) edits the line, keeps the history, searches it
(Ctrl+R), completes, and prints above the prompt without breaking the line being
typed. It runs on asyncio; the hub connection is trio's. Trio runs as a guest in
prompt_toolkit's asyncio loop (`trio.lowlevel.start_guest_run`): asyncio is the
host, trio the guest, and all of our code, both sides of it, runs on the main
thread. Each side reaches the other only by scheduling a callback: typed lines go
to trio through its token, what trio prints goes through prompt_toolkit.

Threads: this module starts none. Two libraries do, as their own internals, and
run none of our code in them: trio's guest mode waits for I/O in a helper thread
(the host loop owns the main thread), and prompt_toolkit's patch_stdout writes
what is printed above the prompt from a thread of its own.

A typed command becomes a request of the JSON-lines protocol and goes to the same
engine as a script's (session_engine.py); its records come back and are shown for
eyes (pretty.py's renderer). So the shell and the protocol cannot drift apart.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
import logging
import math
import os
import shlex
import signal
import sys
from collections.abc import AsyncGenerator, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

import outcome
import trio
from prompt_toolkit import Application, PromptSession, print_formatted_text
from prompt_toolkit.completion import CompleteEvent, Completer, Completion
from prompt_toolkit.document import Document
from prompt_toolkit.formatted_text import ANSI
from prompt_toolkit.history import FileHistory, History, InMemoryHistory
from prompt_toolkit.key_binding import KeyBindings, KeyPressEvent
from prompt_toolkit.output import ColorDepth
from prompt_toolkit.patch_stdout import patch_stdout

from hubcli.protocol import jsonvalues
from hubcli.protocol.errors import ProtocolError

from .arguments import parse_arguments
from .errors import UsageError, cannot_read, reason
from .exit_codes import ExitCode
from .pretty import Style, render

if TYPE_CHECKING:
    from hubcli.client.reconnect import ReconnectPolicy

    from .options import ConnectionSettings
    from .session_engine import SessionEngine

logger: Final = logging.getLogger("hubcli")

PROMPT: Final = "hub> "
COMMANDS: Final = {
    "invoke": "invoke METHOD [ARG...]     call METHOD; its result is printed when it comes",
    "send": "send METHOD [ARG...]       call METHOD without waiting for a result",
    "stream": "stream METHOD [ARG...]     print each item of a server-to-client stream",
    "upload": "upload [--stream] [--json] METHOD [ARG...]\n"
    "                             then type the items, one a line (strings; --json: JSON);\n"
    "                             an empty line ends; @stdin among the ARGs: the stream's place",
    "call": "call METHOD [ARG...]       invoke, and wait for it before the next prompt",
    "cancel": "cancel [ID]                cancel call ID (by default the latest in flight)",
    "on": "on TARGET                  print the hub's invocations of TARGET ('*': any)",
    "off": "off TARGET                 stop printing them",
    "reply": "reply TARGET VALUE         answer TARGET's client-result requests with VALUE",
}
SLASH: Final = {
    "/help": "this list",
    "/verbose": "show the raw frames sent and received (again: stop)",
    "/close": "wait for the calls in flight, then close the connection",
    "/quit": "cancel the calls in flight and close (Ctrl-D too)",
}
OPTIONS: Final = {"upload": ("--stream", "--json")}
HELP: Final = (
    "\n".join(f"  {text}" for text in COMMANDS.values())
    + "\n"
    + "\n".join(f"  {name:<26} {text}" for name, text in SLASH.items())
    + '\n  Each ARG is JSON, typed as it is ({"a": 1}), or else a word as a shell reads it.'
    "\n  Ctrl-C cancels the latest call in flight (or clears the line); Tab completes;"
    "\n  Ctrl+R searches the history."
)
_METHOD_COMMANDS: Final = frozenset({"invoke", "send", "stream", "upload", "call"})


def history_path() -> Path:
    """$XDG_STATE_HOME/hubcli/history (~/.local/state by default, as the XDG spec
    says: a relative $XDG_STATE_HOME is to be ignored)."""
    state = os.environ.get("XDG_STATE_HOME") or ""
    base = Path(state) if os.path.isabs(state) else Path.home() / ".local" / "state"
    return base / "hubcli" / "history"


def private_file(path: Path) -> Path:
    """`path`, created if need be, readable by its owner only: typed lines may hold
    tokens and data."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    os.close(os.open(path, os.O_CREAT | os.O_WRONLY | os.O_APPEND, 0o600))
    os.chmod(path, 0o600)
    return path


def read_methods(path: str | None) -> list[str]:
    """--methods FILE: one hub method name a line; '#' starts a comment."""
    if path is None:
        return []
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise UsageError(cannot_read(f"--methods {path}", error)) from None
    names = (line.split("#", 1)[0].strip() for line in text.splitlines())
    return [name for name in names if name]


# ---------------------------------------------------------------- output for eyes

_SGR: Final = {
    "tag": "2",  # a call's id, "done"
    "sent": "36",
    "error": "31;1",
    "push": "33",
}


class Painter:
    """Records of the protocol as the shell shows them."""

    def __init__(self, style: Style) -> None:
        self.style = style

    def paint(self, kind: str, text: str) -> str:
        return f"\x1b[{_SGR[kind]}m{text}\x1b[0m" if self.style.color else text

    def value(self, value: Any) -> str:
        return render(value, pretty=True, color=self.style.color)

    def sent(self, request: dict[str, Any]) -> str:
        """A request as it goes: `→ [1] invoke Echo [1]`."""
        kind = next(key for key in ("invoke", "send", "stream", "upload") if key in request)
        head = self.paint("sent", f"→ [{request['id']}] {kind} {request[kind]}")
        args = render(request.get("args", []), pretty=False, color=self.style.color)
        return f"{head} {args}"

    def record(self, record: dict[str, Any]) -> str:
        """A record as it comes: `← [1] ...` for a call's, `⇐ TARGET` for a push."""
        tag = self.paint("tag", f"[{record['id']}]") if "id" in record else ""
        if "result" in record:
            return f"← {tag} {self.value(record['result'])}"
        if "item" in record:
            return f"← {tag} {self.value(record['item'])}"
        if "void" in record:
            return f"← {tag} " + self.paint("tag", "(no result)")
        if "done" in record:
            return f"← {tag} " + self.paint("tag", "done")
        if "cancelled" in record:
            return f"← {tag} " + self.paint("tag", "cancelled")
        if "error" in record:
            text = str(record["error"])
            # A refused request: its line number means nothing to a person typing.
            prefix = f"line {record.get('line')}: "
            if "line" in record and text.startswith(prefix):
                text = text[len(prefix) :]
            lead = f"← {tag} " if tag else "← "
            return lead + self.paint("error", f"error: {text}")
        if "target" in record:
            head = self.paint("push", f"⇐ {record['target']}")
            return f"{head} {self.value(record['arguments'])}"
        if "reconnecting" in record:
            return self.paint("error", f"connection lost ({record['reconnecting']}); reconnecting")
        if "reconnected" in record:
            return self.paint("tag", f"reconnected as {record['reconnected']}")
        return self.value(record)


# ---------------------------------------------------------------- typed commands


@dataclass
class Typed:
    """What a typed line asks for: a request for the engine, or the shell's own."""

    request: dict[str, Any] | None = None
    upload: bool = False  # items come on the next lines
    json_items: bool = False  # upload --json: each item line is JSON
    wait: bool = False  # `call`: the next prompt after its last record
    cancel_latest: bool = False
    slash: str | None = None


@dataclass
class ShellState:
    methods: set[str] = field(default_factory=set)
    targets: set[str] = field(default_factory=set)
    next_id: int = 1
    verbosity: int = 0  # -v's count

    def new_id(self) -> int:
        self.next_id += 1
        return self.next_id - 1


def _values(words: list[str]) -> list[Any]:
    values: list[Any] = parse_arguments(words, None, strict=False)[0]
    return values


_JSON_OPENERS: Final = frozenset('{["')
_DECODER: Final = json.JSONDecoder()


def shell_words(text: str) -> list[str]:
    """`text` split into words: a word that starts as JSON does (`{`, `[`, `"`) and
    is whole JSON is taken as it is typed, spaces and quotes included (so
    `invoke Echo {"a": 1}` sends the object, not the string `{a:`); every other
    word as a shell splits it, quotes removed."""
    words: list[str] = []
    position, end = 0, len(text)
    while True:
        while position < end and text[position].isspace():
            position += 1
        if position == end:
            return words
        if text[position] in _JSON_OPENERS:
            try:
                _, after = _DECODER.raw_decode(text, position)
            except ValueError:
                after = -1
            if after == end or (after > 0 and text[after].isspace()):
                words.append(text[position:after])
                position = after
                continue
        rest = io.StringIO(text[position:])
        lexer = shlex.shlex(rest, posix=True)
        lexer.whitespace_split = True
        lexer.commenters = ""
        word = lexer.get_token()
        assert word is not None  # a non-space character is there
        words.append(word)
        position += rest.tell()


def parse_line(text: str, state: ShellState) -> Typed:
    """A typed line as a Typed; a UsageError when it makes no sense."""
    stripped = text.strip()
    if not stripped:
        return Typed()
    if stripped.startswith("/"):
        word = stripped.split()[0]
        if word not in SLASH:
            raise UsageError(f"unknown command {word}", hint="/help lists them")
        return Typed(slash=word)
    try:
        words = shell_words(stripped)
    except ValueError as error:
        raise UsageError(f"{error}", hint="quote as in a shell") from None
    command, rest = words[0], words[1:]
    if command not in COMMANDS:
        raise UsageError(f"unknown command {command!r}", hint="/help lists them")
    if command == "cancel":
        if not rest:
            return Typed(cancel_latest=True)
        if len(rest) != 1:
            raise UsageError("cancel takes one ID")
        return Typed(request={"cancel": _values(rest)[0]})
    if command in ("on", "off"):
        if len(rest) != 1:
            raise UsageError(f"{command} takes one TARGET")
        state.targets.add(rest[0])
        return Typed(request={command: rest[0]})
    if command == "reply":
        if len(rest) != 2:
            raise UsageError("reply takes TARGET VALUE", hint="e.g. reply GetName '\"bot\"'")
        state.targets.add(rest[0])
        return Typed(request={"reply": rest[0], "result": _values(rest[1:])[0]})
    options: dict[str, Any] = {}
    json_items = False
    # upload's options as `hubcli upload` has them, before the METHOD.
    while command == "upload" and rest and rest[0] in OPTIONS["upload"]:
        if rest.pop(0) == "--stream":
            options["streamBack"] = True
        else:
            json_items = True
    if rest and rest[0] == "--":
        rest = rest[1:]
    if not rest:
        raise UsageError(f"{command} needs a METHOD")
    method, *args = rest
    upload = command == "upload"
    values, position = parse_arguments(args, None, strict=False, upload=upload)
    if upload and position != len(values):
        options["position"] = position
    state.methods.add(method)
    kind = "invoke" if command == "call" else command
    request: dict[str, Any] = {"id": state.new_id(), kind: method, "args": values, **options}
    return Typed(request=request, upload=upload, json_items=json_items, wait=command == "call")


def upload_item(text: str, *, json_items: bool) -> Any:
    """A typed upload item: the line as a string, as `hubcli upload` sends stdin's
    lines; with --json, the JSON value it holds (a UsageError if none)."""
    if not json_items:
        return text
    try:
        return jsonvalues.loads(text)
    except ProtocolError:
        raise UsageError("not JSON; type the item again", hint="upload --json") from None


class ShellCompleter(Completer):
    """Commands, their options, and the method and target names known so far."""

    def __init__(self, state: ShellState) -> None:
        self._state = state

    def get_completions(
        self, document: Document, complete_event: CompleteEvent
    ) -> Iterator[Completion]:
        text = document.text_before_cursor
        words = text.split()
        current = "" if not words or text.endswith(" ") else words[-1]
        before = words if current == "" else words[:-1]
        candidates: Iterable[str]
        if not before:
            candidates = [*COMMANDS, *SLASH]
        else:
            command = before[0]
            named = [word for word in before[1:] if not word.startswith("-")]
            if current.startswith("-"):
                candidates = OPTIONS.get(command, ())
            elif command in ("on", "off", "reply") and not named:
                candidates = sorted(self._state.targets)
            elif command in _METHOD_COMMANDS and not named:
                candidates = sorted(self._state.methods, key=str.lower)
            else:
                candidates = ()
        for candidate in candidates:
            if candidate.lower().startswith(current.lower()) and candidate != current:
                yield Completion(candidate, start_position=-len(current))

    async def get_completions_async(
        self, document: Document, complete_event: CompleteEvent
    ) -> AsyncGenerator[Completion, None]:
        for completion in self.get_completions(document, complete_event):
            yield completion


# ---------------------------------------------------------------- the two loops


class Bridge:
    """What the asyncio side and the trio side share (one thread: no locks)."""

    def __init__(self, painter: Painter) -> None:
        self.painter = painter
        self.token: trio.lowlevel.TrioToken | None = None
        self.engine: SessionEngine | None = None
        self.lines_in, self.lines_out = trio.open_memory_channel[tuple[int, bytes | None]](math.inf)
        self.number = 0
        self.connected: asyncio.Future[None] | None = None
        self.waiting: dict[Any, asyncio.Future[None]] = {}  # `call`s, by id
        self.uploading = False  # an upload's items are being typed
        # Ctrl-C came as a signal while the items were typed (between two item
        # prompts, when the terminal is not raw): the upload is to end.
        self.upload_interrupted = False
        self.app: Application[Any] | None = None  # the prompt's, once made
        self.closed = False  # the connection is over: no more prompts
        # The whole trio side: Ctrl-C before the connection is made cancels it.
        self.scope = trio.CancelScope()
        self.interrupted = False

    def to_trio(self, function: Any, *args: Any) -> None:
        if self.token is None:
            return
        with contextlib.suppress(trio.RunFinishedError):
            self.token.run_sync_soon(function, *args)

    def submit(self, request: dict[str, Any]) -> None:
        self.number += 1
        line = jsonvalues.dumps(request)
        self.to_trio(self.lines_in.send_nowait, (self.number, line))

    def in_flight(self) -> list[Any]:
        return [] if self.engine is None else self.engine.in_flight()

    def cancel(self, request_id: Any) -> None:
        if self.engine is not None:
            self.to_trio(self.engine.cancel, request_id)

    def interrupt(self) -> None:
        """SIGINT: before the connection is made, give up (exit 130); after, cancel
        the latest call in flight (the prompt is between two lines then, as while
        a `call` is waited for: at the prompt itself Ctrl-C is a key)."""
        if self.uploading:
            self.upload_interrupted = True
            if self.app is not None and self.app.is_running:
                self.app.exit(exception=KeyboardInterrupt())
            return
        if self.engine is not None:
            self.cancel_latest()
            return
        self.interrupted = True
        self.to_trio(self.scope.cancel)

    def cancel_latest(self) -> bool:
        """Cancel the latest call in flight; False when there is none."""
        running = self.in_flight()
        if running:
            self.cancel(running[-1])
        return bool(running)

    def show(self, data: bytes) -> None:
        """Records (whole lines) from the engine, for eyes."""
        out = []
        for line in data.splitlines():
            try:
                record = jsonvalues.loads(line)
            except ProtocolError:
                out.append(line.decode("utf-8", "replace"))
                continue
            out.append(self.painter.record(record))
            request_id = record.get("id")
            if request_id in self.waiting and any(key in record for key in _LAST):
                future = self.waiting.pop(request_id)
                if not future.done():
                    future.set_result(None)
        if out:
            sys.stdout.write("\n".join(out) + "\n")
            sys.stdout.flush()


_LAST: Final = ("result", "void", "done", "cancelled", "error")


async def _trio_side(
    bridge: Bridge,
    settings: ConnectionSettings,
    policy: ReconnectPolicy | None,
    watched: tuple[str, ...],
) -> None:
    bridge.token = trio.lowlevel.current_trio_token()
    with bridge.scope:
        if bridge.interrupted:
            bridge.scope.cancel()
        await _connected(bridge, settings, policy, watched)


async def _connected(
    bridge: Bridge,
    settings: ConnectionSettings,
    policy: ReconnectPolicy | None,
    watched: tuple[str, ...],
) -> None:
    from hubcli import client

    from .output import Formatter
    from .session_engine import SessionEngine

    formatter = Formatter(raw=False, envelope=False, messagepack=settings.protocol == "messagepack")

    async def show(data: bytes) -> None:
        bridge.show(data)

    arguments = {**settings.connect_arguments(), "reconnect": policy}
    async with client.connect(settings.url, **arguments) as hub:
        logger.info("connected: %s, %s", hub.transport, hub.protocol)
        bridge.engine = SessionEngine(
            hub,
            show,
            formatter.json,
            watched=watched,
            wait=True,
            line_limit=settings.max_message_size,
        )
        assert bridge.connected is not None
        bridge.connected.set_result(None)
        await bridge.engine.run(bridge.lines_out)


def _history() -> History:
    """The history file; when it cannot be made (an unwritable home), a warning and
    a history for this session only."""
    path = history_path()
    try:
        return FileHistory(str(private_file(path)))
    except OSError as error:
        sys.stderr.write(
            f"hubcli: warning: cannot keep {path}: {reason(error)};"
            " this session's lines are not kept\n"
        )
        return InMemoryHistory()


def _prompt_session(state: ShellState, bridge: Bridge, style: Style) -> PromptSession[str]:
    bindings = KeyBindings()

    @bindings.add("c-c")
    def _(event: KeyPressEvent) -> None:
        # Ctrl-C stops the latest call, not the shell; with nothing in flight it
        # clears the line, as in bash. Typing an upload's items, it ends them: the
        # upload is cancelled.
        if bridge.uploading:
            event.app.exit(exception=KeyboardInterrupt())
        elif not bridge.cancel_latest():
            event.app.current_buffer.reset()

    return PromptSession(
        history=_history(),
        completer=ShellCompleter(state),
        complete_while_typing=False,
        key_bindings=bindings,
        color_depth=None if style.color else ColorDepth.MONOCHROME,
    )


async def _prompts(session: PromptSession[str], state: ShellState, bridge: Bridge) -> str:
    """Read lines until Ctrl-D, /quit or /close; which of them ended it."""
    loop = asyncio.get_running_loop()
    painter = bridge.painter
    handler = _ShellLog(_level(state.verbosity))
    logger.handlers[:] = [handler]
    verbose = False
    while not bridge.closed:
        try:
            # handle_sigint=False: prompt_toolkit would otherwise take SIGINT over
            # for each prompt and then drop ours; at the prompt Ctrl-C is a key.
            text = await session.prompt_async(PROMPT, handle_sigint=False)
        except EOFError:
            return "/quit"
        except KeyboardInterrupt:
            continue
        try:
            typed = parse_line(text, state)
        except UsageError as error:
            hint = f" ({error.hint})" if error.hint else ""
            _say(painter.paint("error", f"error: {error}{hint}"))
            continue
        if typed.slash == "/help":
            _say(HELP)
        elif typed.slash == "/verbose":
            verbose = not verbose
            handler.setLevel(logging.DEBUG if verbose else _level(state.verbosity))
            _say("raw frames: on (-> sent, <- received)" if verbose else "raw frames: off")
        elif typed.slash in ("/quit", "/close"):
            return typed.slash
        elif typed.cancel_latest:
            if not bridge.cancel_latest():
                _say("nothing in flight")
        elif typed.request is not None:
            request = typed.request
            if "id" in request:
                _say(painter.sent(request))
            waiter: asyncio.Future[None] | None = None
            if typed.wait:
                waiter = loop.create_future()
                bridge.waiting[request["id"]] = waiter
            bridge.submit(request)
            if typed.upload:
                await _upload_items(session, bridge, request["id"], typed.json_items)
            if waiter is not None:
                await waiter
    return "/quit"


async def _upload_items(
    session: PromptSession[str], bridge: Bridge, upload_id: int, json_items: bool
) -> None:
    """Items of upload `upload_id`, one a line, until an empty line or Ctrl-D
    (Ctrl-C: the upload is cancelled)."""
    bridge.uploading = True
    bridge.upload_interrupted = False
    try:
        await _read_items(session, bridge, upload_id, json_items)
    finally:
        bridge.uploading = False


async def _read_items(
    session: PromptSession[str], bridge: Bridge, upload_id: int, json_items: bool
) -> None:
    while not bridge.closed:
        try:
            if bridge.upload_interrupted:
                raise KeyboardInterrupt
            text = await session.prompt_async(f"item [{upload_id}]> ", handle_sigint=False)
        except EOFError:
            text = ""
        except KeyboardInterrupt:
            bridge.cancel(upload_id)
            return
        if not text:
            bridge.submit({"id": upload_id, "end": True})
            return
        try:
            item = upload_item(text, json_items=json_items)
        except UsageError as error:
            _say(bridge.painter.paint("error", f"error: {error} ({error.hint})"))
            continue
        bridge.submit({"id": upload_id, "item": item})


def _say(text: str) -> None:
    """A line of the prompt's side, between two prompts: written at once, before
    the next prompt is drawn (sys.stdout, patched, would queue it for its writer
    thread, which can be late by then)."""
    print_formatted_text(ANSI(text))


class _ShellLog(logging.Handler):
    """The hub logger's lines above the prompt (redacted as on the command line).

    The logger itself stays at DEBUG for the whole session: the connection decides
    once, when it is made, whether to trace its frames, and /verbose must be able to
    show them later. This handler's level is what -v and /verbose set."""

    def emit(self, record: logging.LogRecord) -> None:
        from .runner import redact

        sys.stderr.write(f"hubcli: {redact(record.getMessage())}\n")


def _level(verbosity: int) -> int:
    return logging.WARNING if verbosity <= 0 else logging.INFO if verbosity == 1 else logging.DEBUG


async def _host(
    settings: ConnectionSettings,
    policy: ReconnectPolicy | None,
    watched: tuple[str, ...],
    methods: list[str],
    style: Style,
) -> int:
    from hubcli._groups import sole_exception

    from .runner import exit_code_for

    loop = asyncio.get_running_loop()
    bridge = Bridge(Painter(style))
    bridge.connected = loop.create_future()
    finished: asyncio.Future[outcome.Outcome[None]] = loop.create_future()
    state = ShellState(methods=set(methods), targets=set(watched), verbosity=settings.verbosity)
    # Before the guest starts, so trio leaves SIGINT to its host.
    loop.add_signal_handler(signal.SIGINT, bridge.interrupt)
    trio.lowlevel.start_guest_run(
        _trio_side,
        bridge,
        settings,
        policy,
        watched,
        run_sync_soon_threadsafe=loop.call_soon_threadsafe,
        run_sync_soon_not_threadsafe=loop.call_soon,
        done_callback=finished.set_result,
        host_uses_signal_set_wakeup_fd=True,
    )
    failed: BaseException | None = None
    first: set[asyncio.Future[Any]] = {bridge.connected, finished}
    await asyncio.wait(first, return_when=asyncio.FIRST_COMPLETED)
    if not finished.done():
        session = _prompt_session(state, bridge, style)
        bridge.app = session.app
        print(f"connected to {settings.url}; /help lists the commands, Ctrl-D closes")
        with patch_stdout(raw=True):
            prompts = asyncio.ensure_future(_prompts(session, state, bridge))
            either: set[asyncio.Future[Any]] = {prompts, finished}
            await asyncio.wait(either, return_when=asyncio.FIRST_COMPLETED)
            if prompts.done():
                failed = prompts.exception()
                if failed is not None or prompts.result() == "/quit":
                    for request_id in bridge.in_flight():
                        bridge.cancel(request_id)
                bridge.to_trio(bridge.lines_in.close)
            else:
                # The connection is over: the prompt ends as at Ctrl-D, so what
                # is still on its way to the screen (the calls' error records)
                # gets there before the error line.
                bridge.closed = True
                for waiter in bridge.waiting.values():
                    if not waiter.done():
                        waiter.set_result(None)
                if session.app.is_running:
                    session.app.exit(exception=EOFError())
                await prompts
            ended = await finished
    else:
        ended = finished.result()
    loop.remove_signal_handler(signal.SIGINT)
    if bridge.interrupted:
        return int(ExitCode.INTERRUPTED)
    try:
        ended.unwrap()
    except BaseException as error:
        return int(exit_code_for(sole_exception(error), settings))
    if failed is not None:  # a bug on the prompt's side: the connection was closed first
        return int(exit_code_for(failed, settings))
    return int(ExitCode.OK)


def run_shell(
    settings: ConnectionSettings,
    policy: ReconnectPolicy | None,
    watched: tuple[str, ...],
    methods: list[str],
    style: Style,
) -> int:
    from .runner import configure_logging

    configure_logging(settings.verbosity)
    for warning in settings.warnings:
        sys.stderr.write(warning + "\n")
    logger.setLevel(logging.DEBUG)  # what shows is the handler's choice (_ShellLog)
    logger.handlers[0].setLevel(_level(settings.verbosity))
    try:
        return asyncio.run(_host(settings, policy, watched, methods, style))
    except KeyboardInterrupt:  # before the SIGINT handler was in place
        return int(ExitCode.INTERRUPTED)
