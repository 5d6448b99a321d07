"""Adaptive Cards (schema 1.4) and the 28 KB limit: pure functions, literal inputs."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from enforcer.core.cards import (
    ADAPTIVE_CARD_VERSION,
    MAX_MESSAGE_BYTES,
    digest_card,
    outcome_card,
    portal_link,
    serialize_message,
    split_error,
    teams_message,
)
from enforcer.core.models import ErrorKind, FieldChange, Mode, Outcome, OutcomeKind, RunSummary
from tests.audit.builders import make_outcome, sub_id

# Elements and actions of Adaptive Cards 1.4 that Teams renders; the cards must use nothing else.
ELEMENTS_1_4 = {"TextBlock", "FactSet", "Container", "ColumnSet", "Column", "Image", "RichTextBlock", "TextRun"}
ACTIONS_1_4 = {"Action.OpenUrl", "Action.ShowCard", "Action.ToggleVisibility", "Action.Submit"}


def _elements(node: Any) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    if isinstance(node, dict):
        if "type" in node:
            found.append(node)
        for value in node.values():
            found += _elements(value)
    elif isinstance(node, list):
        for item in node:
            found += _elements(item)
    return found


def _texts(card: dict[str, Any]) -> str:
    parts = []
    for element in _elements(card):
        parts.append(str(element.get("text", "")))
        for fact in element.get("facts", []):
            parts += [fact["title"], fact["value"]]
    return "\n".join(parts)


def assert_valid_card(card: dict[str, Any]) -> None:
    assert card["type"] == "AdaptiveCard"
    assert card["version"] == ADAPTIVE_CARD_VERSION == "1.4"
    assert card["$schema"] == "http://adaptivecards.io/schemas/adaptive-card.json"
    assert isinstance(card["body"], list) and card["body"]
    for element in _elements(card["body"]):
        assert element["type"] in ELEMENTS_1_4, element["type"]
        if element["type"] == "TextBlock":
            assert isinstance(element["text"], str) and element["text"]
        if element["type"] == "FactSet":
            assert all(set(f) == {"title", "value"} and isinstance(f["value"], str) for f in element["facts"])
    for action in card.get("actions", []):
        assert action["type"] in ACTIONS_1_4
    message = teams_message(card)
    assert message == {
        "type": "message",
        "attachments": [
            {"contentType": "application/vnd.microsoft.card.adaptive", "contentUrl": None, "content": card}
        ],
    }
    assert len(serialize_message(message)) < MAX_MESSAGE_BYTES


@pytest.mark.parametrize("kind", list(OutcomeKind))
def test_outcome_card_is_a_valid_adaptive_card(kind: OutcomeKind) -> None:
    assert_valid_card(outcome_card(make_outcome(kind, 7)))


def test_remediation_card_shows_who_why_and_before_after() -> None:
    outcome = make_outcome(OutcomeKind.REMEDIATED, 7, new_subscription=True)
    card = outcome_card(outcome)
    text = _texts(card)
    assert "Subscription 7" in text and sub_id(7) in text
    assert "Drift sweep sweep-2025-06-01T10:00:00Z" in text
    assert "Free → Standard" in text
    assert "off → on" in text
    assert "Standard (AIPromptEvidence on, AIModelScanner on)" in text
    assert "New subscription" in text
    (action,) = card["actions"]
    assert action == {"type": "Action.OpenUrl", "title": "Open Defender plans", "url": portal_link(sub_id(7))}


def test_failure_card_shows_the_error_and_the_suggested_fix() -> None:
    card = outcome_card(make_outcome(OutcomeKind.FAILED, 3))
    texts = [e.get("text") for e in _elements(card["body"]) if e["type"] == "TextBlock"]
    assert "Error (forbidden)" in texts
    assert "AuthorizationFailed: the identity cannot write pricings." in texts
    assert "Suggested fix" in texts
    assert "assign Security Admin to the enforcer's identity at the management group." in texts


def test_error_without_a_fix_marker_is_shown_whole() -> None:
    advice = "Throttled by ARM (429). The next sweep retries; nothing to do unless it persists."
    card = outcome_card(make_outcome(OutcomeKind.FAILED, 3, error=advice, error_kind=ErrorKind.THROTTLED))
    texts = [e.get("text") for e in _elements(card["body"]) if e["type"] == "TextBlock"]
    assert texts[-2:] == ["Error and suggested fix (throttled)", advice]

    assert split_error("Throttled by ARM; the next sweep retries") == ("Throttled by ARM; the next sweep retries", None)
    assert split_error("Conflict. Suggested fix: wait and retry") == ("Conflict.", "wait and retry")


def test_event_trigger_is_described() -> None:
    text = _texts(outcome_card(make_outcome(OutcomeKind.REJECTED, 2)))
    assert "Event Grid event Microsoft.Resources.ResourceWriteSuccess (event-2)" in text


def test_portal_link_opens_the_subscriptions_defender_plans() -> None:
    assert portal_link(sub_id(1)) == (
        "https://portal.azure.com/#view/Microsoft_Azure_Security/PolicyMenuBlade/~/pricingTier/subscriptionId/"
        + sub_id(1)
    )


def test_long_error_and_many_changes_stay_under_28_kb() -> None:
    outcome = make_outcome(
        OutcomeKind.FAILED,
        1,
        subscription_name="n" * 5000,
        error="e" * 200_000 + " Fix: " + "f" * 200_000,
        changes=[FieldChange(f"extensions.X{i}" + "y" * 500, "off" * 100, "on" * 100) for i in range(500)],
    )
    card = outcome_card(outcome)
    assert_valid_card(card)
    assert "… and 480 more" in _texts(card)


def test_pathological_text_everywhere_still_fits() -> None:
    huge = "ü" * 100_000  # two bytes each in UTF-8
    outcome = make_outcome(OutcomeKind.FAILED, 1, subscription_name=huge, reason=huge, error=huge, subscription_id=huge)
    assert_valid_card(outcome_card(outcome))


def _summary(outcomes: list[Any], **more: Any) -> RunSummary:
    return RunSummary.from_outcomes("sweep-42", "sweep", Mode.ENFORCE, "2025-06-01T10:00:00Z", outcomes, 61_000.0)


def test_digest_of_500_subscriptions_stays_under_28_kb_worst_first() -> None:
    kinds = [OutcomeKind.REMEDIATED, OutcomeKind.COMPLIANT, OutcomeKind.FAILED, OutcomeKind.PARTIALLY_FAILED]
    outcomes = [
        make_outcome(kinds[n % 4], n, error=("x" * 400 if kinds[n % 4].is_failure else None)) for n in range(500)
    ]
    card = digest_card(_summary(outcomes), outcomes)
    assert_valid_card(card)
    size = len(serialize_message(teams_message(card)))
    assert size < MAX_MESSAGE_BYTES

    text_blocks = [e["text"] for e in _elements(card["body"]) if e["type"] == "TextBlock"]
    items = [t for t in text_blocks if t.startswith("**")]
    (more,) = [t for t in text_blocks if t.startswith("… and ")]
    attention = sum(1 for o in outcomes if o.outcome is not OutcomeKind.COMPLIANT)
    assert more.startswith(f"… and {attention - len(items)} more")
    assert len(items) > 10
    # Worst first: every failure is listed before any partial failure, then the remediations.
    ranks = [0 if "**Failed**" in t else 1 if "**Partially failed**" in t else 2 for t in items]
    assert ranks == sorted(ranks)
    counts = {f["title"]: f["value"] for e in _elements(card["body"]) if e["type"] == "FactSet" for f in e["facts"]}
    assert counts["Failed"] == "125" and counts["Compliant"] == "125" and counts["Remediated"] == "125"


def test_small_digest_lists_everything_that_changed_or_failed() -> None:
    outcomes = [
        make_outcome(OutcomeKind.COMPLIANT, 1),
        make_outcome(OutcomeKind.REMEDIATED, 2),
        make_outcome(OutcomeKind.FAILED, 3),
        make_outcome(OutcomeKind.EXCLUDED, 4),
    ]
    summary = _summary(outcomes)
    summary.notes = ["Resource Graph unavailable; used direct GETs"]
    summary.complete, summary.resume_after = False, sub_id(3)
    card = digest_card(summary, outcomes)
    assert_valid_card(card)
    text = _texts(card)
    assert "Subscription 2" in text and "Subscription 3" in text
    assert "Subscription 1" not in text and "Subscription 4" not in text  # compliant/excluded: counts only
    assert "… and" not in text
    assert "Resource Graph unavailable; used direct GETs" in text
    assert f"no: the next run continues after {sub_id(3)}" in text
    assert json.loads(serialize_message(teams_message(card)))["attachments"][0]["content"] == card


HOSTILE = "[re-authenticate](https://evil.example) **urgent** _now_ `code` # title > quote <b>x</b>"
ESCAPED_LINK = r"\[re-authenticate\](https://evil.example)"


def _unescape(text: str) -> str:
    """What a CommonMark renderer shows for backslash-escaped text."""
    return re.sub(r"\\([!-/:-@\[-`{-~])", r"\1", text)


def assert_outside_text_is_plain(outcome: Outcome, summary: RunSummary) -> None:
    """The outcome's card and the digest hold HOSTILE (and the hostile error) as text a renderer shows as typed."""
    for card in (outcome_card(outcome), digest_card(summary, [outcome])):
        assert_valid_card(card)
        texts = _texts(card)
        # No `[` that Markdown would read as the start of a link, no emphasis or HTML either.
        assert not re.search(r"(?<!\\)[\[\]<]", texts), texts
        assert "**urgent**" not in texts and "_now_" not in texts and "`code`" not in texts
        assert ESCAPED_LINK in texts
        assert "\n- a list" not in texts and "\n1. numbered" not in texts
    # Escaped, the text still reads as typed.
    assert HOSTILE in _unescape(_texts(outcome_card(outcome)))


