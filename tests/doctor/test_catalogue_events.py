"""Events decide the plan with the catalogue the sweep learned: when Azure offers the model-security extension under
another name than the configured one, an event on an instance that never swept reads the sweep's marker from the
runs table and leaves that component out, as the sweep does, instead of failing on a PUT that names it. On the
emulator (its catalogue offering AIModelSecurity) and Azurite, with the real SDK clients."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from enforcer.adapters.audit_store import AuditStore
from enforcer.core.doctor import CatalogueDay
from enforcer.core.events import Route
from enforcer.core.models import OutcomeKind
from enforcer.usecases.doctor import CATALOGUE_MARKER, event_enforcer
from enforcer.usecases.handle_event import handle_event_outcomes
from enforcer.usecases.sweep import sweep
from localdev.azurite import AzuriteProcess
from localdev.emulator import Emulator
from localdev.emulator.authorization import plans_offering
from localdev.emulator.server import CLIENT_OBJECT_ID
from localdev.emulator.write_events import Caller
from tests.doctor.test_sweep_catalogue import offered_pricing
from tests.integration.helpers import extensions_of
from tests.sweep.helpers import sweep_services

ALICE = Caller(object_id="0a11ce00-0000-4000-8000-000000000001", upn="alice@contoso.example", name="Alice")
STANDARD_SUB = "00000000-0000-4000-8000-0000000000a1"
DRIFTING_SUB = "00000000-0000-4000-8000-0000000000a2"


def test_an_event_leaves_out_the_component_the_sweeps_catalogue_found_not_offered(
    audit_store: AuditStore, azurite: AzuriteProcess
) -> None:
    with Emulator(plans=plans_offering("AIModelSecurity")) as emulator:
        emulator.add_subscription(STANDARD_SUB, pricing=offered_pricing(emulator))
        emulator.add_subscription(DRIFTING_SUB, pricing=offered_pricing(emulator))

        def instance():  # a fresh function instance: its own memory, the shared store
            return sweep_services(
                emulator,
                audit=audit_store,
                storage=azurite.connection_string,
                ENFORCER_IDENTITY_OBJECT_ID=CLIENT_OBJECT_ID,
            )

        # Before any sweep has read the catalogue, an event uses the configured names, and Azure refuses the one
        # it does not offer: what every event did before the catalogue reached them.
        before = emulator.user_write_pricing(DRIFTING_SUB, {"pricingTier": "Free"}, ALICE)
        (refused,) = handle_event_outcomes(before, Route.AI_ACCOUNT, instance())
        assert refused.outcome is OutcomeKind.FAILED and "AIModelScanner" in (refused.error or "")

        sweep(instance())  # the first sweep of the day records the catalogue in the runs table
        assert audit_store.marker(CATALOGUE_MARKER) is not None
        emulator.write_events.take()  # the sweep's own restoring write raised its event: not this test's subject

        events_only = instance()
        after = emulator.user_write_pricing(DRIFTING_SUB, {"pricingTier": "Free"}, ALICE)
        (restored,) = handle_event_outcomes(after, Route.AI_ACCOUNT, events_only)

        assert restored.outcome is OutcomeKind.REMEDIATED, restored.error
        assert emulator.pricing(DRIFTING_SUB, "AI")["properties"]["pricingTier"] == "Standard"
        # The component left out comes back enabled, as Azure does with an extension a PUT omits.
        assert extensions_of(emulator.pricing(DRIFTING_SUB, "AI")) == {
            "AIPromptEvidence": "True",
            "AIPromptSharingWithPurview": "False",
            "AIModelSecurity": "True",
        }
        put = [r for r in emulator.requests if r.kind == "pricings.put" and r.subscription_id == DRIFTING_SUB][-1]
        assert put.status == 200


class CountingAudit:
    """The real audit store, counting the marker reads an event makes."""

    def __init__(self, audit: AuditStore) -> None:
        self._audit = audit
        self.marker_reads = 0

    def marker(self, name: str) -> str | None:
        self.marker_reads += 1
        return self._audit.marker(name)

    def __getattr__(self, name: str) -> object:
        return getattr(self._audit, name)


def test_an_events_only_instance_reads_the_catalogue_once_an_hour_and_a_fixed_setting_counts_at_once(
    audit_store: AuditStore, azurite: AzuriteProcess
) -> None:
    day = CatalogueDay(
        "2026-12-05", STANDARD_SUB, ("AIPromptEvidence", "AIPromptSharingWithPurview", "AIModelSecurity")
    )
    audit_store.set_marker(CATALOGUE_MARKER, day.to_json())
    now = datetime(2026, 12, 5, 9, 0, tzinfo=UTC)
    with Emulator(plans=plans_offering("AIModelSecurity")) as emulator:
        services = sweep_services(emulator, audit=audit_store, storage=azurite.connection_string)
        counting = CountingAudit(audit_store)
        services.audit = counting  # type: ignore[assignment]

        narrowed = event_enforcer(services, now)
        assert [c.key for c in narrowed.settings.desired.components] == ["prompt_evidence", "data_security"]
        assert narrowed.settings.mode is services.settings.mode
        # The same subscription locks: an event's plan update never overlaps another on this instance (a 409).
        assert narrowed._locks is services.enforcer._locks
        event_enforcer(services, now + timedelta(minutes=59))
        assert counting.marker_reads == 1
        event_enforcer(services, now + timedelta(minutes=61))
        assert counting.marker_reads == 2

        fixed = sweep_services(
            emulator,
            audit=audit_store,
            storage=azurite.connection_string,
            ENFORCER_MODEL_SECURITY_EXTENSION="AIModelSecurity",
        )
        assert event_enforcer(fixed, now) is fixed.enforcer  # the name is offered: nothing left out


def test_without_a_store_or_a_catalogue_an_event_uses_the_configured_names(emulator: Emulator) -> None:
    services = sweep_services(emulator)
    assert event_enforcer(services, datetime.now(UTC)) is services.enforcer
