"""Builders for the sweep tests: real emulator and Azurite over loopback, recording notifier."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from enforcer.adapters.arm import RetrySettings
from enforcer.adapters.audit_store import AuditStore
from enforcer.core.decision import decide
from enforcer.core.models import ExtensionState, Outcome, PricingState, RunSummary
from enforcer.core.settings import Settings
from enforcer.usecases.services import Services
from localdev.emulator import Emulator
from tests.fixtures.services import services_for

# Enough attempts that 30 % throttling never exhausts them (0.3^13 per call); short backoff for 5xx.
PATIENT_RETRY = RetrySettings(total=12, backoff_factor=0.05, backoff_max=0.5)

STANDARD_ALL_ON = {
    "pricingTier": "Standard",
    "extensions": [
        {"name": "AIPromptEvidence", "isEnabled": "True"},
        {"name": "AIPromptSharingWithPurview", "isEnabled": "True"},
        {"name": "AIModelScanner", "isEnabled": "True"},
    ],
}


class RecordingNotifier:
    """Keeps what it was asked to send; answers like the Teams notifier."""

    def __init__(self) -> None:
        self.outcome_cards: list[Outcome] = []
        self.digests: list[tuple[RunSummary, list[Outcome]]] = []

    def notify_outcome(self, outcome: Outcome) -> str:
        self.outcome_cards.append(outcome)
        return "sent"

    def notify_digest(self, summary: RunSummary, outcomes: Sequence[Outcome]) -> str:
        self.digests.append((summary, list(outcomes)))
        return "sent"

    def flush_outbox(self, *, limit: int = 50, min_interval: float = 0.0) -> int | None:
        """Nothing is ever kept: every card "arrives"."""
        return 0

    def close(self) -> None:
        """Nothing to release."""


def sweep_services(
    emulator: Emulator,
    *,
    audit: AuditStore | None = None,
    storage: str | None = None,
    notifier: Any = None,
    budget_seconds: float | None = None,
    retry: RetrySettings = PATIENT_RETRY,
    **env: str,
) -> Services:
    """`services_for` with the audit store's tables in the settings (the sweep's inventory shares them)."""
    values = dict(env)
    if audit is not None:
        assert storage is not None
        values.update(
            ENFORCER_STORAGE=storage, ENFORCER_AUDIT_TABLE=audit.audit_table, ENFORCER_RUNS_TABLE=audit.runs_table
        )
    return services_for(
        emulator.url, values, retry=retry, budget_seconds=budget_seconds, audit=audit, notifier=notifier
    )


def stored_state(emulator: Emulator, sub: str) -> PricingState:
    props = emulator.pricing(sub)["properties"]
    return PricingState(
        tier=props["pricingTier"],
        extensions=tuple(ExtensionState(e["name"], e["isEnabled"] == "True") for e in props.get("extensions") or []),
    )


def is_compliant(emulator: Emulator, sub: str, settings: Settings) -> bool:
    return decide(stored_state(emulator, sub), settings.desired) is None


def extensions(emulator: Emulator, sub: str) -> Mapping[str, str]:
    return {e["name"]: e["isEnabled"] for e in emulator.pricing(sub)["properties"].get("extensions") or []}
