"""One sample of every card kind the enforcer can send: an outcome card per outcome kind (subscription and AI
account) and a run digest. Texts include characters that need escaping, so the renders show they are handled."""

from __future__ import annotations

from typing import Any

from enforcer.core.cards import digest_card, outcome_card
from enforcer.core.models import (
    ErrorKind,
    ExtensionState,
    FieldChange,
    Mode,
    Outcome,
    OutcomeKind,
    PricingState,
    RunSummary,
    Trigger,
)

SUB = "5f2c9a1e-3b7d-4c6a-9e8f-1a2b3c4d5e6f"
ACCOUNT = f"/subscriptions/{SUB}/resourceGroups/rg-ai/providers/Microsoft.CognitiveServices/accounts/contoso-openai"
_TIME = "2026-11-30T12:00:00.000Z"
_EVENT = Trigger("event", "4db48cba-50a2-455a-93b4-de41a3b5b7f6", "Microsoft.Resources.ResourceWriteSuccess")
_SWEEP = Trigger("sweep", "sweep-20261130T120000Z-1a2b3c4d")
_FREE = PricingState("Free")
_ON = PricingState("Standard", (ExtensionState("AIPromptEvidence", True), ExtensionState("AIModelScanner", True)))


def _subscription(kind: OutcomeKind) -> Outcome:
    outcome = Outcome(SUB, kind, _EVENT, subscription_name="ai-team <prod> & *research*", started_at=_TIME)
    if kind.is_change or kind.is_failure:
        outcome.before, outcome.after = _FREE, _ON
        outcome.changes = [FieldChange("pricingTier", "Free", "Standard")]
    if kind is OutcomeKind.WOULD_REMEDIATE:
        outcome.mode = Mode.AUDIT
    if kind.is_failure:
        outcome.error = "The client does not have authorization to write pricings/AI. Fix: assign Security Admin."
        outcome.error_kind = ErrorKind.FORBIDDEN
    if kind in (OutcomeKind.EXCLUDED, OutcomeKind.IGNORED, OutcomeKind.REJECTED):
        outcome.reason = "tagged defender-ai-exempt: red-team <lab>"
    return outcome


def _account(kind: OutcomeKind, *, report: bool = False) -> Outcome:
    outcome = Outcome(
        SUB,
        kind,
        _EVENT,
        subscription_name="ai-team",
        started_at=_TIME,
        resource_id=ACCOUNT,
        account_before="Disabled",
        account_after="Enabled" if kind is OutcomeKind.REMEDIATED else "Disabled",
    )
    if kind.is_change:
        outcome.changes = [FieldChange("defenderForAISettings.state", "Disabled", "Enabled")]
    if report:
        outcome.reason = "ENFORCER_ACCOUNT_PROTECTION=report: reported, not changed"
    if kind is OutcomeKind.FAILED:
        outcome.error = (
            "The client does not have authorization to perform action 'Microsoft.CognitiveServices/"
            "accounts/defenderForAISettings/write'. Fix: assign the Defender for AI account settings role."
        )
        outcome.error_kind = ErrorKind.FORBIDDEN
    if kind is OutcomeKind.EXCLUDED:
        outcome.reason = "account tagged defender-ai-exempt: red-team lab"
    return outcome


def sample_cards() -> dict[str, dict[str, Any]]:
    """{kind: card}: every outcome kind for a subscription and for an AI account, and one digest."""
    cards = {f"subscription-{k.value}": outcome_card(_subscription(k)) for k in OutcomeKind}
    cards.update(
        {
            "account-remediated": outcome_card(_account(OutcomeKind.REMEDIATED)),
            "account-reported": outcome_card(_account(OutcomeKind.WOULD_REMEDIATE, report=True)),
            "account-failed": outcome_card(_account(OutcomeKind.FAILED)),
            "account-excluded": outcome_card(_account(OutcomeKind.EXCLUDED)),
        }
    )
    outcomes = [_subscription(OutcomeKind.REMEDIATED), _account(OutcomeKind.REMEDIATED), _account(OutcomeKind.FAILED)]
    summary = RunSummary(
        "sweep-20261130T120000Z-1a2b3c4d",
        "sweep",
        Mode.ENFORCE,
        _TIME,
        4200.0,
        counts={"remediated": 2, "failed": 1, "compliant": 40},
        notes=["AI accounts: 12 checked (compliant 10, ...)"],
    )
    outcomes[0] = outcomes[0].replace(trigger=_SWEEP)
    cards["digest"] = digest_card(summary, outcomes)
    return cards
