"""Headless Chromium (Debian's `chromium` package) for screenshots and for reading a page's DOM after its scripts
ran. Every run gets its own throw-away profile and no network features (the pages are self-contained)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any, Final

from localdev.cards.samples import sample_cards

REPO: Final = Path(__file__).resolve().parent.parent
RENDER_SCRIPT: Final = REPO / "localdev" / "cards" / "render.mjs"
_FLAGS: Final = (
    "--headless",
    "--no-sandbox",  # we run as root in a container; the pages are our own files
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--hide-scrollbars",
)


def find_chromium() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        found = shutil.which(name)
        if found:
            return found
    return None


def _run(args: list[str], timeout: float) -> subprocess.CompletedProcess[str]:
    chromium = find_chromium()
    if chromium is None:
        raise RuntimeError("chromium is not installed (make install tries `apt-get install -y chromium`)")
    with tempfile.TemporaryDirectory(prefix="enforcer-chromium-") as profile:
        return subprocess.run(
            [chromium, *_FLAGS, f"--user-data-dir={profile}", *args],
            capture_output=True,
            text=True,
            timeout=timeout,
            check=True,
        )


def screenshot(page: Path, png: Path, size: tuple[int, int] = (1280, 900), timeout: float = 60) -> Path:
    png.parent.mkdir(parents=True, exist_ok=True)
    _run([f"--screenshot={png.resolve()}", f"--window-size={size[0]},{size[1]}", page.resolve().as_uri()], timeout)
    if not png.is_file():
        raise RuntimeError(f"chromium wrote no screenshot to {png}")
    return png


def dump_dom(page: Path, timeout: float = 60) -> str:
    """The DOM after the page's scripts ran (`--dump-dom`)."""
    return _run(["--dump-dom", page.resolve().as_uri()], timeout).stdout


def render_cards(out_dir: Path, cards: dict[str, dict[str, Any]] | None = None) -> dict[str, list[str]]:
    """Validate every card with the `adaptivecards` package and write out_dir/<kind>.html; returns the issues."""
    out_dir.mkdir(parents=True, exist_ok=True)
    cards_file = out_dir / "cards.json"
    cards_file.write_text(json.dumps(cards if cards is not None else sample_cards(), ensure_ascii=False))
    node = shutil.which("node")
    if node is None:
        raise RuntimeError("node is not installed")
    result = subprocess.run(
        [node, str(RENDER_SCRIPT), str(cards_file), str(out_dir)],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
        cwd=REPO,
        env={**os.environ, "NODE_PATH": str(REPO / "node_modules")},
    )
    issues: dict[str, list[str]] = json.loads(result.stdout)
    return issues


def screenshot_cards(out_dir: Path, cards: dict[str, dict[str, Any]] | None = None) -> list[Path]:
    """One PNG per card kind (out_dir/card-<kind>.png); raises when a card has validation issues."""
    pages = out_dir / "card-pages"
    issues = render_cards(pages, cards)
    bad = {k: v for k, v in issues.items() if v}
    if bad:
        raise RuntimeError(f"cards with Adaptive Cards validation issues: {bad}")
    return [screenshot(pages / f"{kind}.html", out_dir / f"card-{kind}.png", (640, 720)) for kind in issues]
