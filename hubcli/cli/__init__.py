"""The thin command-line layer: typer commands over the library API."""

from __future__ import annotations

import time

# --max-time counts from process start; this module is imported first thing.
PROCESS_START = time.monotonic()
