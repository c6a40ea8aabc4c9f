"""Defaults the library and the command line share, each stated once.

Constants only: the CLI reads them at start-up, before (and without) loading the
client and trio.
"""

from __future__ import annotations

from typing import Final

# Largest hub message accepted from the server (a guard against a hostile one).
DEFAULT_MAX_MESSAGE_SIZE: Final = 16 * 1024 * 1024
# How long the server may stay silent (not over Long Polling, unless asked).
DEFAULT_SERVER_TIMEOUT_SECONDS: Final = 30.0
# A Ping after this long without sending.
DEFAULT_KEEPALIVE_SECONDS: Final = 15.0
# The limit on each step of the clean-up (the wait for a cancelled stream's
# Completion, the closing handshake); the CLI's whole clean-up after a signal or
# --max-time gets as long.
DEFAULT_CLOSE_TIMEOUT_SECONDS: Final = 2.0
# How long the SignalR handshake may take once the transport is up.
DEFAULT_HANDSHAKE_TIMEOUT_SECONDS: Final = 15.0
# A WebSocket that fails (a send broke, the server broke the protocol) gives its
# last words this long: our Close frame, or the server's, which says why (1009:
# the message was too big for it). Short and fixed, since the failure is known.
WEBSOCKET_FAILURE_CLOSE_SECONDS: Final = 1.0
# `hubcli serve` shutting down: how long hypercorn waits for requests still open
# after every hub has sent Close (they end themselves then; this bounds stragglers).
SERVER_STRAGGLER_SECONDS: Final = 1.0
