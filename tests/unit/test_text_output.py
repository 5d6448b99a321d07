"""Issue 22, items 5 and 7: text output escapes control characters (newlines, terminal escape sequences) from names,
tags and ids; the CSV formula guard covers tab and carriage return (OWASP); zero accounts are never "100 %"."""

from __future__ import annotations

import csv
import io
import json

import pytest

from enforcer.core import coverage
from enforcer.core.coverage import CoverageRow
from enforcer.core.models import ExtensionState, OutcomeKind, PricingState
from enforcer.core.records import AuditRecord
from enforcer.core.render import outcomes_table, render_status
from tests.audit.builders import make_outcome, sub_id

HOSTILE = "team\x1b[2J\x1b]0;pwned\x07\nFAKE  compliant\r"


def test_outcome_tables_show_control_characters_escaped_one_row_per_line() -> None:
    outcome = make_outcome(OutcomeKind.FAILED, subscription_name=HOSTILE, error="denied\nFORGED row")
    outcome.resource_id = f"/subscriptions/{sub_id(1)}/resourceGroups/rg/providers/X/accounts/a\x1b[31m"

    outcome.before = PricingState("Standard", (ExtensionState("Ext\x1b[8mhidden\n", True),))
    table = outcomes_table([outcome], show_state=True)

    lines = table.splitlines()
    assert len(lines) == 5  # header, rule, one row, before, after
    assert "Ext\\x1b[8mhidden\\n=on" in lines[3]
    assert "\x1b" not in table and "\r" not in table and "\x07" not in table
    assert "\\nFORGED row" in lines[2] and "a\\x1b[31m" in lines[2]


def test_status_table_shows_control_characters_escaped() -> None:
    record = AuditRecord.from_outcome(
        make_outcome(OutcomeKind.EXCLUDED, subscription_name=HOSTILE, reason="tag\x1b[5m")
    )

    table = render_status([record], as_json=False)

    assert "\x1b" not in table and "\x07" not in table
    assert len(table.splitlines()) == 4  # header, one row, blank, the count
    assert "team\\x1b[2J" in table and "tag\\x1b[5m" in table
    assert json.loads(render_status([record], as_json=True))[0]["subscription_name"] == HOSTILE  # JSON keeps the data


def row(account: str, **overrides: object) -> CoverageRow:
    values: dict[str, object] = {
        "resource_id": f"/subscriptions/{sub_id(1)}/resourceGroups/rg/providers/Microsoft.CognitiveServices/accounts/x",
        "account": account,
        "subscription_id": sub_id(1),
        "subscription_name": "ai",
        "plan_tier": "Standard",
        "plan_components": {},
        "account_state": "Enabled",
    }
    return CoverageRow(**(values | overrides))  # type: ignore[arg-type]


@pytest.mark.parametrize("start", ["=", "+", "-", "@", "\t", "\r", "\0"])
def test_csv_cells_that_start_like_a_formula_are_defused(start: str) -> None:
    value = f'{start}HYPERLINK("https://evil.example")'
    (parsed,) = list(csv.DictReader(io.StringIO(coverage.to_csv([row(value, subscription_name=value)]))))

    assert parsed["account"] == "'" + value
    assert parsed["subscription_name"] == "'" + value


def test_zero_accounts_are_not_100_percent_and_say_when_read_access_may_be_missing() -> None:
    none_seen = coverage.summary([], subscriptions_visible=0)
    some_seen = coverage.summary([], subscriptions_visible=3)

    assert none_seen["percent_protected"] is None and some_seen["percent_protected"] is None
    assert none_seen["note"].startswith("no AI accounts visible") and "may lack read access" in none_seen["note"]
    assert "in 3 subscription(s)" in some_seen["note"] and "may lack read access" in some_seen["note"]
    assert "note" not in coverage.summary([row("a")])
    page = coverage.to_html([], "2026-12-05T00:00:00Z", 0)
    assert "no AI accounts visible" in page and "100.0" not in page
    assert json.loads(coverage.to_json([], "t", 0))["summary"]["percent_protected"] is None


def test_an_unpaired_surrogate_from_the_store_prints_in_text_and_json() -> None:
    record = AuditRecord.from_outcome(make_outcome(OutcomeKind.EXCLUDED, subscription_name="half \ud800 pair"))

    for text in (render_status([record], as_json=False), render_status([record], as_json=True)):
        text.encode("utf-8")  # what print() does on a UTF-8 terminal: no UnicodeEncodeError
    assert json.loads(render_status([record], as_json=True))[0]["subscription_name"] == "half \ud800 pair"
