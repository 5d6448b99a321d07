"""Issue 22, items 5 and 7 through `python -m enforcer coverage` on the ARM emulator: `--html out/x.html` creates the
folder; zero visible accounts are "no AI accounts visible" (never 100 %), saying when read access may be missing;
ids with control characters stay one escaped line in the text report."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from localdev.emulator import Emulator
from localdev.emulator.fleet import COMPLIANT_AI_PRICING as COMPLIANT_AI
from tests.browser.test_coverage_html import coverage

pytestmark = pytest.mark.integration
SUB = "00000000-0000-4000-8000-000000000001"


def test_html_into_a_folder_that_does_not_exist_creates_it(emulator: Emulator, tmp_path: Path) -> None:
    emulator.add_subscription(SUB, "prod-ai", pricing=COMPLIANT_AI)
    emulator.cognitive.add(SUB, "rg", "prod-0", state="Enabled")
    page = tmp_path / "out" / "nested" / "x.html"

    result = coverage(emulator, "--html", str(page))

    assert page.is_file() and "prod-0" in page.read_text(encoding="utf-8")
    assert "Traceback" not in result.stderr


def test_no_visible_subscription_says_the_identity_may_lack_read_access(emulator: Emulator) -> None:
    text = coverage(emulator).stdout
    report = json.loads(coverage(emulator, "--json").stdout)

    assert text.startswith("no AI accounts visible: the identity sees no subscription") and "%" not in text
    assert "may lack read access" in text
    assert report["summary"]["percent_protected"] is None and "may lack read access" in report["summary"]["note"]


def test_subscriptions_without_accounts_are_not_100_percent(emulator: Emulator) -> None:
    emulator.add_subscription(SUB, "prod-ai", pricing=COMPLIANT_AI)

    text = coverage(emulator).stdout

    assert text.startswith("no AI accounts visible in 1 subscription(s)") and "100.0" not in text


def test_an_unreadable_account_id_is_one_escaped_line_in_the_text_report(emulator: Emulator) -> None:
    emulator.add_subscription(SUB, "prod-ai", pricing=COMPLIANT_AI)
    emulator.cognitive.add(SUB, "rg", "evil\x1b[2J\nFAKE", state="Enabled")

    lines = coverage(emulator).stdout.splitlines()

    assert lines[0].startswith("0 of 1 AI account(s) protected")
    (detail,) = lines[1:]
    assert "not protected (not readable)" in detail and "evil\\x1b[2J\\nFAKE" in detail and "\x1b" not in detail
