"""The sweep learns the AI plan's extension names at run time: when Azure offers the model-security extension
under another name than the configured one, the day gets one record and one card, and no subscription fails."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from enforcer.adapters.arm import ArmGateway
from enforcer.adapters.audit_store import AuditStore
from enforcer.adapters.doctor import TableProber, TenantProbe
from enforcer.core.doctor import CatalogueDay
from enforcer.core.health import render_health
from enforcer.core.models import OutcomeKind
from enforcer.usecases.doctor import CATALOGUE_KIND, CATALOGUE_MARKER, DOCTOR_KIND
from enforcer.usecases.health import check_health, utc_now
from enforcer.usecases.sweep import sweep
from localdev.azurite import AzuriteProcess
from localdev.emulator import Emulator
from localdev.emulator.authorization import plans_offering
from tests.sweep.helpers import RecordingNotifier, sweep_services

EXPECTED = "configured AIModelScanner, Azure offers AIModelSecurity: set ENFORCER_MODEL_SECURITY_EXTENSION"


class CardNotifier(RecordingNotifier):
    """Also keeps the cards posted outside decisions (the Teams notifier's `post`)."""

    def __init__(self) -> None:
        super().__init__()
        self.cards: list[tuple[dict[str, Any], str]] = []

    def post(self, card: dict[str, Any], what: str, *, kind: str = "outcome", important: bool = False) -> str:
        self.cards.append((card, kind))
        return "sent"


def offered_pricing(emulator: Emulator, *, prompt_evidence: bool = True) -> dict[str, Any]:
    return {
        "pricingTier": "Standard",
        "extensions": [
            {"name": e.name, "isEnabled": "False" if e.name == "AIPromptEvidence" and not prompt_evidence else "True"}
            for e in emulator.plans["AI"].extensions
        ],
    }


def catalogue_rows(audit: AuditStore) -> list[dict[str, Any]]:
    client = audit.tables.client(audit.runs_table)
    return list(client.query_entities("PartitionKey eq @pk", parameters={"pk": CATALOGUE_KIND}))


def test_a_name_not_offered_gives_one_card_and_one_record_per_day_not_one_per_subscription(
    audit_store: AuditStore, azurite: AzuriteProcess
) -> None:
    with Emulator(plans=plans_offering("AIModelSecurity")) as emulator:
        subs = [f"00000000-0000-4000-8000-{i:012d}" for i in range(1, 31)]
        for i, sub in enumerate(subs):
            if i % 5 == 0:
                emulator.add_subscription(sub)  # Free: turned on, with the components the plan does offer
            else:
                emulator.add_subscription(sub, pricing=offered_pricing(emulator, prompt_evidence=i % 3 != 0))
        notifier = CardNotifier()
        emulator.cognitive.add(subs[1], "rg-ai", "contoso-openai")  # a row for the accounts query
        services = sweep_services(emulator, audit=audit_store, storage=azurite.connection_string, notifier=notifier)
        assert isinstance(services.arm, ArmGateway)
        services.doctor_probe = TenantProbe(services.arm)
        services.table_probes = TableProber(audit_store.tables)

        first = sweep(services)
        second = sweep(services)

        for result in (first, second):
            assert not [o for o in result.outcomes if o.outcome.is_failure], result.summary.counts
        assert first.summary.counts["remediated"] == 6 + 8  # the Free ones, and those with prompt evidence off
        assert EXPECTED in first.summary.notes
        assert any(
            n.startswith("left alone today, the plan does not offer it: model_security") for n in second.summary.notes
        )
        # One card and one record for the day, whatever the number of subscriptions and sweeps.
        catalogue_cards = [card for card, kind in notifier.cards if kind == "catalogue"]
        assert len(catalogue_cards) == 1
        texts = [b["text"].replace("\\", "") for b in catalogue_cards[0]["body"] if b["type"] == "TextBlock"]
        assert EXPECTED in texts  # as typed: the card escapes Markdown (names come from Azure)
        rows = catalogue_rows(audit_store)
        assert len(rows) == 1
        assert EXPECTED in rows[0]["notes"]
        # The day's cheap checks are recorded for `health`: the catalogue fails, Resource Graph and tables pass.
        daily = audit_store.latest_run(DOCTOR_KIND)
        assert daily is not None
        assert daily.notes[0] == "fail (extension catalogue=fail)"
        # `health` shows it, with its age, as a warning (the sweep still runs: not unhealthy by itself).
        health = check_health(audit_store, now=utc_now(), max_age=timedelta(hours=1))
        assert health.last_doctor is not None and health.last_doctor["summary"] == "fail (extension catalogue=fail)"
        assert 0 <= health.last_doctor["age_seconds"] < 600
        assert "daily doctor checks: fail (extension catalogue=fail)" in render_health(health, as_json=False)
        assert any("the daily doctor checks failed" in w for w in health.warnings)
        # Every subscription is on, with the components the plan offers; model security left as Azure chose.
        for sub in subs:
            props = emulator.pricing(sub)["properties"]
            assert props["pricingTier"] == "Standard"
            assert {e["name"]: e["isEnabled"] for e in props["extensions"]}["AIPromptEvidence"] == "True"

        # The next day (the marker says yesterday): read again, one more card and one more record.
        yesterday = CatalogueDay("2000-01-01", subs[1], ("AIPromptEvidence",))
        audit_store.set_marker(CATALOGUE_MARKER, yesterday.to_json())
        services.sweep_memory.clear()
        third = sweep(services)
        assert not [o for o in third.outcomes if o.outcome is OutcomeKind.FAILED]
        assert len([kind for _, kind in notifier.cards if kind == "catalogue"]) == 2
        assert len(catalogue_rows(audit_store)) == 2


def test_with_the_offered_name_configured_nothing_is_reported(audit_store: AuditStore, azurite: AzuriteProcess) -> None:
    with Emulator(plans=plans_offering("AIModelSecurity")) as emulator:
        sub = "00000000-0000-4000-8000-000000000001"
        emulator.add_subscription(sub, pricing=offered_pricing(emulator))
        notifier = CardNotifier()
        services = sweep_services(
            emulator,
            audit=audit_store,
            storage=azurite.connection_string,
            notifier=notifier,
            ENFORCER_MODEL_SECURITY_EXTENSION="AIModelSecurity",
        )
        result = sweep(services)
        assert result.summary.counts == {"compliant": 1}
        assert notifier.cards == []
        assert catalogue_rows(audit_store) == []
