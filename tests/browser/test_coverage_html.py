"""`python -m enforcer coverage --html` rendered in headless Chromium: the summary numbers in the DOM (after the page's
script ran) equal `coverage --json`; every account is a row; a hostile account name stays text; a screenshot."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

from localdev.browser import dump_dom, screenshot
from localdev.emulator import Emulator
from localdev.emulator.fleet import COMPLIANT_AI_PRICING as COMPLIANT_AI

SUBS = [f"00000000-0000-4000-8000-{i:012d}" for i in range(1, 5)]


def seed(emulator: Emulator) -> None:
    emulator.add_subscription(SUBS[0], "prod-ai", pricing=COMPLIANT_AI)
    emulator.add_subscription(SUBS[1], "dev-ai")  # plan Free
    emulator.add_subscription(SUBS[2], "lab", pricing=COMPLIANT_AI, tags={"defender-ai-exempt": "lab"})
    emulator.add_subscription(SUBS[3], '=HYPERLINK("x") <b>&', pricing=COMPLIANT_AI)
    for i in range(3):
        emulator.cognitive.add(SUBS[0], "rg", f"prod-{i}", state="Enabled")
    emulator.cognitive.add(SUBS[0], "rg", "prod-off", state="Disabled")
    emulator.cognitive.add(
        SUBS[0], "rg", "prod-exempt", state="Disabled", tags={"defender-ai-exempt": "<script>alert(1)</script>"}
    )
    emulator.cognitive.add(SUBS[1], "rg", "dev-0", state="Enabled")
    emulator.cognitive.add(SUBS[2], "rg", "lab-0", state="Enabled")
    emulator.cognitive.add(SUBS[3], "rg", "shared-0", state="Enabled")
    emulator.cognitive.add(SUBS[3], "rg", "no-setting", state=None)


def coverage(emulator: Emulator, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ENFORCER_")}
    env["ENFORCER_ARM_ENDPOINT"] = emulator.url
    return subprocess.run(
        [sys.executable, "-m", "enforcer", "coverage", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=True,
    )


def dom_summary(dom: str) -> dict[str, str]:
    return dict(re.findall(r'data-summary="([^"]+)">([^<]*)<', dom))


def test_html_summary_in_chromium_equals_json(emulator: Emulator, chromium: str, tmp_path: Path) -> None:
    seed(emulator)
    report = json.loads(coverage(emulator, "--json").stdout)
    page = tmp_path / "coverage.html"
    coverage(emulator, "--html", str(page))
    html_text = page.read_text()
    assert "<script>alert(1)" not in html_text  # escaped in the file
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", html_text)  # nothing fetched

    dom = dump_dom(page)

    assert 'data-ready="1"' in dom  # the page's own script ran
    shown = dom_summary(dom)
    s = report["summary"]
    for key in ("accounts", "protected", "unprotected", "percent_protected", "subscriptions"):
        assert float(shown[key]) == float(s[key]), key
    for reason, count in s["why_not"].items():
        assert int(shown[f"why_not:{reason}"]) == count, reason
    assert (s["accounts"], s["protected"]) == (9, 4)
    assert s["why_not"] == {"not readable": 0, "exempt": 2, "plan off": 1, "account disabled": 2}
    rows = re.findall(r'<tr class="(yes|no)" data-resource-id="([^"]+)"', dom)
    assert len(rows) == 9 and sum(1 for p, _ in rows if p == "yes") == 4
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in dom  # still text after the DOM was built
    assert "&lt;b&gt;" in dom

    png = screenshot(page, tmp_path / "coverage.png", (1400, 1000))
    assert png.read_bytes().startswith(b"\x89PNG")


def test_csv_has_one_row_per_account_and_defuses_formulas(emulator: Emulator) -> None:
    import csv
    import io

    seed(emulator)
    rows = list(csv.DictReader(io.StringIO(coverage(emulator, "--csv").stdout)))
    assert len(rows) == 9
    names = {r["subscription_name"] for r in rows}
    assert '\'=HYPERLINK("x") <b>&' in names
