"""`hubcli bench --html`: a self-contained page whose charts a real browser draws."""

from __future__ import annotations

import subprocess
from collections import Counter
from collections.abc import Callable
from pathlib import Path

from PIL import Image

from .hubcli_process import run

# The colours hubcli/bench/html.py draws bars and the percentile curve in.
BAR = (0x3B, 0x6E, 0xA5)
CURVE = (0xC0, 0x39, 0x2B)


def test_html_report_renders_its_charts_in_headless_chromium(
    hub_server: str, tmp_path: Path, require_tool: Callable[[str], str]
) -> None:
    chromium = require_tool("chromium")
    page = tmp_path / "report.html"
    result = run("bench", hub_server, "-c", "2", "-d", "2", "--json", "--html", str(page))
    assert result.returncode == 0, result.stderr
    text = page.read_text(encoding="utf-8")
    # Self-contained: nothing for the browser to fetch, nothing to run.
    for needle in ("<script", " src=", " href=", "@import", "url("):
        assert needle not in text
    assert text.count("<svg") == 3
    shot = tmp_path / "shot.png"
    subprocess.run(
        [
            chromium,
            "--headless",
            "--no-sandbox",  # tests run as root in CI
            "--disable-gpu",
            f"--user-data-dir={tmp_path / 'profile'}",
            "--hide-scrollbars",
            "--window-size=800,1000",
            f"--screenshot={shot}",
            page.as_uri(),
        ],
        capture_output=True,
        timeout=120,
        check=True,
    )
    with Image.open(shot) as image:
        colours = Counter(image.convert("RGB").get_flattened_data())
    # The bars of two charts and the curve's line, drawn: thousands of pixels each.
    assert colours[BAR] > 5000, colours.most_common(5)
    assert colours[CURVE] > 300, colours.most_common(5)
