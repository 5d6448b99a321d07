"""The demo's AI-account part: a few accounts in the emulator (some opted out), the coverage report as HTML and a
screenshot of it, and a screenshot of one card of each kind, all under out/."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from enforcer.core import coverage
from enforcer.core.models import utc_now_iso


def seed_accounts(emulator: Any, subscription_ids: list[str]) -> None:
    """Three accounts on each of the first eight subscriptions: every fifth opted out, one exempt, one unset."""
    for i, sub in enumerate(subscription_ids[:8]):
        for j in range(3):
            n = i * 3 + j
            tags = {"defender-ai-exempt": "red-team lab <approved>"} if n == 7 else {}
            state = None if n == 11 else ("Disabled" if n % 5 == 0 else "Enabled")
            emulator.cognitive.add(sub, f"rg-ai-{i}", f"ai-{n:02d}", state=state, tags=tags)


def write_report_and_screenshots(services: Any, out_dir: Path) -> list[Path]:
    """out/coverage.html, out/coverage.png and out/card-<kind>.png; skips the PNGs (with a note) without chromium."""
    from enforcer.usecases.coverage import gather_coverage
    from localdev.browser import find_chromium, screenshot, screenshot_cards

    rows = gather_coverage(services)
    page = out_dir / "coverage.html"
    page.write_text(coverage.to_html(rows, utc_now_iso()), encoding="utf-8")
    s = coverage.summary(rows)
    print(
        f"Coverage: {s['protected']} of {s['accounts']} AI accounts protected ({s['percent_protected']} %); "
        f"report at {page}"
    )
    if find_chromium() is None:
        print("chromium not installed (make install): no screenshots")
        return [page]
    written = [page, screenshot(page, out_dir / "coverage.png", (1400, 1100))]
    written += screenshot_cards(out_dir)
    print(f"Screenshots: {out_dir / 'coverage.png'} and {len(written) - 2} card(s) as {out_dir}/card-<kind>.png")
    return written
