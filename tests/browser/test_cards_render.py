"""Every card kind the enforcer sends, parsed by Microsoft's Adaptive Cards renderer (npm `adaptivecards`) for schema
1.4, and one of each rendered to PNG in headless Chromium."""

from __future__ import annotations

from pathlib import Path

from enforcer.core.models import OutcomeKind
from localdev.browser import render_cards, screenshot_cards
from localdev.cards.samples import sample_cards

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def test_samples_cover_every_outcome_kind_for_subscriptions_and_accounts() -> None:
    kinds = set(sample_cards())
    assert {f"subscription-{k.value}" for k in OutcomeKind} <= kinds
    assert {"account-remediated", "account-reported", "account-failed", "account-excluded", "digest"} <= kinds


def test_adaptivecards_reports_no_validation_issue_for_any_card(node_renderer: None, tmp_path: Path) -> None:
    issues = render_cards(tmp_path)
    assert set(issues) == set(sample_cards())
    assert {k: v for k, v in issues.items() if v} == {}


def test_the_renderer_does_report_a_broken_card(node_renderer: None, tmp_path: Path) -> None:
    """The check above can fail: an unknown element is reported."""
    card = {"type": "AdaptiveCard", "version": "1.4", "body": [{"type": "NoSuchElement"}]}
    issues = render_cards(tmp_path, {"broken": card})
    assert any("NoSuchElement" in i for i in issues["broken"])


def test_one_png_per_card_kind(node_renderer: None, chromium: str, tmp_path: Path) -> None:
    pngs = screenshot_cards(tmp_path)
    assert {p.name for p in pngs} == {f"card-{k}.png" for k in sample_cards()}
    for png in pngs:
        data = png.read_bytes()
        assert data.startswith(PNG_MAGIC) and len(data) > 5000, png