def test_markdown_from_a_subscription_an_event_or_azure_renders_as_plain_text():
    from enforcer.core.models import Trigger

    outcome = make_outcome(
        OutcomeKind.FAILED,
        subscription_name=HOSTILE,
        trigger=Trigger("event", "[id](https://evil.example/id)", "[type](https://evil.example/type)"),
        reason=HOSTILE,
        error=f"{HOSTILE}\n- a list item\n1. numbered Fix: {HOSTILE}",
        error_kind=ErrorKind.FORBIDDEN,
    )
    summary = RunSummary.from_outcomes("run-[x](https://evil.example)", "sweep", Mode.ENFORCE, "t", [outcome], 1.0)
    summary.notes.append(HOSTILE)
    assert_outside_text_is_plain(outcome, summary)


@pytest.mark.parametrize(
    "resource_id",
    [
        # A readable account id (its name obeys Azure's rules, so only the other fields carry the attack) and an
        # unreadable one, which the card shows whole.
        f"/subscriptions/{sub_id(1)}/resourceGroups/rg-ai/providers/Microsoft.CognitiveServices/accounts/oai-prod",
        f"/subscriptions/{sub_id(1)}/resourceGroups/rg/providers/Microsoft.CognitiveServices/accounts/{HOSTILE}",
    ],
)
def test_an_ai_accounts_card_and_digest_line_render_outside_text_as_plain_text(resource_id: str) -> None:
    from enforcer.core.models import Trigger

    outcome = make_outcome(
        OutcomeKind.FAILED,
        resource_id=resource_id,
        subscription_name=HOSTILE,
        trigger=Trigger("event", "[id](https://evil.example/id)", "[type](https://evil.example/type)"),
        reason=HOSTILE,
        account_before=HOSTILE,
        error=f"{HOSTILE}\n- a list item\n1. numbered Fix: {HOSTILE}",
        error_kind=ErrorKind.FORBIDDEN,
    )
    assert outcome.is_account
    summary = RunSummary.from_outcomes("run-1", "sweep", Mode.ENFORCE, "t", [outcome], 1.0)
    assert_outside_text_is_plain(outcome, summary)


def test_an_ai_accounts_card_names_the_desired_state_rule_that_decided() -> None:
    resource_id = f"/subscriptions/{sub_id(1)}/resourceGroups/rg/providers/Microsoft.CognitiveServices/accounts/oai"
    outcome = make_outcome(OutcomeKind.REMEDIATED, resource_id=resource_id, account_before="Disabled")
    assert "Desired-state rule" not in _texts(outcome_card(outcome))  # no document, no rule line
    outcome.rule, outcome.desired_state_hash = "restricted_data", "3f2a9c01"
    assert_valid_card(outcome_card(outcome))
    assert r"restricted\_data (document 3f2a9c01)" in _texts(outcome_card(outcome))
