"""Imports every subcommand module so each can register itself on the app."""

from __future__ import annotations

from . import demo, invoke, send, serve, stream, upload  # noqa: F401
